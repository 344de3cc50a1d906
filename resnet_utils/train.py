"""The training loop: ``TrainConfig``, ``History``, ``fit`` and ``evaluate``.

Chapters 0 and 6-9. ``fit`` is the loop every chapter uses: SGD with
momentum, a learning-rate schedule stepped every batch, cross-entropy with
optional label smoothing, a history of loss and accuracy per epoch, mixed
precision and channels-last on request, early stopping, and a checkpoint
after every epoch to resume from (:mod:`resnet_utils.checkpoint`). The step
itself (forward, loss, backward, update) is :class:`~resnet_utils.step.TrainStep`;
the book's recipes are :mod:`resnet_utils.recipes`, ``python -m resnet_utils.train``
:mod:`resnet_utils.cli.train`.
"""

from __future__ import annotations

if __name__ == "__main__":  # python -m resnet_utils.train runs the command line only: the
    from resnet_utils.cli.train import main  # module itself is imported once, by the command

    raise SystemExit(main())

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from ._checks import check, check_fields
from .checkpoint import CHECKPOINT_NAME, load_training_state, save_training_state
from .runtime import autocast, eval_mode, resolve_device, resolve_precision, seed_everything
from .step import TrainStep

__all__ = [
    "TrainConfig",
    "History",
    "fit",
    "evaluate",
    "make_optimizer",
    "make_scheduler",
    "make_step",
]

Precision = Literal["fp32", "bf16", "fp16", "auto"]
Schedule = Literal["onecycle", "cosine", "step", "constant"]  # _checks.SCHEDULES


@dataclass
class TrainConfig:
    """How ``fit`` trains. Plain data: print it, save it, compare it."""

    num_epochs: int = 30  # passes over the training set
    lr: float = 0.1  # peak learning rate of the schedule
    momentum: float = 0.9  # SGD momentum (Nesterov when nesterov=True)
    nesterov: bool = True
    weight_decay: float = 5e-4  # L2 penalty (He et al. used 1e-4, on ImageNet and CIFAR-10)
    label_smoothing: float = 0.1  # 0 gives plain cross-entropy
    # lr over time: one-cycle, cosine, step (x0.1 at 50%/75%), constant
    schedule: Schedule = "onecycle"
    device: str = "auto"  # "auto" = CUDA if available, else CPU
    seed: int = 0  # seeds Python, NumPy and torch at the start of fit
    precision: Precision = "fp32"  # "bf16" autocast on CPU/GPU, "fp16" with a grad scaler on CUDA, "auto": bf16 where fast
    channels_last: bool = False  # NHWC memory format: faster convs with bf16/fp16
    # early stopping: stop when val loss has not improved for this many epochs
    patience: int | None = None
    checkpoint_dir: str | None = None  # save last.pt here after every epoch
    resume: bool = False  # continue from checkpoint_dir/last.pt if it exists
    progress: bool = True  # show a tqdm progress bar

    def __post_init__(self) -> None:
        check_fields(self)  # each field by its rule in resnet_utils._checks.RULES
        if self.resume and self.checkpoint_dir is None:
            raise ValueError("resume=True needs checkpoint_dir, the folder holding last.pt")
        if self.nesterov and self.momentum == 0:
            raise ValueError("nesterov=True needs momentum > 0")


@dataclass
class History:
    """What happened in each epoch; ``val_*`` are NaN when there is no validation loader."""

    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)  # learning rate at the end of the epoch
    seconds: list[float] = field(default_factory=list)  # wall time of the epoch
    # with early stopping: the epoch (1-based) whose weights were kept
    best_epoch: int | None = None

    @property
    def num_epochs(self) -> int:
        return len(self.train_loss)

    def append(self, **values: float) -> None:
        """Add one epoch: ``append(train_loss=..., train_acc=..., ...)``."""
        for name, value in values.items():
            getattr(self, name).append(float(value))

    def as_dict(self) -> dict[str, list[float]]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> History:
        lists = {
            f.name: list(map(float, d[f.name])) for f in fields(cls) if f.name != "best_epoch"
        }
        return cls(**lists, best_epoch=d.get("best_epoch"))


