"""The book's training recipes.

Chapters 0 and 6. A :class:`Recipe` is everything that defines a run besides
the seed: data, model and :class:`~resnet_utils.train.TrainConfig`.
:data:`RECIPES` holds the book's settings per dataset; :func:`run_recipe`
trains one and returns the result. ``python -m resnet_utils.train`` runs
them from the command line (:mod:`resnet_utils.cli.train`).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .checkpoint import state_dict_sha256
from .runtime import resolve_device, resolve_precision, seed_everything
from .train import TrainConfig, evaluate, fit

__all__ = [
    "Recipe",
    "RECIPES",
    "build_recipe",
    "recipe_sweep",
    "run_recipe",
    "train_recipe",
]


@dataclass
class Recipe:
    """Everything that defines a training run besides the seed: data, model, loop."""

    dataset: str  # "digits" or "cifar10"
    arch: str  # see resnet_utils.models.build_model
    width: int  # channels of the first stage (CIFAR family)
    image_size: int  # digits are resized from 8x8 to this
    batch_size: int
    val_size: float | int  # held out from the training split
    augment: bool
    config: TrainConfig


RECIPES: dict[str, Recipe] = {
    # lr, label smoothing and augmentation chosen on validation data by tools/sweep_recipe.py
    # (seeds 0-2, never the test half; recipe_sweep() returns its record, chapter 6 shows it).
    "digits": Recipe(
        "digits",
        arch="resnet20",
        width=16,
        image_size=16,
        batch_size=32,
        val_size=0.1,
        augment=True,
        config=TrainConfig(num_epochs=30, lr=0.05, label_smoothing=0.15),
    ),
    # He et al.'s CIFAR-10 setting, shortened (they trained 64k iterations with batch 128).
    "cifar10": Recipe(
        "cifar10",
        arch="resnet20",
        width=16,
        image_size=32,
        batch_size=128,
        val_size=5000,
        augment=True,
        config=TrainConfig(num_epochs=30, lr=0.1, weight_decay=1e-4, label_smoothing=0.0),
    ),
}


def recipe_sweep() -> dict[str, Any]:
    """The record of the sweep that chose ``RECIPES["digits"]`` (tools/sweep_recipe.py).

    ``rows`` holds every setting tried with its per-seed validation
    accuracies and losses; ``winner`` the setting the recipe uses.
    """
    import json

    return json.loads((Path(__file__).parent / "static" / "recipe_sweep.json").read_text())


def run_recipe(
    recipe: Recipe,
    seed: int = 0,
    data_root: str | Path = "data",
    download: bool = False,
    num_workers: int = 0,
) -> dict[str, Any]:
    """Train ``recipe`` with ``seed`` and return the result as a JSON-ready dict."""
    return train_recipe(recipe, seed, data_root, download, num_workers)[1]


def build_recipe(
    recipe: Recipe,
    seed: int = 0,
    data_root: str | Path = "data",
    download: bool = False,
    num_workers: int = 0,
) -> tuple[Any, Any, Any, Any]:
    """The model and loaders a run of ``recipe`` with ``seed`` starts from.

    Returns ``(model, train_loader, val_loader, test_loader)``: the split,
    the shuffling and the initial weights all follow from ``seed``, so
    ``fit_seeds(lambda s: build_recipe(recipe, s)[:3], seeds, recipe.config)``
    trains several seeds of the recipe at once.
    """
    from .data import load_cifar10, load_digits, make_loaders
    from .models import build_model

    if not isinstance(recipe, Recipe):
        raise TypeError(f"recipe must be a Recipe, got {type(recipe).__name__}")
    seed_everything(seed)
    if recipe.dataset == "digits":
        splits = load_digits(
            size=recipe.image_size, val_size=recipe.val_size, seed=seed, augment=recipe.augment
        )
    elif recipe.dataset == "cifar10":
        splits = load_cifar10(
            data_root,
            download=download,
            val_size=recipe.val_size,
            seed=seed,
            augment=recipe.augment,
        )
    else:
        raise ValueError(f"dataset must be 'digits' or 'cifar10', got {recipe.dataset!r}")
    train_loader, val_loader, test_loader = make_loaders(
        splits, recipe.batch_size, seed, num_workers
    )
    seed_everything(seed)  # the initial weights depend on the seed only, not on what ran before
    model = build_model(
        recipe.arch,
        num_classes=len(splits.classes),
        in_channels=splits.in_channels,
        width=recipe.width,
    )
    return model, train_loader, val_loader, test_loader


def train_recipe(
    recipe: Recipe,
    seed: int = 0,
    data_root: str | Path = "data",
    download: bool = False,
    num_workers: int = 0,
) -> tuple[Any, dict[str, Any]]:
    """Train ``recipe`` with ``seed``; return the trained model and the result."""
    config = TrainConfig(**{**asdict(recipe.config), "seed": seed})
    model, train_loader, val_loader, test_loader = build_recipe(
        recipe, seed, data_root, download, num_workers
    )
    t0 = time.perf_counter()
    history = fit(model, train_loader, val_loader, config)
    train_seconds = time.perf_counter() - t0
    device = resolve_device(config.device)
    precision = resolve_precision(config.precision, device)
    test_loss, test_acc = evaluate(model, test_loader, device, precision, config.channels_last)
    return model, {
        "dataset": recipe.dataset,
        "arch": recipe.arch,
        "width": recipe.width,
        "image_size": recipe.image_size,
        "batch_size": recipe.batch_size,
        "seed": seed,
        "num_epochs": config.num_epochs,
        "lr": config.lr,
        "device": str(device),
        "precision": precision,
        "channels_last": config.channels_last,
        "test_accuracy": test_acc,
        "test_loss": test_loss,
        "val_accuracy": history.val_acc[-1] if val_loader is not None else None,
        "train_seconds": train_seconds,
        "history": history.as_dict(),
        "weights_sha256": state_dict_sha256(model),
    }
