"""One optimisation step, written once: every training loop of the package uses it.

Chapters 6, 9 and 10. :class:`TrainStep` does what each step of gradient
descent does, in this order:

1. move the batch to the device (channels-last if asked);
2. forward pass under autocast (bf16/fp16 when ``precision`` says so);
3. the loss, always in fp32;
4. backward pass, through a gradient scaler when the precision is fp16;
5. every ``accumulate`` calls: optimizer step, scheduler step, zero the
   gradients.

``fit`` (:mod:`resnet_utils.train`), the learning-rate range test,
contrastive pretraining, the data-parallel reference and the benchmark all
call it, so the benchmark times exactly the step that ``fit`` trains with.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .runtime import autocast

__all__ = ["TrainStep"]

LossFn = Callable[[Tensor, Any], Tensor]


class TrainStep:
    """Call it with a batch ``(X, y)``; it returns the batch's loss and the model's output.

    Args:
        model: the network (any ``nn.Module``), already on ``device``.
        optimizer: updates the model's parameters.
        device: where the batch goes.
        precision: ``"fp32"``, ``"bf16"`` or ``"fp16"`` (already resolved,
            see :func:`resnet_utils.runtime.resolve_precision`).
        channels_last: send 4-D batches in NHWC memory format.
        scheduler: stepped after every optimizer step (``None``: no schedule).
        loss_fn: ``loss_fn(output, y)``; default cross-entropy.
        accumulate: optimizer step every this many calls; the gradients of
            the calls in between add up (each loss is divided by
            ``accumulate``, so the step sees their mean).

    The returned loss and output are detached (for logging and accuracy).
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        *,
        device: torch.device,
        precision: str = "fp32",
        channels_last: bool = False,
        scheduler: Any | None = None,
        loss_fn: LossFn = F.cross_entropy,
        accumulate: int = 1,
    ) -> None:
        self.model, self.optimizer, self.scheduler = model, optimizer, scheduler
        self.device, self.precision, self.loss_fn = device, precision, loss_fn
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.accumulate = accumulate
        self.scaler = torch.amp.GradScaler(device.type, enabled=precision == "fp16")
        self.calls = 0  # batches seen; optimizer steps = calls // accumulate

    def __call__(self, X: Tensor, y: Any = None) -> tuple[Tensor, Tensor]:
        X = X.to(self.device, non_blocking=True)
        if X.ndim == 4:
            X = X.contiguous(memory_format=self.memory_format)
        if isinstance(y, Tensor):
            y = y.to(self.device, non_blocking=True)
        if self.calls % self.accumulate == 0:
            self.optimizer.zero_grad(set_to_none=True)
        with autocast(self.device, self.precision):
            output = self.model(X)
        loss = self.loss_fn(output.float(), y)  # the loss itself in fp32
        self.scaler.scale(loss / self.accumulate).backward()
        self.calls += 1
        if self.calls % self.accumulate == 0:
            self.scaler.step(self.optimizer)
            self.scaler.update()
            if self.scheduler is not None:
                self.scheduler.step()
        return loss.detach(), output.detach()
