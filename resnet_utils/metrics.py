"""Predictions and classification metrics: scores, calibration, uncertainty.

Chapter 0 uses :func:`accuracy` and :func:`predict`; chapter 7 the rest.
Metrics that scikit-learn computes well are taken from scikit-learn; the
chapter writes them by hand first and checks that the two agree. Calibration
follows Guo et al. (2017), "On Calibration of Modern Neural Networks"
(expected calibration error, temperature scaling).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from ._checks import check
from .runtime import eval_mode, resolve_device

__all__ = [
    "accuracy",
    "predict",
    "labels_and_probs",
    "classification_metrics",
    "reliability_curve",
    "expected_calibration_error",
    "fit_temperature",
    "apply_temperature",
    "bootstrap_ci",
]


def _as_numpy(name: str, values) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        return values.detach().cpu().numpy()
    return np.asarray(values)


def accuracy(y_true, y_pred) -> float:
    """Fraction of ``y_pred`` equal to ``y_true`` (labels; tensors or arrays).

    ``y_pred`` may also be scores of shape ``(N, num_classes)``; their argmax
    is the prediction.
    """
    y_true = _as_numpy("y_true", y_true)
    y_pred = _as_numpy("y_pred", y_pred)
    if y_pred.ndim == 2:
        y_pred = y_pred.argmax(axis=1)
    if y_true.ndim != 1 or y_pred.ndim != 1 or len(y_true) != len(y_pred) or not len(y_true):
        raise ValueError(
            f"y_true must be 1-D labels and y_pred 1-D labels or 2-D scores, of the same "
            f"length and not empty; got shapes {y_true.shape} and {y_pred.shape}"
        )
    return float((y_true == y_pred).mean())


@torch.no_grad()
def predict(
    model: nn.Module, loader: DataLoader, device: str | torch.device = "auto"
) -> tuple[np.ndarray, np.ndarray]:
    """True labels ``(N,)`` and class probabilities ``(N, num_classes)`` for ``loader``.

    The model is put in eval mode (batch norm uses its running statistics,
    dropout is off) and gradients are not tracked; its mode is restored after.
    """
    check(model=model, loader=loader)
    device = resolve_device(device)
    model.to(device)
    labels, probs = [], []
    with eval_mode(model):
        for X, y in loader:
            logits = model(X.to(device))  # (N, num_classes)
            probs.append(torch.softmax(logits.float(), dim=1).cpu())
            labels.append(y.cpu())
    return torch.cat(labels).numpy(), torch.cat(probs).numpy()


def labels_and_probs(y_true, y_prob) -> tuple[np.ndarray, np.ndarray]:
    """``y_true`` as integer labels ``(N,)`` and ``y_prob`` as probabilities ``(N, C)``, checked.

    What every metric of probabilities (and the threshold explorer) accepts:
    arrays or tensors, ``C >= 2`` columns in [0, 1], labels in ``0..C-1``.
    """
    y_true = _as_numpy("y_true", y_true)
    y_prob = _as_numpy("y_prob", y_prob).astype(np.float64)
    shapes = (y_true.ndim, y_prob.ndim, len(y_prob) - len(y_true), len(y_true) > 0)
    if shapes != (1, 2, 0, True) or y_prob.shape[1] < 2:
        raise ValueError(
            f"y_true must be 1-D labels and y_prob 2-D (N, num_classes) class probabilities "
            f"with at least 2 columns, of the same length and not empty; got shapes "
            f"{y_true.shape} and {y_prob.shape}"
        )
    if not np.issubdtype(y_true.dtype, np.integer):
        if not np.all(np.equal(np.mod(y_true, 1), 0)):
            raise ValueError("y_true must hold integer class labels")
        y_true = y_true.astype(np.int64)
    if y_true.min() < 0 or y_true.max() >= y_prob.shape[1]:
        raise ValueError(
            f"y_true holds labels outside the {y_prob.shape[1]} probability columns "
            f"(found {int(y_true.min())}..{int(y_true.max())}, "
            f"expected 0..{y_prob.shape[1] - 1})"
        )
    if not np.all(np.isfinite(y_prob)) or y_prob.min() < 0 or y_prob.max() > 1:
        raise ValueError(
            "y_prob must hold probabilities in [0, 1] (apply softmax to logits first)"
        )
    return y_true, y_prob


def classification_metrics(y_true, y_prob) -> dict:
    """The standard scores of a classifier from labels and class probabilities.

    Returns a dict with ``accuracy``; macro-averaged ``precision``,
    ``recall``, ``f1`` (every class weighs the same) and their ``_micro``
    and ``_weighted`` variants; ``per_class_precision``/``recall``/``f1``;
    ``confusion_matrix`` (rows: true class, columns: predicted class);
    ``roc_auc`` (macro one-vs-rest, or the plain binary AUC for two classes)
    and ``average_precision`` (macro one-vs-rest). Predictions are the argmax.
    """
    from sklearn import metrics as skm
    from sklearn.preprocessing import label_binarize

    y_true, y_prob = labels_and_probs(y_true, y_prob)
    k = y_prob.shape[1]
    labels = np.arange(k)
    y_pred = y_prob.argmax(axis=1)
    out: dict = {"accuracy": float(skm.accuracy_score(y_true, y_pred))}
    for avg in ("macro", "micro", "weighted"):
        p, r, f, _ = skm.precision_recall_fscore_support(
            y_true, y_pred, labels=labels, average=avg, zero_division=0
        )
        suffix = "" if avg == "macro" else f"_{avg}"
        out.update(
            {f"precision{suffix}": float(p), f"recall{suffix}": float(r), f"f1{suffix}": float(f)}
        )
    p, r, f, support = skm.precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    out.update(per_class_precision=p, per_class_recall=r, per_class_f1=f, support=support)
    out["confusion_matrix"] = skm.confusion_matrix(y_true, y_pred, labels=labels)
    present = np.unique(y_true)
    if k == 2:
        out["roc_auc"] = (
            float(skm.roc_auc_score(y_true, y_prob[:, 1])) if len(present) == 2 else float("nan")
        )
        out["average_precision"] = float(skm.average_precision_score(y_true, y_prob[:, 1]))
    else:
        onehot = label_binarize(y_true, classes=labels)
        # AUC needs both outcomes
        cols = [c for c in labels if 0 < onehot[:, c].sum() < len(y_true)]

        def mean_over_cols(score) -> float:
            if not cols:
                return float("nan")
            return float(np.mean([score(onehot[:, c], y_prob[:, c]) for c in cols]))

        out["roc_auc"] = mean_over_cols(skm.roc_auc_score)
        out["average_precision"] = mean_over_cols(skm.average_precision_score)
    return out


def reliability_curve(
    y_true, y_prob, n_bins: int = 10
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean confidence, accuracy and count of the predictions in each confidence bin.

    Confidence is the probability of the predicted class; bins split [0, 1]
    into ``n_bins`` equal intervals. Empty bins have NaN confidence/accuracy.
    """
    y_true, y_prob = labels_and_probs(y_true, y_prob)
    check(n_bins=n_bins)
    confidence = y_prob.max(axis=1)
    correct = (y_prob.argmax(axis=1) == y_true).astype(float)
    # confidence 1.0 goes to the last bin
    bins = np.minimum((confidence * n_bins).astype(int), n_bins - 1)
    count = np.bincount(bins, minlength=n_bins)
    with np.errstate(invalid="ignore"):
        conf = np.bincount(bins, weights=confidence, minlength=n_bins) / count
        acc = np.bincount(bins, weights=correct, minlength=n_bins) / count
    return conf, acc, count


