"""Chapter 9's blur, chosen on validation data: pretraining with and without it.

Pretrains the chapter's network (neighbour partners, 15 epochs) with the
views' blur on (``blur_p=0.5``) and off, from seeds 0-2, and scores the
features by 1-nearest-neighbour accuracy with 1 and 10 labelled images
per class, on the *training* images that are not labelled (their labels
used only to score): the test half is never looked at. Prints a table;
``ContrastiveViews``'s docstring quotes it. About a minute on 2 CPU cores.

    python tools/sweep_views.py
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.neighbors import KNeighborsClassifier

from resnet_utils.data import load_digits, per_class_indices
from resnet_utils.explain import backbone_features
from resnet_utils.finetune import TransferConfig
from resnet_utils.models import build_model
from resnet_utils.pretrain import ContrastiveViews, PretrainConfig, pretrain_contrastive
from resnet_utils.runtime import seed_everything


def validation_1nn(model, splits, k: int, seed: int) -> float:
    f = backbone_features(model, splits.normalize(splits.train.X))
    f = torch.nn.functional.normalize(f, dim=1).numpy()
    y = splits.train.y.numpy()
    chosen = per_class_indices(splits.train.y, k, seed=seed).numpy()
    rest = np.setdiff1d(np.arange(len(y)), chosen)
    return KNeighborsClassifier(1).fit(f[chosen], y[chosen]).score(f[rest], y[rest])


def main() -> None:
    config = TransferConfig(progress=False)
    print("| blur_p | seed | 1 label | 10 labels |\n|---|---|---|---|")
    means = {}
    for blur_p in (0.0, 0.5):
        scores = []
        for seed in (0, 1, 2):
            splits = load_digits(size=config.image_size, val_size=0, seed=seed)
            seed_everything(seed)
            model = build_model(config.arch, num_classes=10, in_channels=1, width=config.width)
            pretrain_contrastive(
                model,
                splits.train.X,
                PretrainConfig(
                    num_epochs=config.pretrain_epochs,
                    neighbours=config.neighbours,
                    precision=config.precision,
                    seed=seed,
                    progress=False,
                ),
                views=ContrastiveViews(config.image_size, blur_p=blur_p),
                normalize=splits.train.transform,
            )
            row = [validation_1nn(model, splits, k, seed) for k in (1, 10)]
            scores.append(row)
            print(f"| {blur_p} | {seed} | {row[0]:.1%} | {row[1]:.1%} |", flush=True)
        means[blur_p] = np.mean(scores, axis=0)
    for blur_p, m in means.items():
        print(f"blur_p={blur_p}: mean 1-NN {m[0]:.1%} (1 label), {m[1]:.1%} (10 labels)")


if __name__ == "__main__":
    main()
