"""Figures used across the chapters: training curves and image grids.

Every function draws with matplotlib, returns the ``Figure`` (so notebooks can
save or test it) and never calls ``plt.show()`` itself.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from .train import History

__all__ = ["plot_history", "show_images"]


def plot_history(history: History | dict, title: str | None = None) -> Figure:
    """Loss (left) and accuracy (right) per epoch, training and validation."""
    if isinstance(history, dict):
        history = History.from_dict(history)
    if not isinstance(history, History):
        raise TypeError(f"history must be a History (returned by fit) or its dict, got {type(history).__name__}")
    if history.num_epochs == 0:
        raise ValueError("history is empty: train for at least one epoch first")
    epochs = np.arange(1, history.num_epochs + 1)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.2), layout="constrained")
    ax_loss.plot(epochs, history.train_loss, label="train")
    ax_acc.plot(epochs, history.train_acc, label="train")
    if not np.all(np.isnan(history.val_loss)):
        ax_loss.plot(epochs, history.val_loss, label="validation")
        ax_acc.plot(epochs, history.val_acc, label="validation")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="accuracy", ylim=(0, 1.01))
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    return fig


def show_images(X: torch.Tensor | np.ndarray, labels: Sequence | None = None, ncols: int = 10,
                cmap: str = "gray_r", size: float = 1.0, title: str | None = None) -> Figure:
    """A grid of images ``X`` (N, C, H, W) or (N, H, W), each titled by ``labels``."""
    X = X.detach().cpu().numpy() if isinstance(X, torch.Tensor) else np.asarray(X)
    if X.ndim == 4:
        X = X.transpose(0, 2, 3, 1)  # (N, H, W, C) for imshow
        if X.shape[-1] == 1:
            X = X[..., 0]
    if X.ndim not in (3, 4) or len(X) == 0:
        raise ValueError(f"X must be a non-empty batch of images (N, C, H, W) or (N, H, W), got shape {X.shape}")
    if labels is not None and len(labels) != len(X):
        raise ValueError(f"labels must have one entry per image: {len(labels)} labels for {len(X)} images")
    if not isinstance(ncols, int) or ncols < 1:
        raise ValueError(f"ncols must be a positive int, got {ncols!r}")
    ncols = min(ncols, len(X))
    nrows = int(np.ceil(len(X) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows * 1.15),
                             squeeze=False, layout="constrained")
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= len(X):
            continue
        img = X[i]
        if img.ndim == 3:  # colour: rescale each image to [0, 1] for display
            img = (img - img.min()) / max(img.max() - img.min(), 1e-8)
        ax.imshow(img, cmap=cmap if img.ndim == 2 else None)
        if labels is not None:
            ax.set_title(str(labels[i]), fontsize=9)
    if title:
        fig.suptitle(title)
    return fig
