"""``python -m resnet_utils.finetune``: chapter 9's transfer experiment, as JSON.

::

    python -m resnet_utils.finetune --seed 0 --json out.json

Pretrains on the unlabelled digits (or loads ``--pretrained``), then compares
training from scratch, a linear probe and full fine-tuning with few labels
(:func:`resnet_utils.finetune.transfer_experiment`).
"""

from __future__ import annotations

from typing import Any

from .. import cli
from ..finetune import (
    TransferConfig,
    load_pretrained,
    pretrain_digits,
    save_pretrained,
    transfer_experiment,
)
from ..runtime import resolve_device

__all__ = ["build_parser", "main"]


def build_parser():
    d = TransferConfig
    p = cli.parser(
        "finetune",
        "Pretrain on unlabelled digits, then compare scratch, linear "
        "probe and fine-tuning with few labels. Writes the result as JSON.",
        save="also save the pretrained model here (save_pretrained)",
    )
    p.add_argument("--labels-per-class", type=int, nargs="+", default=[1, 3, 10])
    p.add_argument("--pretrain-epochs", type=int, default=d.pretrain_epochs)
    p.add_argument(
        "--neighbours",
        type=int,
        default=d.neighbours,
        help="pretraining partners: one of each image's k nearest neighbours "
        "(0: the image itself)",
    )
    p.add_argument(
        "--steps",
        type=int,
        default=d.steps,
        help="optimizer steps per downstream run",
    )
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--arch", default=d.arch)
    p.add_argument(
        "--pretrained", metavar="PATH", help="skip pretraining: load this save_pretrained file"
    )
    return p


def _run(args) -> int:
    resolve_device(args.device)
    config = TransferConfig(
        arch=args.arch,
        labels_per_class=tuple(args.labels_per_class),
        pretrain_epochs=args.pretrain_epochs,
        neighbours=args.neighbours,
        steps=args.steps,
        lr=args.lr,
        seed=args.seed,
        device=args.device,
        precision=args.precision,
        channels_last=args.channels_last,
        progress=not args.quiet,
    )
    extra: dict[str, Any] = {}
    if args.pretrained:
        pretrained = load_pretrained(args.arch, checkpoint=args.pretrained)
    else:
        pretrained, history = pretrain_digits(config)
        extra = {"pretrain_loss": history.loss, "pretrain_seconds": history.seconds}
        if args.save:
            save_pretrained(pretrained, args.save, args.arch, in_channels=1, width=config.width)
    result = {**transfer_experiment(config, pretrained), **extra}
    c = result["curves"]
    for i, k in enumerate(result["labels_per_class"]):
        print(
            f"{k:>3} labels/class: scratch {c['scratch'][i]:.3f}  "
            f"linear probe {c['linear_probe'][i]:.3f}  fine-tune {c['finetune'][i]:.3f}"
        )
    cli.write_json(args.json, "finetune", config, result)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m resnet_utils.finetune``; returns the exit status."""
    return cli.run(build_parser(), _run, argv)
