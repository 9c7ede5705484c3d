"""channels_last: the layout changes, the values do not (float64: the same to rounding)."""

from __future__ import annotations

import copy

import pytest
import torch

from scancci.models import create_model, scancci_loss
from scancci.speed import channels_last

TOL = 1e-10


@pytest.mark.parametrize(("arch", "options"), [
    ("scancci_mobilenetv2", {}), ("scancci_mobilenetv2", {"local_scan": "independent"}),
    ("plain_mobilenetv2", {})])
def test_a_training_step_equals_contiguous(arch, options) -> None:
    """Loss, gradients and updated weights of an SGD step, with NCHW input given: the
    transform turns the input itself."""
    torch.manual_seed(0)
    dense = create_model(arch, num_classes=7, input_size=64, **options).double().train()
    nhwc = channels_last(copy.deepcopy(dense))
    assert list(nhwc.state_dict()) == list(dense.state_dict())
    x, y = torch.randn(4, 3, 64, 64, dtype=torch.float64), torch.arange(4) % 7
    results = []
    for model in (dense, nhwc):
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        loss = scancci_loss(model(x), y)
        loss.backward()
        grads = {n: p.grad.clone() for n, p in model.named_parameters()}
        optimizer.step()
        results.append((loss.detach(), grads, {k: v.clone() for k, v in model.state_dict().items()}))
    (loss_a, grads_a, state_a), (loss_b, grads_b, state_b) = results
    assert abs(float(loss_a - loss_b)) <= TOL
    assert max(float((grads_a[k] - grads_b[k]).abs().max()) for k in grads_a) <= TOL
    assert max(float((state_a[k].double() - state_b[k].double()).abs().max())
               for k in state_a) <= TOL


def test_weights_and_activations_are_channels_last() -> None:
    model = channels_last(create_model("scancci_mobilenetv2", num_classes=7,
                                       input_size=64).eval())
    seen = []
    model.trunk.register_forward_hook(lambda m, args, out: seen.append(args[0]))
    with torch.no_grad():
        model(torch.randn(2, 3, 64, 64))
    assert seen[0].is_contiguous(memory_format=torch.channels_last)
    conv = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
