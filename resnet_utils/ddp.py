"""Data-parallel training with DistributedDataParallel, started by ``torchrun``.

Chapter 8. Every process (a *rank*) holds a full copy of the model and
takes its share of each global batch; after the backward pass DDP averages
the gradients across ranks (an all-reduce), so every copy takes the same
step. Two CPU processes on a laptop::

    torchrun --standalone --nproc_per_node 2 -m resnet_utils.ddp --json ddp.json

The same command runs on 8 GPUs (``--nproc_per_node 8``, backend nccl) or on
several machines (``--nnodes``, ``--rdzv-endpoint``). Without torchrun it
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

import argparse
import json
import os
import sys
import time
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass
from typing import Any, Iterator

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from ._checks import check_int, check_number

__all__ = ["DDPConfig", "global_batches", "train", "main"]


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
    device: str = "cpu"

    def __post_init__(self) -> None:
        from .models import build_model

        check_int("width", self.width, min_value=1)
        check_int("image_size", self.image_size, min_value=8)
        check_int("num_epochs", self.num_epochs, min_value=1)
        check_int("global_batch_size", self.global_batch_size, min_value=1)
        check_number("lr", self.lr, min_value=0, min_inclusive=False)
        check_number("momentum", self.momentum, min_value=0, max_value=1)
        check_int("seed", self.seed, min_value=0)
        build_model(self.arch, width=self.width)  # an unknown arch fails here, with the names it accepts


def global_batches(n: int, batch_size: int, epoch: int, seed: int) -> list[torch.Tensor]:
    """The indices of each global batch of an epoch: a seeded shuffle, the last partial batch dropped.

    Every rank computes the same list (same seed and epoch), then takes its
    shard ``batch[rank::world_size]``, as ``DistributedSampler`` interleaves.
    """
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed + epoch))
    return [order[i:i + batch_size] for i in range(0, n - batch_size + 1, batch_size)]


def _normalized(dataset: Any) -> tuple[torch.Tensor, torch.Tensor]:
    X = dataset.transform(dataset.X) if dataset.transform is not None else dataset.X
    return X, dataset.y


@contextmanager
def _frozen_bn_stats(model: nn.Module) -> Iterator[None]:
    """Batch norm still normalises with batch statistics, but its running averages do not move."""
    saved = [(m, m.momentum) for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
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
    single process splits each global batch into ``shards`` pieces and
    accumulates their gradients, which is the same computation. Returns the
    per-step losses (mean over the whole global batch), the test accuracy,
    the final weights (``state_dict``) and timings.
    """
    from .data import load_digits
    from .models import build_model
    from .runtime import resolve_device, seed_everything

    if not isinstance(config, DDPConfig):
        raise TypeError(f"config must be a DDPConfig, got {type(config).__name__}")
    check_int("shards", shards, min_value=1)
    distributed = dist.is_available() and dist.is_initialized()
    rank, world = (dist.get_rank(), dist.get_world_size()) if distributed else (0, 1)
    pieces = world if distributed else shards
    if config.global_batch_size % pieces:
        raise ValueError(f"global_batch_size ({config.global_batch_size}) must be divisible by the number of "
                         f"ranks/shards ({pieces})")
    device = resolve_device(config.device)
    if distributed and device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        torch.cuda.set_device(device)
    splits = load_digits(size=config.image_size, val_size=0, seed=config.seed)
    X, y = _normalized(splits.train)  # no augmentation: every rank and the reference see the same pixels
    X_test, y_test = _normalized(splits.test)
    seed_everything(config.seed)
    model = build_model(config.arch, num_classes=10, in_channels=1, width=config.width).to(device)
    net: nn.Module = model
    if distributed:  # DDP broadcasts rank 0's weights at start, then all-reduces gradients in backward
        net = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    optimizer = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum)
    steps_per_epoch = len(X) // config.global_batch_size
    if steps_per_epoch == 0:
        raise ValueError(f"global_batch_size ({config.global_batch_size}) exceeds the {len(X)} training images")
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr,
                                                    total_steps=config.num_epochs * steps_per_epoch)
    losses: list[float] = []
    start = time.perf_counter()
    model.train()
    for epoch in range(config.num_epochs):
        for batch in global_batches(len(X), config.global_batch_size, epoch, config.seed):
            optimizer.zero_grad(set_to_none=True)
            if distributed:
                idx = batch[rank::world]
                loss = F.cross_entropy(net(X[idx].to(device)), y[idx].to(device))
                loss.backward()  # DDP: gradients averaged over ranks here
                total = loss.detach().clone()
                dist.all_reduce(total)  # for the log only: the mean loss of the global batch
                losses.append(total.item() / world)
            else:
                total = 0.0
                for r in range(shards):
                    idx = batch[r::shards]
                    with _frozen_bn_stats(model) if r > 0 else nullcontext():
                        loss = F.cross_entropy(model(X[idx].to(device)), y[idx].to(device)) / shards
                    loss.backward()  # gradients add up over the shards
                    total += loss.item()
                losses.append(total)
            optimizer.step()
            scheduler.step()
    seconds = time.perf_counter() - start
    model.eval()
    with torch.no_grad():
        accuracy = (model(X_test.to(device)).argmax(1).cpu() == y_test).float().mean().item()
    return {"config": asdict(config), "world_size": world, "shards": pieces, "distributed": distributed,
            "backend": dist.get_backend() if distributed else None, "losses": losses,
            "test_accuracy": accuracy, "train_seconds": seconds,
            "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}}


def build_parser() -> argparse.ArgumentParser:
    from .train import _OneLineParser, _positive

    p = _OneLineParser(prog="python -m resnet_utils.ddp",
                       description="Data-parallel training on the digits with DistributedDataParallel. Start it "
                                   "with torchrun (e.g. torchrun --standalone --nproc_per_node 2 -m "
                                   "resnet_utils.ddp); run alone, it is the single-process reference.")
    d = DDPConfig
    p.add_argument("--arch", default=d.arch)
    p.add_argument("--width", type=_positive(int), default=d.width)
    p.add_argument("--epochs", type=_positive(int), default=d.num_epochs)
    p.add_argument("--global-batch-size", type=_positive(int), default=d.global_batch_size)
    p.add_argument("--lr", type=_positive(float), default=d.lr)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--device", default=d.device, help="cpu (backend gloo) or cuda (backend nccl, one GPU per rank)")
    p.add_argument("--shards", type=_positive(int), default=1,
                   help="without torchrun: split each global batch into this many shards (2 = what 2 ranks do)")
    p.add_argument("--json", metavar="PATH", help="rank 0 writes the result here")
    p.add_argument("--save", metavar="PATH", help="rank 0 saves the final state_dict here (torch.save)")
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point (one per rank under torchrun); returns the exit status."""
    from .checkpoint import atomic_write_bytes, atomic_write_json

    parser = build_parser()
    args = parser.parse_args(argv)
    launched = "RANK" in os.environ and "WORLD_SIZE" in os.environ  # set by torchrun
    try:
        config = DDPConfig(arch=args.arch, width=args.width, num_epochs=args.epochs,
                           global_batch_size=args.global_batch_size, lr=args.lr, seed=args.seed, device=args.device)
        if launched and args.shards != 1:
            raise ValueError("--shards is for the single-process reference; under torchrun the ranks are the shards")
        if launched:
            backend = "nccl" if config.device.startswith("cuda") else "gloo"
            dist.init_process_group(backend)
        try:
            result = train(config, shards=args.shards)
        finally:
            if launched:
                dist.destroy_process_group()
    except (ValueError, TypeError) as err:
        print(f"{parser.prog}: error: {err}", file=sys.stderr)
        return 1
    if result["distributed"] and int(os.environ["RANK"]) != 0:
        return 0
    state = result.pop("state_dict")
    if args.save:
        import io
        buffer = io.BytesIO()
        torch.save(state, buffer)
        atomic_write_bytes(args.save, buffer.getvalue())
    print(json.dumps({k: result[k] for k in ("world_size", "shards", "backend", "test_accuracy", "train_seconds")}))
    if args.json:
        atomic_write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