def evaluate(
    model: nn.Module,
    loader: DataLoader,
    device: str | torch.device = "auto",
    precision: Precision = "fp32",
    channels_last: bool = False,
) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model`` over ``loader``, in eval mode."""
    check(model=model, loader=loader)
    device = resolve_device(device)
    return _evaluate(model, loader, device, resolve_precision(precision, device), channels_last)


@torch.no_grad()
def _evaluate(
    model: nn.Module, loader: DataLoader, device: torch.device, precision: str, channels_last: bool
) -> tuple[float, float]:
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    total_loss, correct, n = 0.0, 0, 0
    with eval_mode(model):
        for X, y in loader:
            X = X.to(device, non_blocking=True, memory_format=memory_format)
            y = y.to(device, non_blocking=True)
            with autocast(device, precision):
                logits = model(X)  # (N, num_classes)
            total_loss += F.cross_entropy(logits.float(), y, reduction="sum").item()
            correct += (logits.argmax(dim=1) == y).sum().item()
            n += len(y)
    return total_loss / n, correct / n


def make_optimizer(
    model: nn.Module, config: TrainConfig, param_groups: Iterable[dict[str, Any]] | None = None
) -> torch.optim.SGD:
    """The optimizer ``fit`` trains with: SGD with (Nesterov) momentum and weight decay."""
    if param_groups is None:
        param_groups = [{"params": [p for p in model.parameters() if p.requires_grad]}]
    groups = [dict(g) for g in param_groups]  # each a dict with "params": tensors
    for g in groups:
        g["params"] = [g["params"]] if torch.is_tensor(g["params"]) else list(g["params"])
    if not any(g["params"] for g in groups):
        raise ValueError("model has no trainable parameters (all have requires_grad=False)")
    return torch.optim.SGD(
        groups,
        lr=config.lr,
        momentum=config.momentum,
        nesterov=config.nesterov,
        weight_decay=config.weight_decay,
    )


def make_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig, steps_per_epoch: int):
    """The learning-rate schedule of ``config``, stepped once per batch."""
    total = config.num_epochs * steps_per_epoch
    if config.schedule == "onecycle":
        max_lr = [g["lr"] for g in optimizer.param_groups]
        # cycle_momentum=False: keep SGD's momentum at config.momentum (OneCycleLR's default
        # would cycle it between 0.85 and 0.95, and the stated momentum would never be used)
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=max_lr, total_steps=total, cycle_momentum=False
        )
    if config.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total)
    if config.schedule == "step":  # He et al.: divide by 10 at 50% and 75% of training
        milestones = [total // 2, (3 * total) // 4]
        return torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones, 0.1)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)


def make_step(
    model: nn.Module,
    config: TrainConfig,
    steps_per_epoch: int,
    param_groups: Iterable[dict[str, Any]] | None = None,
) -> TrainStep:
    """The training step of ``fit``: its optimizer, schedule, loss and precision.

    ``model`` must already be on ``config.device`` (``fit`` moves it). The
    benchmark (:mod:`resnet_utils.bench`) times this very step.
    """
    device = resolve_device(config.device)
    optimizer = make_optimizer(model, config, param_groups)

    def loss_fn(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits, y, label_smoothing=config.label_smoothing)

    return TrainStep(
        model,
        optimizer,
        device=device,
        precision=resolve_precision(config.precision, device),
        channels_last=config.channels_last,
        loss_fn=loss_fn,
        scheduler=make_scheduler(optimizer, config, steps_per_epoch),
    )


def fit(
    model: nn.Module,
    train_loader: DataLoader,
    val_loader: DataLoader | None = None,
    config: TrainConfig | None = None,
    *,
    param_groups: Iterable[dict[str, Any]] | None = None,
    callback: Callable[[History], None] | None = None,
) -> History:
    """Train ``model`` on ``train_loader``; return the :class:`History` per epoch.

    Args:
        model: any classifier returning logits ``(N, num_classes)``; moved to
            the configured device in place.
        train_loader: batches ``(X, y)``; shuffled.
        val_loader: optional; evaluated after each epoch.
        config: a :class:`TrainConfig` (defaults when ``None``).
        param_groups: optional optimizer groups such as
            ``[{"params": backbone, "lr": 0.01}, {"params": head, "lr": 0.1}]``
            (discriminative learning rates); default: all trainable
            parameters at ``config.lr``.
        callback: called with the history after each epoch (live plots).

    With ``config.checkpoint_dir`` set, ``last.pt`` there is replaced
    atomically after each epoch; with ``config.resume`` the run continues from
    it and ends with the same weights as an uninterrupted run.
    """
    config = check_fit_args(model, train_loader, val_loader, config, callback)
    device = resolve_device(config.device)
    seed_everything(config.seed)
    memory_format = torch.channels_last if config.channels_last else torch.contiguous_format
    model.to(device=device, memory_format=memory_format)
    step = make_step(model, config, len(train_loader), param_groups)
    history, start_epoch = History(), 0
    best: dict[str, Any] = {"loss": float("inf"), "state": None}  # early stopping
    ckpt = Path(config.checkpoint_dir) / CHECKPOINT_NAME if config.checkpoint_dir else None
    if config.resume and ckpt is not None and ckpt.exists():
        start_epoch, saved, best = load_training_state(ckpt, step, train_loader.generator)
        history = History.from_dict(saved)

    epochs = range(start_epoch, config.num_epochs)
    bar = tqdm(
        epochs, "epochs", config.num_epochs, initial=start_epoch, disable=not config.progress
    )
    for epoch in bar:
        t0 = time.perf_counter()
        model.train()
        total_loss, correct, n = 0.0, 0, 0
        for X, y in train_loader:  # X: (N, C, H, W), y: (N,)
            loss, logits = step(X, y)  # forward, loss, backward, update, schedule
            total_loss += loss.item() * len(y)
            correct += (logits.argmax(dim=1).cpu() == y).sum().item()
            n += len(y)
        if not math.isfinite(total_loss):
            raise FloatingPointError(
                f"the training loss became {total_loss / n} in epoch {epoch + 1}: "
                f"lr={config.lr} is probably too high"
            )
        val_loss, val_acc = float("nan"), float("nan")
        if val_loader is not None:
            val_loss, val_acc = _evaluate(
                model, val_loader, device, step.precision, config.channels_last
            )
        history.append(
            train_loss=total_loss / n,
            train_acc=correct / n,
            val_loss=val_loss,
            val_acc=val_acc,
            lr=step.optimizer.param_groups[-1]["lr"],
            seconds=time.perf_counter() - t0,
        )
        bar.set_postfix(loss=f"{total_loss / n:.3f}", val_acc=f"{val_acc:.3f}")
        if config.patience is not None and val_loss < best["loss"]:
            state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            best = {"loss": val_loss, "state": state}
            history.best_epoch = epoch + 1
        if ckpt is not None:
            save_training_state(
                ckpt, step, epoch + 1, history.as_dict(), config, train_loader.generator, best
            )
        if callback is not None:
            callback(history)
        kept = history.best_epoch  # early stopping: no better epoch in the last `patience`
        if (
            config.patience is not None
            and kept is not None
            and epoch + 1 - kept >= config.patience
        ):
            break
    bar.close()
    if best["state"] is not None:
        model.load_state_dict(best["state"])  # early stopping keeps the best epoch's weights
    return history


def check_fit_args(
    model: Any, train_loader: Any, val_loader: Any, config: Any, callback: Any = None
) -> TrainConfig:
    """What ``fit`` and ``fit_seeds`` check of their arguments; returns the config."""
    config = config if config is not None else TrainConfig()
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}")
    check(model=model, train_loader=train_loader, val_loader=val_loader, callback=callback)
    if config.patience is not None and val_loader is None:
        raise ValueError("config.patience (early stopping) needs a val_loader to watch")
    return config
