"""Checkpoints of the original code load and predict exactly as the original model."""

from __future__ import annotations

import pytest
import torch
from original_impl import (
    AttentionBranch,
    SharedAttentionBranch,
    extract_patches_attentivefeatures,
    randomize,
)

from scancci.cli import main
from scancci.errors import CheckpointError
from scancci.models import load_network, load_original_checkpoint
from scancci.models.original import _map_attention
from scancci.models.regions import extract_regions
from scancci.models.scancci import AttentionBranch as AttentionBranch_


def _compare(original, model, x) -> None:
    with torch.no_grad():
        mean, attention, region = original(x)
        out = model(x)
    assert attention.abs().max() > 0.1  # the attention branch matters in this comparison
    torch.testing.assert_close(out.attention_logits, attention, atol=1e-4, rtol=0)
    torch.testing.assert_close(out.region_logits, region.transpose(1, 2), atol=1e-4, rtol=0)
    torch.testing.assert_close(out.logits, mean, atol=1e-4, rtol=0)


def test_shared_checkpoint_same_logits(shared_original, face_batch):
    original, path = shared_original
    model = load_original_checkpoint(path)
    assert model.config.options == {"local_scan": "shared", "patch_layout": "original",
                                     "cci_heads": "shared"}
    assert model.config.num_classes == 7 and model.config.mean == (0.5, 0.5, 0.5)
    assert not model.training
    _compare(original, model, face_batch)


@pytest.mark.slow  # 70M-parameter model
def test_independent_checkpoint_same_logits(independent_original, face_batch):
    original, path = independent_original
    model = load_network(path)  # load_model delegates .pth files
    assert model.config.options["local_scan"] == "independent"
    assert model.config.num_classes == 8 and model.config.class_names[-1] == "contempt"
    _compare(original, model, face_batch)


def test_grid_layout_differs_from_original(shared_original, face_batch):
    original, path = shared_original
    model = load_original_checkpoint(path)
    model.attention.patch_layout = "grid"  # the fixed bottom edge: other regions, other logits
    with torch.no_grad():
        diff = (model(face_batch).attention_logits - original(face_batch)[1]).abs().max()
    assert diff > 1e-3


def test_original_extraction_matches_the_unfold():
    x = torch.randn(2, 16, 28, 28)
    theirs = extract_patches_attentivefeatures(x)  # B x R x C x h x w per group
    ours = extract_regions(x.permute(0, 2, 3, 1), "original")  # B x R x h x w x C
    for t, o in zip(theirs, ours, strict=True):
        assert torch.equal(t, o.permute(0, 1, 4, 2, 3))


@pytest.mark.parametrize("shared", [True, False], ids=["shared", "independent"])
def test_training_mode_matches_original(shared):
    """Train-mode BatchNorm: per-region batch statistics and running-stat updates, gradients."""
    theirs = (SharedAttentionBranch if shared else AttentionBranch)(512, 25, 7)
    randomize(theirs, seed=4)
    mode = "shared" if shared else "independent"
    ours = AttentionBranch_(512, 7, mode, "original")
    state = _map_attention(theirs.state_dict(), mode)
    ours.load_state_dict({k.removeprefix("attention."): v for k, v in state.items()})
    x = torch.randn(3, 512, 28, 28, requires_grad=True)
    logits_theirs = theirs(x)[2]
    logits_ours, _ = ours(x)
    torch.testing.assert_close(logits_ours, logits_theirs, atol=1e-5, rtol=1e-4)
    grad_theirs, = torch.autograd.grad(logits_theirs.square().sum(), x)
    grad_ours, = torch.autograd.grad(logits_ours.square().sum(), x)
    torch.testing.assert_close(grad_ours, grad_theirs, atol=1e-6, rtol=1e-3)
    after = _map_attention(theirs.state_dict(), mode)
    for key, value in ours.state_dict().items():  # running statistics after one step
        if "running" in key or "num_batches" in key:
            torch.testing.assert_close(value, after["attention." + key], atol=1e-5, rtol=1e-5)


def test_convert_command(shared_original, tmp_path, capsys):
    _, path = shared_original
    assert main(["convert", str(path), str(tmp_path / "out" / "model.safetensors")]) == 0
    assert "shared local SCAN" in capsys.readouterr().out
    model = load_network(tmp_path / "out")
    assert model.config.options["patch_layout"] == "original"


def test_not_an_original_checkpoint(tmp_path):
    path = tmp_path / "plain.pth"
    torch.save({"state_dict": {"w": torch.zeros(1)}}, path)
    with pytest.raises(CheckpointError, match="not a checkpoint of the original"):
        load_original_checkpoint(path)


def test_original_checkpoint_missing_tensor(shared_original, tmp_path):
    _, path = shared_original
    data = torch.load(path, weights_only=True)
    del data["attention_state_dict"]["module.global_attention_mask.attention.0.weight"]
    torch.save(data, tmp_path / "broken.pth")
    with pytest.raises(CheckpointError, match="missing"):
        load_original_checkpoint(tmp_path / "broken.pth")


def test_pickled_code_in_checkpoint_is_refused(tmp_path):
    marker = tmp_path / "executed"

    class Evil:
        def __reduce__(self):
            import os

            return (os.system, (f"touch {marker}",))

    path = tmp_path / "evil.pth"
    torch.save({"epoch": Evil()}, path)
    with pytest.raises(CheckpointError, match="weights_only"):
        load_network(path)
    assert not marker.exists()
