"""resnet_utils.train: the loop against a hand-written step, determinism, resume, the CLI."""

import json
import subprocess
import sys
from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from resnet_utils.checkpoint import state_dict_sha256
from resnet_utils.cli.train import main
from resnet_utils.data import make_loaders
from resnet_utils.models import cifar_resnet
from resnet_utils.train import History, TrainConfig, evaluate, fit

FAST = TrainConfig(num_epochs=4, lr=0.05, device="cpu", progress=False)


def _model():
    torch.manual_seed(0)
    return cifar_resnet(8, num_classes=2, in_channels=1, width=4)


def test_fit_learns_a_toy_problem(tiny_splits):
    train_loader, val_loader, _ = make_loaders(tiny_splits, batch_size=16)
    history = fit(_model(), train_loader, val_loader, FAST)
    assert isinstance(history, History) and history.num_epochs == 4
    assert history.train_loss[-1] < history.train_loss[0]
    assert history.val_acc[-1] == 1.0
    assert len(history.lr) == len(history.seconds) == 4


def test_one_step_equals_hand_written_sgd(tiny_splits):
    """fit's update is SGD with momentum and weight decay, written out by hand."""
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 2))
    loader = make_loaders(tiny_splits, batch_size=64)[0]  # one batch = one step per epoch
    config = TrainConfig(
        num_epochs=1,
        lr=0.1,
        momentum=0.9,
        nesterov=False,
        weight_decay=0.01,
        label_smoothing=0.0,
        schedule="constant",
        device="cpu",
        progress=False,
    )
    before = [p.detach().clone() for p in model.parameters()]
    torch.manual_seed(config.seed)
    X, y = next(iter(make_loaders(tiny_splits, batch_size=64, seed=config.seed)[0]))
    ref = nn.Sequential(nn.Flatten(), nn.Linear(64, 2))
    ref.load_state_dict(model.state_dict())
    loss = F.cross_entropy(ref(X), y)
    grads = torch.autograd.grad(loss, list(ref.parameters()))
    fit(model, loader, None, config)
    for p0, g, p1 in zip(before, grads, model.parameters()):
        d = (
            g + 0.01 * p0
        )  # weight decay adds lambda * w to the gradient; first momentum buffer = d
        torch.testing.assert_close(p1.detach(), p0 - 0.1 * d)


def test_evaluate_matches_cross_entropy(tiny_splits):
    model = _model().eval()
    _, _, test_loader = make_loaders(tiny_splits, batch_size=5)
    loss, acc = evaluate(model, test_loader, "cpu")
    X, y = tiny_splits.test.X, tiny_splits.test.y
    with torch.no_grad():
        logits = model(X)
    assert loss == pytest.approx(F.cross_entropy(logits, y).item(), rel=1e-5)
    assert acc == pytest.approx((logits.argmax(1) == y).float().mean().item())


def test_same_seed_same_weights(tiny_splits):
    def run(seed):
        model = _model()
        train_loader, _, _ = make_loaders(tiny_splits, batch_size=16, seed=seed)
        fit(model, train_loader, None, replace(FAST, seed=seed))
        return state_dict_sha256(model)

    assert run(0) == run(0)
    assert run(0) != run(1)


def test_resume_from_partial_run(tiny_splits, tmp_path):
    """Stopped after 2 of 4 epochs and resumed, a run ends with the uninterrupted run's weights."""
    ck = str(tmp_path / "ck")
    full = _model()
    fit(full, make_loaders(tiny_splits, batch_size=16)[0], None, FAST)

    class Stop(Exception):
        pass

    def stop_after_two(history):
        if history.num_epochs == 2:
            raise Stop

    with pytest.raises(Stop):
        fit(
            _model(),
            make_loaders(tiny_splits, batch_size=16)[0],
            None,
            replace(FAST, checkpoint_dir=ck),
            callback=stop_after_two,
        )
    resumed = _model()
    history = fit(
        resumed,
        make_loaders(tiny_splits, batch_size=16)[0],
        None,
        replace(FAST, checkpoint_dir=ck, resume=True),
    )
    assert history.num_epochs == 4
    assert state_dict_sha256(resumed) == state_dict_sha256(full)


