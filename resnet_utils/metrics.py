"""Predictions and classification metrics.

Chapter 0 uses :func:`accuracy` and :func:`predict`; chapter 6 builds the rest
of its evaluation on them. Metrics that scikit-learn computes well are taken
from scikit-learn; the chapters write them by hand first and check they agree.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from .runtime import resolve_device

__all__ = ["accuracy", "predict"]


def _as_numpy(name: str, values) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        return values.detach().cpu().numpy()
    try:
        return np.asarray(values)
    except Exception as err:  # pragma: no cover - unusual objects
        raise TypeError(f"{name} must be array-like, got {type(values).__name__}") from err


def accuracy(y_true, y_pred) -> float:
    """Fraction of ``y_pred`` equal to ``y_true`` (labels; tensors or arrays).

    ``y_pred`` may also be scores of shape ``(N, num_classes)``; their argmax
    is the prediction.
    """
    y_true = _as_numpy("y_true", y_true)
    y_pred = _as_numpy("y_pred", y_pred)
    if y_pred.ndim == 2:
        y_pred = y_pred.argmax(axis=1)
    if y_true.ndim != 1 or y_pred.ndim != 1:
        raise ValueError(f"y_true must be 1-D labels and y_pred 1-D labels or 2-D scores; "
                         f"got shapes {y_true.shape} and {y_pred.shape}")
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true and y_pred must have the same length, got {len(y_true)} and {len(y_pred)}")
    if len(y_true) == 0:
        raise ValueError("y_true is empty: accuracy of no predictions is undefined")
    return float((y_true == y_pred).mean())


@torch.no_grad()
def predict(model: nn.Module, loader: DataLoader, device: str | torch.device = "auto"
            ) -> tuple[np.ndarray, np.ndarray]:
    """True labels ``(N,)`` and class probabilities ``(N, num_classes)`` for ``loader``.

    The model is put in eval mode (batch norm uses its running statistics,
    dropout is off) and gradients are not tracked; its mode is restored after.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(loader, DataLoader):
        raise TypeError(f"loader must be a torch.utils.data.DataLoader, got {type(loader).__name__}")
    device = resolve_device(device)
    was_training = model.training
    model.eval()
    model.to(device)
    labels, probs = [], []
    for X, y in loader:
        logits = model(X.to(device))  # (N, num_classes)
        probs.append(torch.softmax(logits.float(), dim=1).cpu())
        labels.append(y.cpu())
    model.train(was_training)
    return torch.cat(labels).numpy(), torch.cat(probs).numpy()
