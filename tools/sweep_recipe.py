"""Choose the digits recipe on validation data: a small sweep, three seeds each.

Every setting trains seeds 0-2 at once (``resnet_utils.seeds.fit_seeds``)
and is scored by its mean *validation* accuracy; the test half is never
looked at. The recipe itself holds out 10 % of the training half (90
images), where every setting scores 100 %; the sweep holds out a quarter
(224 images per seed, 672 in all), enough to see a few errors. The setting
with the highest mean wins, ties going to the lower mean validation loss
(cross-entropy without smoothing, which favours confident networks, so it
is only the tie-break).
The record (every setting, every seed) goes to
``resnet_utils/static/recipe_sweep.json`` (``recipes.recipe_sweep()``
reads it); ``RECIPES["digits"]`` must be its winner (a unit test checks),
and chapter 6 shows the table.

    python tools/sweep_recipe.py            # about 8 minutes on 2 CPU cores
    python tools/sweep_recipe.py --check    # does RECIPES match the record?
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from dataclasses import replace
from pathlib import Path

RECORD = Path(__file__).resolve().parents[1] / "resnet_utils" / "static" / "recipe_sweep.json"
SEEDS = [0, 1, 2]
SWEEP_VAL_SIZE = 0.25
# (lr, label smoothing, augmentation): the peak learning rate around chapter 6's range
# test, label smoothing on or off, augmentation on or off at the middle learning rate
GRID = [
    (0.05, 0.0, True),
    (0.05, 0.15, True),
    (0.1, 0.0, True),
    (0.1, 0.15, True),
    (0.2, 0.0, True),
    (0.2, 0.15, True),
    (0.1, 0.15, False),
]


def setting_recipe(base, lr: float, label_smoothing: float, augment: bool):
    config = replace(base.config, lr=lr, label_smoothing=label_smoothing, progress=False)
    return replace(base, augment=augment, val_size=SWEEP_VAL_SIZE, config=config)


def winner(rows: list[dict]) -> dict:
    return max(rows, key=lambda r: (r["val_acc_mean"], -r["val_loss_mean"]))


def run() -> dict:
    import numpy as np
    import torch

    from resnet_utils.recipes import RECIPES, build_recipe
    from resnet_utils.seeds import fit_seeds

    base = RECIPES["digits"]
    rows = []
    for lr, smoothing, augment in GRID:
        recipe = setting_recipe(base, lr, smoothing, augment)
        _, histories = fit_seeds(lambda s: build_recipe(recipe, s)[:3], SEEDS, recipe.config)
        accs = [h.val_acc[-1] for h in histories]
        losses = [h.val_loss[-1] for h in histories]
        row = {
            "lr": lr,
            "label_smoothing": smoothing,
            "augment": augment,
            "val_acc": accs,
            "val_loss": losses,
            "val_acc_mean": float(np.mean(accs)),
            "val_acc_std": float(np.std(accs, ddof=1)),
            "val_loss_mean": float(np.mean(losses)),
        }
        print(json.dumps(row), flush=True)
        rows.append(row)
    best = winner(rows)
    return {
        "what": "digits recipe, mean validation accuracy over seeds at the last epoch",
        "fixed": {
            "arch": base.arch,
            "width": base.width,
            "image_size": base.image_size,
            "batch_size": base.batch_size,
            "val_size": SWEEP_VAL_SIZE,
            "num_epochs": base.config.num_epochs,
            "schedule": base.config.schedule,
            "weight_decay": base.config.weight_decay,
        },
        "seeds": SEEDS,
        "rows": rows,
        "winner": {k: best[k] for k in ("lr", "label_smoothing", "augment")},
        "torch": torch.__version__,
        "machine": platform.processor() or platform.machine(),
    }


def check(record: dict) -> list[str]:
    """What differs between RECIPES["digits"] and the record's winner (empty: they agree)."""
    from resnet_utils.recipes import RECIPES

    r = RECIPES["digits"]
    now = {"lr": r.config.lr, "label_smoothing": r.config.label_smoothing, "augment": r.augment}
    won = winner(record["rows"])
    problems = [
        f"{k}: RECIPES has {now[k]!r}, the sweep chose {won[k]!r}" for k in now if now[k] != won[k]
    ]
    fixed = record["fixed"]
    for k in ("arch", "width", "image_size", "batch_size"):
        if getattr(r, k) != fixed[k]:
            problems.append(f"{k}: RECIPES has {getattr(r, k)!r}, the sweep ran {fixed[k]!r}")
    for k in ("num_epochs", "schedule", "weight_decay"):
        if getattr(r.config, k) != fixed[k]:
            problems.append(
                f"{k}: RECIPES has {getattr(r.config, k)!r}, the sweep ran {fixed[k]!r}"
            )
    return problems


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="compare RECIPES with the record")
    args = p.parse_args(argv)
    if args.check:
        problems = check(json.loads(RECORD.read_text()))
        for line in problems:
            print(f"sweep_recipe: {line}", file=sys.stderr)
        return 1 if problems else 0
    t_all = time.perf_counter()
    record = run()
    tmp = RECORD.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=1) + "\n")
    tmp.replace(RECORD)
    print(f"winner {record['winner']} in {time.perf_counter() - t_all:.0f} s -> {RECORD}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
