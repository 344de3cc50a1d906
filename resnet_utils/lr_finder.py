"""Leslie Smith's learning-rate range test: which learning rate to train with.

Chapter 6. Train for a few batches while the learning rate grows
exponentially, and watch the loss: a good peak learning rate sits a little
below where the loss falls fastest and well below where it blows up
(Smith, 2017, arXiv:1506.01186).
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn
from torch.utils.data import DataLoader

from ._checks import check
from .runtime import resolve_device, seed_everything
from .step import TrainStep

__all__ = ["lr_range_test"]


def lr_range_test(
    model: nn.Module,
    train_loader: DataLoader,
    min_lr: float = 1e-5,
    max_lr: float = 10.0,
    num_steps: int = 100,
    device: str | torch.device = "auto",
    momentum: float = 0.9,
    seed: int = 0,
) -> tuple[list[float], list[float]]:
    """Train up to ``num_steps`` batches with the learning rate growing from ``min_lr`` to ``max_lr``.

    Records the (exponentially smoothed) training loss at each step and stops
    early once it exceeds four times its minimum. The model's weights are
    restored afterwards.

    Returns:
        ``(lrs, losses)``: the learning rate and the smoothed loss of every
        step taken.
    """
    *_, min_lr, max_lr, num_steps = check(
        model=model, train_loader=train_loader, min_lr=min_lr, max_lr=max_lr, num_steps=num_steps
    )
    if max_lr <= min_lr:
        raise ValueError(f"max_lr must be > min_lr, got {max_lr} and {min_lr}")
    device = resolve_device(device)
    seed_everything(seed)
    saved = copy.deepcopy(model.state_dict())
    model.to(device).train()
    optimizer = torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad], lr=min_lr, momentum=momentum
    )
    factor = (max_lr / min_lr) ** (1 / (num_steps - 1))  # lr of step s: min_lr * factor**s
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: factor**s)
    step = TrainStep(model, optimizer, device=device, scheduler=schedule)
    lrs: list[float] = []
    losses: list[float] = []
    best = float("inf")
    while len(lrs) < num_steps:
        for X, y in train_loader:
            lrs.append(optimizer.param_groups[0]["lr"])
            value = step(X, y)[0].item()
            smoothed = value if not losses else 0.9 * losses[-1] + 0.1 * value
            losses.append(smoothed)
            best = min(best, smoothed)
            if len(lrs) >= num_steps or not math.isfinite(smoothed) or smoothed > 4 * best:
                break
        else:
            continue  # the loader ran out: another pass over it
        break
    model.load_state_dict(saved)
    return lrs, losses
