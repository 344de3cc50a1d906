"""resnet_utils.step: the one training step, shared by every loop and the benchmark."""

import copy
import re
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from resnet_utils.runtime import eval_mode
from resnet_utils.step import TrainStep

PACKAGE = Path(__file__).resolve().parents[1] / "resnet_utils"


def _linear():
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(12, 3))


def test_one_step_is_sgd_on_the_cross_entropy():
    model, X, y = _linear(), torch.randn(8, 1, 3, 4), torch.randint(0, 3, (8,))
    before = [p.detach().clone() for p in model.parameters()]
    grads = torch.autograd.grad(F.cross_entropy(model(X), y), list(model.parameters()))
    step = TrainStep(
        model, torch.optim.SGD(model.parameters(), lr=0.5), device=torch.device("cpu")
    )
    loss, logits = step(X, y)
    assert loss.item() == pytest.approx(F.cross_entropy(logits, y).item())
    assert not loss.requires_grad and step.calls == 1
    for p0, g, p1 in zip(before, grads, model.parameters()):
        torch.testing.assert_close(p1.detach(), p0 - 0.5 * g)


def test_accumulating_two_halves_is_one_step_on_the_whole_batch():
    X, y = torch.randn(8, 1, 3, 4), torch.randint(0, 3, (8,))
    whole, halves = _linear(), _linear()
    lrs = []
    for model, accumulate in [(whole, 1), (halves, 2)]:
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        schedule = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
        step = TrainStep(
            model, optimizer, device=torch.device("cpu"), scheduler=schedule, accumulate=accumulate
        )
        for _ in range(3):  # three optimizer steps
            for part in range(accumulate):
                rows = slice(part * 8 // accumulate, (part + 1) * 8 // accumulate)
                step(X[rows], y[rows])
        lrs.append(optimizer.param_groups[0]["lr"])
    assert lrs == [0.1 * 0.5**3] * 2  # the schedule moved once per optimizer step
    for a, b in zip(whole.parameters(), halves.parameters()):
        torch.testing.assert_close(a, b)


def test_bf16_step_keeps_fp32_weights_and_an_fp32_loss():
    model = _linear()
    step = TrainStep(
        model,
        torch.optim.SGD(model.parameters(), lr=0.1),
        device=torch.device("cpu"),
        precision="bf16",
    )
    loss, logits = step(torch.randn(4, 1, 3, 4), torch.tensor([0, 1, 2, 0]))
    assert logits.dtype == torch.bfloat16 and loss.dtype == torch.float32
    assert all(p.dtype == torch.float32 for p in model.parameters())


def test_the_benchmark_times_the_step_fit_trains_with():
    """One step of bench.Runner and one step of fit from the same weights give the same weights."""
    from resnet_utils.bench import Runner
    from resnet_utils.checkpoint import state_dict_sha256
    from resnet_utils.train import TrainConfig, fit

    # a constant schedule: fit's one-step run and the benchmark's endless one start alike
    config = TrainConfig(num_epochs=1, schedule="constant")
    runner = Runner("resnet8", "fp32", (8, 3, 16, 16), torch.device("cpu"), config=config)
    model = copy.deepcopy(runner.model)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(runner.X, runner.y), batch_size=8
    )
    fit(model, loader, None, runner.config)
    assert state_dict_sha256(model) != state_dict_sha256(runner.model)  # fit did train
    runner.train_step()
    assert state_dict_sha256(model) == state_dict_sha256(runner.model)


def test_backward_is_called_in_one_place_only():
    calls = {
        path.name: len(re.findall(r"\.backward\(", path.read_text()))
        for path in PACKAGE.glob("*.py")
    }
    assert {name: n for name, n in calls.items() if n} == {"step.py": 1}


def test_eval_mode_restores_each_module_even_when_the_body_raises():
    model = nn.Sequential(nn.BatchNorm1d(3), nn.Dropout(), nn.BatchNorm1d(3))
    model.train()
    model[2].eval()  # a frozen part inside a training model keeps its own mode
    with pytest.raises(RuntimeError, match="boom"):
        with eval_mode(model):
            assert not any(m.training for m in model.modules())
            raise RuntimeError("boom")
    assert [m.training for m in model.modules()] == [True, True, True, False]