def test_resume_into_other_architecture_is_named(tiny_splits, tmp_path):
    ck = str(tmp_path / "ck")
    loader = make_loaders(tiny_splits, batch_size=16)[0]
    fit(_model(), loader, None, replace(FAST, num_epochs=1, checkpoint_dir=ck))
    other = cifar_resnet(14, num_classes=2, in_channels=1, width=4)
    with pytest.raises(ValueError, match="different architecture"):
        fit(other, loader, None, replace(FAST, checkpoint_dir=ck, resume=True))


@pytest.mark.parametrize(
    "kwargs,exc,word",
    [
        (dict(num_epochs=0), ValueError, "num_epochs"),
        (dict(lr=0), ValueError, "lr"),
        (dict(lr=-0.1), ValueError, "lr"),
        (dict(lr="0.1"), TypeError, "lr"),
        (dict(momentum=1.5), ValueError, "momentum"),
        (dict(weight_decay=-1), ValueError, "weight_decay"),
        (dict(label_smoothing=1.0), ValueError, "label_smoothing"),
        (dict(schedule="linear"), ValueError, "schedule"),
        (dict(precision="fp8"), ValueError, "precision"),
        (dict(resume=True), ValueError, "checkpoint_dir"),
        (dict(momentum=0.0), ValueError, "nesterov"),
    ],
)
def test_bad_config(kwargs, exc, word):
    with pytest.raises(exc, match=word):
        TrainConfig(**kwargs)


def test_fit_bad_arguments(tiny_splits):
    loader = make_loaders(tiny_splits, batch_size=16)[0]
    with pytest.raises(TypeError, match="model"):
        fit("resnet", loader)
    with pytest.raises(TypeError, match="train_loader"):
        fit(_model(), tiny_splits.train)
    with pytest.raises(TypeError, match="config"):
        fit(_model(), loader, None, {"lr": 0.1})
    frozen = _model().requires_grad_(False)
    with pytest.raises(ValueError, match="trainable"):
        fit(frozen, loader, None, FAST)


def test_divergence_is_reported(tiny_splits):
    loader = make_loaders(tiny_splits, batch_size=16)[0]
    with pytest.raises(FloatingPointError, match="lr"):
        fit(
            nn.Sequential(nn.Flatten(), nn.Linear(64, 2)),
            loader,
            None,
            replace(FAST, lr=1e38, schedule="constant", weight_decay=0),
        )


@pytest.mark.parametrize(
    "argv,word",
    [
        (["--dataset", "mnist"], "--dataset"),
        (["--num-epochs", "0"], "--num-epochs"),
        (["--lr", "-1"], "--lr"),
        (["--batch-size", "x"], "--batch-size"),
        (["--precision", "fp8"], "--precision"),
    ],
)
def test_cli_rejects_bad_arguments_in_one_line(argv, word, capsys):
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and word in err


@pytest.mark.parametrize(
    "argv,word",
    [
        (["--arch", "resnet21"], "arch"),
        (["--device", "tpu"], "device"),
        (["--resume"], "--checkpoint"),
    ],
)
def test_cli_errors_exit_nonzero_without_traceback(argv, word, capsys):
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and word in err and "Traceback" not in err


@pytest.mark.slow
def test_cli_writes_json(tmp_path):
    out = tmp_path / "out.json"
    weights = tmp_path / "model.pt"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "resnet_utils.train",
            "--num-epochs",
            "2",
            "--quiet",
            "--arch",
            "resnet8",
            "--json",
            str(out),
            "--save",
            str(weights),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())
    assert result["num_epochs"] == 2 and result["config"]["config"]["num_epochs"] == 2
    assert result["command"] == "python -m resnet_utils.train" and "torch" in result["versions"]
    # the saved weights are the ones that scored the reported accuracy
    from resnet_utils.data import load_digits
    from resnet_utils.models import build_model

    model = build_model("resnet8", in_channels=1, width=16)
    model.load_state_dict(torch.load(weights, weights_only=True))
    assert state_dict_sha256(model) == result["weights_sha256"]
    test_loader = make_loaders(load_digits(size=16, val_size=0.1, seed=0), 256)[2]
    assert evaluate(model, test_loader, "cpu")[1] == pytest.approx(result["test_accuracy"])
    assert result["test_accuracy"] > 0.5  # two epochs on the digits already learn something


