"""ONNX export: dynamic batch, opset, config inside the file, parity on real and random inputs."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
import torch

from scancci.errors import CheckpointError, InvalidInputError
from scancci.export import ExportParityError, export_onnx, verify_onnx
from scancci.export.inputs import preprocess
from scancci.models.io import config_json
from scancci.runtime.onnx_backend import OnnxClassifier


@pytest.mark.slow  # ONNX export
def test_export_passes_parity_on_real_and_random_inputs(onnx_export, capsys) -> None:
    report = onnx_export.report
    assert report.passed
    assert {b.name for b in report.batches} == {"real", "random"}
    assert all(b.top1_agreement == 1.0 for b in report.batches)
    assert all(b.max_attention_diff is not None for b in report.batches)
    print(onnx_export)
    assert "worst logits difference" in capsys.readouterr().out


def test_graph_has_dynamic_batch_recent_opset_and_config(onnx_export, small_model) -> None:
    proto = onnx.load(str(onnx_export.path))
    assert max(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")) >= 17
    batch_dim = proto.graph.input[0].type.tensor_type.shape.dim[0]
    assert batch_dim.dim_param and not batch_dim.dim_value
    props = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(props["scancci.config"]) == json.loads(config_json(small_model.config))
    assert props["scancci.precision"] == "fp32"


@pytest.mark.parametrize("batch", [1, 5])
def test_onnx_classifier_matches_pytorch_at_any_batch(onnx_export, small_model, photos,
                                                      batch) -> None:
    classifier = OnnxClassifier(onnx_export.path)
    assert classifier.config.class_names == small_model.config.class_names
    x = preprocess((photos * 2)[:batch], classifier.config)
    with torch.no_grad():
        out = small_model(torch.from_numpy(x), return_attention=True)
    np.testing.assert_allclose(classifier.logits(x), out.logits.numpy(), atol=1e-3)
    attention = classifier.attention(x)
    assert attention.shape == tuple(out.attention["global"].shape)
    np.testing.assert_allclose(attention, out.attention["global"].numpy(), atol=1e-3)


def test_wrong_batch_shape_is_a_clear_error(onnx_export) -> None:
    with pytest.raises(InvalidInputError, match="3 x 112 x 112"):
        OnnxClassifier(onnx_export.path).logits(np.zeros((1, 3, 64, 64), np.float32))


@pytest.mark.slow  # ONNX export
def test_export_that_does_not_match_pytorch_is_deleted(small_model, tmp_path) -> None:
    from scancci.models import create_model

    torch.manual_seed(1)
    other = create_model("scancci_mobilenetv2", num_classes=7, input_size=112).eval()
    path = export_onnx(other, tmp_path / "other.onnx", num_random=2).path
    with pytest.raises(ExportParityError, match="deleted") as err:
        verify_onnx(small_model, path, num_random=2)
    assert "worst logits difference" in str(err.value)
    assert not path.exists()


def test_file_that_does_not_match_its_config_is_refused(onnx_export, tmp_path) -> None:
    proto = onnx.load(str(onnx_export.path))
    for prop in proto.metadata_props:
        if prop.key == "scancci.config":
            config = json.loads(prop.value)
            config["input_size"] = 96
            prop.value = json.dumps(config)
    onnx.save(proto, str(tmp_path / "mismatch.onnx"))
    with pytest.raises(CheckpointError, match="do not belong together"):
        OnnxClassifier(tmp_path / "mismatch.onnx")


def test_onnx_file_without_config_or_broken_is_refused(onnx_export, tmp_path) -> None:
    proto = onnx.load(str(onnx_export.path))
    del proto.metadata_props[:]
    onnx.save(proto, str(tmp_path / "bare.onnx"))
    with pytest.raises(CheckpointError, match="scancci.config"):
        OnnxClassifier(tmp_path / "bare.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(CheckpointError, match="not a loadable ONNX model"):
        OnnxClassifier(tmp_path / "junk.onnx")


def test_old_opset_is_refused(small_model, tmp_path) -> None:
    with pytest.raises(InvalidInputError, match="opset 13"):
        export_onnx(small_model, tmp_path / "m.onnx", opset=13)
