"""``python -m resnet_utils.ddp``: data-parallel training, one process per rank under torchrun.

Chapter 10::

    torchrun --standalone --nproc_per_node 2 -m resnet_utils.ddp --json ddp.json
    python -m resnet_utils.ddp --shards 2 --json reference.json   # the reference

What runs is :func:`resnet_utils.ddp.train`.
"""

from __future__ import annotations

import os

import torch.distributed as dist

from .. import cli
from ..ddp import DDPConfig, train
from ..runtime import resolve_device

__all__ = ["build_parser", "main"]


def build_parser():
    d = DDPConfig
    p = cli.parser(
        "ddp",
        "Data-parallel training on the digits with DistributedDataParallel. "
        "Start it with torchrun (e.g. torchrun --standalone --nproc_per_node 2 -m "
        "resnet_utils.ddp); run alone, it is the single-process reference.",
        save="rank 0 saves the final weights here (a state_dict, torch.save)",
    )
    p.add_argument("--arch", default=d.arch)
    p.add_argument("--width", type=int, default=d.width)
    p.add_argument("--num-epochs", type=int, default=d.num_epochs)
    p.add_argument("--global-batch-size", type=int, default=d.global_batch_size)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument(
        "--shards",
        type=int,
        default=1,
        help="without torchrun: split each global batch into this many shards "
        "(2 = what 2 ranks do)",
    )
    return p


def _run(args) -> int:
    launched = "RANK" in os.environ and "WORLD_SIZE" in os.environ  # set by torchrun
    config = DDPConfig(
        arch=args.arch,
        width=args.width,
        num_epochs=args.num_epochs,
        global_batch_size=args.global_batch_size,
        lr=args.lr,
        seed=args.seed,
        device=args.device,
        precision=args.precision,
        channels_last=args.channels_last,
    )
    if launched and args.shards != 1:
        raise ValueError(
            "--shards is for the single-process reference; under torchrun the ranks are the shards"
        )
    if launched:
        cuda = resolve_device(config.device).type == "cuda"
        dist.init_process_group("nccl" if cuda else "gloo")
    try:
        result = train(config, shards=args.shards)
    finally:
        if launched:
            dist.destroy_process_group()
    if result["distributed"] and int(os.environ["RANK"]) != 0:
        return 0
    cli.save_weights(args.save, result.pop("state_dict"))
    if not args.quiet:
        how = (
            f"{result['world_size']} ranks ({result['backend']})"
            if result["distributed"]
            else f"1 process, {result['shards']} shard(s) per batch"
        )
        print(
            f"{how}: test accuracy {result['test_accuracy']:.4f} after "
            f"{config.num_epochs} epochs ({result['train_seconds']:.1f} s)"
        )
    cli.write_json(args.json, "ddp", config, result)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point (one per rank under torchrun); returns the exit status."""
    return cli.run(build_parser(), _run, argv)