def expected_calibration_error(y_true, y_prob, n_bins: int = 15) -> float:
    """ECE: the count-weighted mean gap between confidence and accuracy over the bins."""
    conf, acc, count = reliability_curve(y_true, y_prob, n_bins)
    used = count > 0
    return float(np.sum(count[used] * np.abs(acc[used] - conf[used])) / count.sum())


def apply_temperature(y_prob, temperature: float) -> np.ndarray:
    """Rescale probabilities as ``softmax(log(p) / T)``; equal to ``softmax(logits / T)``."""
    check(temperature=temperature)
    y_prob = _as_numpy("y_prob", y_prob).astype(np.float64)
    logp = np.log(np.clip(y_prob, 1e-300, 1.0)) / temperature
    logp -= logp.max(axis=1, keepdims=True)
    p = np.exp(logp)
    return p / p.sum(axis=1, keepdims=True)


def fit_temperature(y_true, y_prob) -> float:
    """The temperature ``T`` that minimises the negative log-likelihood of ``y_true``.

    Fit it on the validation split, then apply it to the test predictions
    with :func:`apply_temperature`. ``T > 1`` softens overconfident
    predictions; the argmax, and so the accuracy, does not change.
    """
    from scipy.optimize import minimize_scalar

    y_true, y_prob = labels_and_probs(y_true, y_prob)
    logp = np.log(np.clip(y_prob, 1e-300, 1.0))

    def nll(log_t: float) -> float:
        z = logp / np.exp(log_t)
        z = z - z.max(axis=1, keepdims=True)
        return float(np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(y_true)), y_true]))

    result = minimize_scalar(
        nll, bounds=(np.log(0.05), np.log(20.0)), method="bounded", options={"xatol": 1e-6}
    )
    return float(np.exp(result.x))


def bootstrap_ci(
    y_true, y_pred, metric=accuracy, n_boot: int = 2000, level: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of ``metric(y_true, y_pred)``.

    Resamples the test examples with replacement ``n_boot`` times, keeping
    each label with its prediction (a paired bootstrap); the interval holds
    the middle ``level`` of the resampled scores. The resampling is
    ``scipy.stats.bootstrap`` (percentile method) over the example indices,
    which is how scipy pairs samples and lets ``y_pred`` be 2-D scores.
    """
    from scipy.stats import bootstrap

    y_true, y_pred = _as_numpy("y_true", y_true), _as_numpy("y_pred", y_pred)
    if len(y_true) != len(y_pred) or len(y_true) == 0:
        raise ValueError(
            f"y_true and y_pred must be non-empty and of the same length, "
            f"got {len(y_true)} and {len(y_pred)}"
        )
    check(metric=metric, n_boot=n_boot, level=level, seed=seed)
    result = bootstrap(
        (np.arange(len(y_true)),),
        lambda idx: metric(y_true[idx], y_pred[idx]),
        n_resamples=n_boot,
        vectorized=False,
        confidence_level=level,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)
