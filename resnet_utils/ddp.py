"""Data-parallel training with DistributedDataParallel, started by ``torchrun``.

Chapter 10. Every process (a *rank*) holds a full copy of the model and
takes its share of each global batch; after the backward pass DDP averages
the gradients across ranks (an all-reduce), so every copy takes the same
step. Two CPU processes on a laptop::

    torchrun --standalone --nproc_per_node 2 -m resnet_utils.ddp --json ddp.json

The same command runs on 8 GPUs (``--nproc_per_node 8``, backend nccl, chosen
when ``--device`` resolves to CUDA) or on several machines (``--nnodes``,
``--rdzv-endpoint``). Each rank reads its shard through
:class:`~torch.utils.data.DistributedSampler`. Without torchrun it
runs the single-process reference::

    python -m resnet_utils.ddp --shards 2 --json reference.json

The reference processes each global batch as ``shards`` pieces and adds up
their gradients (each loss divided by ``shards``): exactly what DDP computes
with ``shards`` ranks, so the two runs end with the same weights up to
floating-point rounding. Batch normalisation is the one subtlety: each rank
normalises with the statistics of its own shard (so does the reference),
and DDP keeps rank 0's running statistics (``broadcast_buffers``), so the
reference updates them from shard 0 only. ``--shards 1`` is plain training
on whole batches; it differs from DDP only through those batch statistics.
"""

from __future__ import annotations

if __name__ == "__main__":  # python -m resnet_utils.ddp runs the command line only: the
    from resnet_utils.cli.ddp import main  # module itself is imported once, by the command

    raise SystemExit(main())

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from ._checks import check_as, check_fields

__all__ = ["DDPConfig", "shard_loader", "train"]


@dataclass
class DDPConfig:
    """The digits run that both the DDP ranks and the reference perform."""

    arch: str = "resnet8"
    width: int = 8
    image_size: int = 16
    num_epochs: int = 10
    global_batch_size: int = 64  # images per optimizer step, summed over all ranks
    lr: float = 0.05
    momentum: float = 0.9
    seed: int = 0
    device: str = "auto"  # CUDA if available (backend nccl), else the CPU (backend gloo)
    precision: str = "fp32"
    channels_last: bool = False

    def __post_init__(self) -> None:
        check_fields(self)  # each field by its rule in resnet_utils._checks.RULES


def shard_loader(
    dataset: Any, batch_size: int, rank: int, world_size: int, seed: int
) -> DataLoader:
    """Rank ``rank``'s loader: its shard of every global batch of ``batch_size * world_size``.

    :class:`~torch.utils.data.DistributedSampler` shuffles with ``seed`` plus
    the epoch (call ``loader.sampler.set_epoch(epoch)``), so every rank cuts
    the same permutation and takes every ``world_size``-th image of it; the
    last partial batch is dropped.
    """
    sampler = DistributedSampler(
        dataset, num_replicas=world_size, rank=rank, shuffle=True, seed=seed, drop_last=True
    )
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, drop_last=True)


def _normalized(dataset: Any) -> tuple[torch.Tensor, torch.Tensor]:
    X = dataset.transform(dataset.X) if dataset.transform is not None else dataset.X
    return X, dataset.y


@contextmanager
def _frozen_bn_stats(model: nn.Module) -> Iterator[None]:
    """Batch norm still normalises with batch statistics, but its running averages do not move."""
    saved = [
        (m, m.momentum) for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)
    ]
    for m, _ in saved:
        m.momentum = 0.0
    try:
        yield
    finally:
        for m, momentum in saved:
            m.momentum = momentum


def train(config: DDPConfig, shards: int = 1) -> dict[str, Any]:
    """Train on the digits; data-parallel across ranks when a process group is initialised.

    Under ``torchrun`` (a process group exists) each rank trains on its shard
    of every global batch through ``DistributedDataParallel``. Otherwise the
    single process reads all ``shards`` shards of each global batch and
    accumulates their gradients, which is the same computation. Returns the
    per-step losses (mean over the whole global batch), the test accuracy,
    the final weights (``state_dict``) and timings.
    """
    from .data import load_digits
    from .models import build_model
    from .runtime import resolve_device, resolve_precision, seed_everything
    from .step import TrainStep

    if not isinstance(config, DDPConfig):
        raise TypeError(f"config must be a DDPConfig, got {type(config).__name__}")
    check_as("batch_size", "shards", shards)
    distributed = dist.is_available() and dist.is_initialized()
    rank, world = (dist.get_rank(), dist.get_world_size()) if distributed else (0, 1)
    pieces = world if distributed else shards
    device = resolve_device(config.device)
    if distributed and device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        torch.cuda.set_device(device)
    splits = load_digits(size=config.image_size, val_size=0, seed=config.seed)
    # no augmentation: every rank and the reference see the same pixels
    dataset = TensorDataset(*_normalized(splits.train))
    X_test, y_test = _normalized(splits.test)
    if config.global_batch_size % pieces or config.global_batch_size > len(dataset):
        raise ValueError(
            f"global_batch_size must be divisible by the number of ranks/shards ({pieces}) "
            f"and at most the {len(dataset)} training images, got {config.global_batch_size}"
        )
    local = config.global_batch_size // pieces
    mine = [rank] if distributed else range(shards)  # the shards this process reads
    loaders = [shard_loader(dataset, local, r, pieces, config.seed) for r in mine]
    seed_everything(config.seed)
    model = build_model(config.arch, num_classes=10, in_channels=1, width=config.width)
    model.to(device)
    net: nn.Module = model
    if distributed:  # DDP broadcasts rank 0's weights at start, then all-reduces gradients
        ids = [device.index] if device.type == "cuda" else None
        net = nn.parallel.DistributedDataParallel(model, device_ids=ids)
    optimizer = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer,
        max_lr=config.lr,
        total_steps=config.num_epochs * len(loaders[0]),
        cycle_momentum=False,  # momentum stays config.momentum, as in train.make_scheduler
    )
    step = TrainStep(
        net,
        optimizer,
        device=device,
        precision=resolve_precision(config.precision, device),
        channels_last=config.channels_last,
        scheduler=scheduler,
        accumulate=len(loaders),
    )  # the reference adds up its shards' gradients
    losses: list[float] = []
    start = time.perf_counter()
    model.train()
    for epoch in range(config.num_epochs):
        for loader in loaders:
            loader.sampler.set_epoch(epoch)
        for batches in zip(*loaders):  # one global batch: this process's shard(s) of it
            total = torch.zeros((), device=device)
            for r, (X, y) in enumerate(batches):
                # the reference: only shard 0 moves the running statistics, as DDP keeps rank 0's
                with _frozen_bn_stats(model) if r > 0 else nullcontext():
                    total += step(X, y)[0] / len(batches)
            if distributed:  # for the log only: the mean loss of the global batch
                dist.all_reduce(total)
                total /= world
            losses.append(total.item())
    seconds = time.perf_counter() - start
    model.eval()
    with torch.no_grad():
        predicted = model(X_test.to(device)).argmax(1).cpu()
    return {
        "config": config,
        "world_size": world,
        "shards": pieces,
        "distributed": distributed,
        "backend": dist.get_backend() if distributed else None,
        "losses": losses,
        "test_accuracy": (predicted == y_test).float().mean().item(),
        "train_seconds": seconds,
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
    }