def test_early_stopping_keeps_the_best_epoch(tiny_splits):
    """Validation labels opposite to the training labels: learning makes val loss worse from epoch 1."""
    from resnet_utils.data import DataSplits, ImageDataset

    flipped = ImageDataset(tiny_splits.val.X, 1 - tiny_splits.val.y)
    splits = DataSplits(
        tiny_splits.train, flipped, tiny_splits.test, tiny_splits.classes, (0.5,), (0.3,), 1, 8
    )
    train_loader, val_loader, _ = make_loaders(splits, batch_size=16)
    model = _model()
    history = fit(
        model,
        train_loader,
        val_loader,
        replace(FAST, num_epochs=10, patience=2, schedule="constant"),
    )
    best = history.best_epoch
    assert history.num_epochs == best + 2 < 10  # stopped two epochs after the best one
    assert history.val_loss[best - 1] == min(history.val_loss)
    reference = _model()
    fit(
        reference,
        make_loaders(splits, batch_size=16)[0],
        val_loader,
        replace(FAST, num_epochs=best, schedule="constant"),
    )
    # the constant schedule makes the first `best` epochs of both runs identical
    assert state_dict_sha256(model) == state_dict_sha256(reference)


def test_early_stopping_needs_validation(tiny_splits):
    with pytest.raises(ValueError, match="val_loader"):
        fit(_model(), make_loaders(tiny_splits, batch_size=16)[0], None, replace(FAST, patience=2))
    with pytest.raises(ValueError, match="patience"):
        TrainConfig(patience=0)


def test_lr_range_test(tiny_splits):
    from resnet_utils.lr_finder import lr_range_test

    model = _model()
    before = state_dict_sha256(model)
    loader = make_loaders(tiny_splits, batch_size=8)[0]
    lrs, losses = lr_range_test(model, loader, min_lr=1e-4, max_lr=1e4, num_steps=40, device="cpu")
    assert state_dict_sha256(model) == before  # weights restored
    assert len(lrs) == len(losses) <= 40 and lrs[0] == pytest.approx(1e-4)
    ratios = [b / a for a, b in zip(lrs, lrs[1:])]
    assert (
        max(ratios) == pytest.approx(min(ratios)) == pytest.approx((1e8) ** (1 / 39))
    )  # exponential
    assert len(lrs) < 40  # a learning rate of 1e4 blows the loss up: the test stops early
    with pytest.raises(ValueError, match="max_lr"):
        lr_range_test(model, loader, min_lr=1.0, max_lr=0.1)


def test_bf16_channels_last_matches_fp32(tiny_splits):
    """Mixed precision changes the arithmetic, not the result: same accuracy, close losses, fp32 weights."""
    train_loader, val_loader, test_loader = make_loaders(tiny_splits, batch_size=16)
    results = {}
    for precision, channels_last in [("fp32", False), ("bf16", True)]:
        model = _model()
        config = replace(FAST, precision=precision, channels_last=channels_last)
        history = fit(model, train_loader, val_loader, config)
        assert all(
            p.dtype == torch.float32 for p in model.parameters()
        )  # autocast keeps fp32 master weights
        results[precision] = history, evaluate(model, test_loader, "cpu", precision, channels_last)
    (h32, (loss32, acc32)), (h16, (loss16, acc16)) = results["fp32"], results["bf16"]
    assert h16.train_loss != h32.train_loss  # bf16 really ran (a different rounding)
    assert abs(h16.train_loss[-1] - h32.train_loss[-1]) < 0.1 * h32.train_loss[0]
    assert acc16 == acc32 == 1.0 and loss16 == pytest.approx(loss32, abs=0.05)


def test_precision_auto_and_fp16_on_cpu():
    from resnet_utils.runtime import bf16_supported, resolve_precision

    assert resolve_precision("auto", "cpu") == ("bf16" if bf16_supported("cpu") else "fp32")
    assert resolve_precision("fp32", "cpu") == "fp32"
    with pytest.raises(ValueError, match="fp16.*CUDA"):
        resolve_precision("fp16", "cpu")
    with pytest.raises(ValueError, match="precision"):
        resolve_precision("half", "cpu")
    with pytest.raises(ValueError, match="fp16"):
        fit(_model(), make_loaders_for_fp16(), None, replace(FAST, precision="fp16"))


def make_loaders_for_fp16():
    X, y = torch.rand(8, 1, 8, 8), torch.randint(0, 2, (8,))
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=4)
