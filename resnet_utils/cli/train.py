"""``python -m resnet_utils.train``: train one of the book's recipes, write the result as JSON.

Chapters 0 and 6::

    python -m resnet_utils.train --dataset digits --seed 0 --json out.json
    python -m resnet_utils.train --dataset cifar10 --download --device cuda

The recipes themselves are :mod:`resnet_utils.recipes`; ``--help`` lists every option.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from .. import cli
from ..checkpoint import CHECKPOINT_NAME, load_checkpoint
from ..recipes import RECIPES, Recipe, train_recipe
from ..runtime import resolve_device

__all__ = ["build_parser", "main"]


def build_parser():
    p = cli.parser(
        "train",
        "Train the book's ResNet recipe and write the result as JSON.",
        save="save the final weights here (a state_dict, torch.save)",
    )
    p.add_argument("--dataset", choices=sorted(RECIPES), default="digits")
    p.add_argument("--arch", help="resnet20 (default), resnet56, plain20, resnet18, ...")
    p.add_argument("--width", type=int, help="channels of the first stage (CIFAR family)")
    p.add_argument("--num-epochs", type=int, help="passes over the training set")
    p.add_argument("--lr", type=float, help="peak learning rate")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--checkpoint", metavar="DIR", help="save DIR/last.pt after every epoch")
    p.add_argument("--resume", action="store_true", help="continue from DIR/last.pt")
    p.add_argument("--data-root", default="data", help="where CIFAR-10 lives (default: data)")
    p.add_argument("--download", action="store_true", help="download CIFAR-10 if missing (163 MB)")
    p.add_argument("--num-workers", type=int, default=0, help="DataLoader worker processes")
    return p


def _given(value: Any, default: Any) -> Any:
    return default if value is None else value  # 0 is given (and refused by its rule)


def _recipe_from_args(args) -> Recipe:
    base = RECIPES[args.dataset]
    resolve_device(args.device)
    if args.resume and not args.checkpoint:
        raise ValueError("--resume needs --checkpoint DIR (the folder holding last.pt)")
    if args.resume:
        load_checkpoint(Path(args.checkpoint) / CHECKPOINT_NAME)  # missing or corrupt: now
    config = replace(
        base.config,
        num_epochs=_given(args.num_epochs, base.config.num_epochs),
        lr=_given(args.lr, base.config.lr),
        device=args.device,
        precision=args.precision,
        channels_last=args.channels_last,
        checkpoint_dir=args.checkpoint,
        resume=args.resume,
        progress=not args.quiet,
    )
    return replace(
        base,
        arch=_given(args.arch, base.arch),  # checked with the rest when the model is built
        width=_given(args.width, base.width),
        batch_size=_given(args.batch_size, base.batch_size),
        config=config,
    )


def _train(args) -> int:
    recipe = _recipe_from_args(args)
    model, result = train_recipe(
        recipe,
        seed=args.seed,
        data_root=args.data_root,
        download=args.download,
        num_workers=args.num_workers,
    )
    print(
        f"test accuracy {result['test_accuracy']:.4f} after {result['num_epochs']} epochs "
        f"({result['train_seconds']:.1f} s of training on {result['device']})"
    )
    cli.save_weights(args.save, model.state_dict())
    ran = replace(recipe, config=replace(recipe.config, seed=args.seed))
    cli.write_json(args.json, "train", ran, result)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m resnet_utils.train``; returns the exit status."""
    return cli.run(build_parser(), _train, argv)
