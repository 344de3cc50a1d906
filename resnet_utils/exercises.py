"""Instant feedback on exercises: run the student's code on cases with known answers.

Every chapter's exercises end with a check cell such as ``check_conv2d(my_conv2d)``.
A checker calls the student's function or class on small inputs, compares
with a trusted reference (``F.conv2d``, ``F.cross_entropy``, scikit-learn),
and either prints a one-line confirmation or raises ``AssertionError`` with a
hint: which input, what was expected, what came back; never the solution.
An exception inside the student's code becomes such a hint too, instead of a
traceback through the checker.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["check_conv2d", "check_residual_block", "check_cross_entropy", "check_confusion_matrix"]


def _fail(name: str, message: str) -> None:
    """Stop with the hint for the student (no traceback from the checker's own code)."""
    raise AssertionError(f"{name}: {message}") from None


def _call(name: str, fn: Callable, args: tuple, kwargs: dict, description: str) -> Any:
    """Call the student's code; turn an exception inside it into feedback."""
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        _fail(name, "not implemented yet: replace the `raise NotImplementedError` with your code")
    except Exception as err:  # noqa: BLE001 - any student error becomes a hint
        _fail(name, f"your code raised {type(err).__name__}: {err} (when called with {description})")


def _ok(name: str, what: str) -> None:
    print(f"\u2713 {name}: {what}")


def _check_callable(name: str, fn: Any, kind: str = "function") -> None:
    if not callable(fn):
        _fail(name, f"expected your {kind}, got {type(fn).__name__} {fn!r}")


def _summary(t: torch.Tensor) -> str:
    t = torch.as_tensor(t)
    if t.numel() <= 6:
        return f"{t.detach().flatten().tolist()}"
    return f"shape {tuple(t.shape)}, mean {t.float().mean():.4g}, first values {t.detach().flatten()[:3].tolist()}"


def check_conv2d(fn: Callable) -> None:
    """``fn(input, weight, bias=None, stride=1, padding=0)`` must equal ``F.conv2d``.

    Cases: single and multi-channel inputs, square and asymmetric kernels,
    strides 1-3, paddings 0-2, with and without bias.
    """
    name = "check_conv2d"
    _check_callable(name, fn)
    g = torch.Generator().manual_seed(0)
    cases = [((1, 1, 5, 5), (1, 1, 3, 3), 1, 0, False), ((1, 1, 5, 5), (1, 1, 3, 3), 1, 0, True),
             ((2, 3, 7, 6), (4, 3, 3, 3), 1, 1, True), ((1, 2, 8, 8), (3, 2, 2, 3), 1, 0, False),
             ((1, 2, 9, 7), (2, 2, 3, 2), 2, 1, True), ((2, 1, 10, 10), (1, 1, 3, 3), 3, 2, False),
             ((1, 3, 6, 6), (2, 3, 1, 1), 2, 0, True)]
    for x_shape, w_shape, stride, padding, use_bias in cases:
        x = torch.randn(*x_shape, generator=g)
        w = torch.randn(*w_shape, generator=g)
        b = torch.randn(w_shape[0], generator=g) if use_bias else None
        desc = (f"input {x_shape}, weight {w_shape}, {'a bias' if use_bias else 'bias=None'}, "
                f"stride={stride}, padding={padding}")
        expected = F.conv2d(x, w, b, stride=stride, padding=padding)
        got = _call(name, fn, (x, w, b), {"stride": stride, "padding": padding}, desc)
        if not isinstance(got, torch.Tensor):
            _fail(name, f"expected a tensor, got {type(got).__name__} (with {desc})")
        if got.shape != expected.shape:
            _fail(name, f"with {desc}: expected output shape {tuple(expected.shape)}, got {tuple(got.shape)}. "
                        f"Check the output-size formula floor((H + 2p - K) / s) + 1.")
        if not torch.allclose(got.float(), expected, atol=1e-4, rtol=1e-4):
            hint = ""
            if torch.allclose(got.float(), F.conv2d(x, w.flip(-1, -2), b, stride=stride, padding=padding), atol=1e-4):
                hint = " Your result is a true convolution (flipped kernel); frameworks compute cross-correlation."
            elif use_bias and torch.allclose(got.float(), F.conv2d(x, w, None, stride=stride, padding=padding), atol=1e-4):
                hint = " It matches the result without the bias: add bias[o] to output channel o."
            _fail(name, f"with {desc}: values differ from F.conv2d (largest difference "
                        f"{(got.float() - expected).abs().max():.3g}).{hint}")
    _ok(name, f"all {len(cases)} cases agree with F.conv2d")


def check_residual_block(cls: type) -> None:
    """``cls(in_channels, out_channels, stride=1)`` must behave as a residual block.

    Checks the output shape with and without downsampling, that the output
    is non-negative (ReLU after the addition), and that the shortcut is the
    identity when the shape does not change: with every convolution's
    weights set to zero, the block must return its (non-negative) input.
    """
    name = "check_residual_block"
    if not inspect.isclass(cls):
        _fail(name, f"expected your class (not an instance or function), got {type(cls).__name__}")
    torch.manual_seed(0)
    for in_c, out_c, stride, size in [(8, 8, 1, 6), (8, 16, 2, 8), (4, 8, 1, 5), (8, 8, 2, 8)]:
        desc = f"{cls.__name__}({in_c}, {out_c}, stride={stride}) on an input of shape (2, {in_c}, {size}, {size})"
        block = _call(name, cls, (in_c, out_c), {"stride": stride}, f"{cls.__name__}({in_c}, {out_c}, stride={stride})")
        if not isinstance(block, nn.Module):
            _fail(name, f"{cls.__name__} must be an nn.Module subclass")
        block.eval()
        x = torch.randn(2, in_c, size, size)
        with torch.no_grad():
            out = _call(name, block, (x,), {}, desc)
        expected_shape = (2, out_c, -(-size // stride), -(-size // stride))
        if not isinstance(out, torch.Tensor) or tuple(out.shape) != expected_shape:
            shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            _fail(name, f"{desc}: expected output shape {expected_shape}, got {shape}")
        if out.min() < 0:
            _fail(name, f"{desc}: the output has negative values ({out.min():.3g}); "
                        f"apply ReLU after adding the shortcut")
    block = _call(name, cls, (8, 8), {"stride": 1}, f"{cls.__name__}(8, 8, stride=1)").eval()
    with torch.no_grad():
        for m in block.modules():
            if isinstance(m, nn.Conv2d):
                m.weight.zero_()
                if m.bias is not None:
                    m.bias.zero_()
        x = torch.rand(2, 8, 6, 6)  # non-negative, like the output of a previous block
        out = _call(name, block, (x,), {}, f"{cls.__name__}(8, 8) with zeroed convolutions")
    if not torch.allclose(out, x, atol=1e-5):
        _fail(name, f"{cls.__name__}(8, 8, stride=1) with all convolution weights at zero should return its input "
                    f"(the shortcut carries x), but returned {_summary(out)} for an input {_summary(x)}. "
                    f"Is the shortcut the identity when the shape does not change, and is x added back?")
    _ok(name, "shapes with and without downsampling, ReLU after the addition, identity shortcut")


def check_cross_entropy(fn: Callable) -> None:
    """``fn(logits, targets)`` must equal ``F.cross_entropy`` (mean over the batch), also for large logits."""
    name = "check_cross_entropy"
    _check_callable(name, fn)
    g = torch.Generator().manual_seed(0)
    cases = [(torch.randn(4, 3, generator=g), torch.tensor([0, 2, 1, 2]), "a batch of 4, 3 classes"),
             (torch.randn(1, 10, generator=g), torch.tensor([7]), "a batch of 1, 10 classes"),
             (torch.randn(16, 5, generator=g) * 3, torch.randint(0, 5, (16,), generator=g), "a batch of 16, 5 classes"),
             (torch.tensor([[1000.0, 0.0, -1000.0], [0.0, 800.0, 0.0]]), torch.tensor([0, 2]),
              "large logits (1000): exp() overflows unless you subtract the maximum first")]
    for logits, targets, desc in cases:
        expected = F.cross_entropy(logits, targets)
        got = _call(name, fn, (logits.clone(), targets.clone()), {}, desc)
        got_t = torch.as_tensor(got, dtype=torch.float32)
        if got_t.numel() != 1:
            _fail(name, f"with {desc}: expected a single number (the mean loss), got shape {tuple(got_t.shape)}")
        got_v = float(got_t.reshape(()))
        if not np.isfinite(got_v):
            _fail(name, f"with {desc}: got {got_v}, expected {expected:.4f}")
        if abs(got_v - float(expected)) > 1e-4 * max(1.0, abs(float(expected))):
            hint = ""
            if abs(got_v - float(expected) * len(targets)) < 1e-3 and len(targets) > 1:
                hint = " That is the sum over the batch: take the mean."
            _fail(name, f"with {desc}: expected {float(expected):.4f}, got {got_v:.4f}.{hint}")
    _ok(name, f"all {len(cases)} cases agree with F.cross_entropy, large logits included")


def check_confusion_matrix(fn: Callable) -> None:
    """``fn(y_true, y_pred, num_classes)``: counts with rows = true class, columns = predicted class."""
    from sklearn.metrics import confusion_matrix

    name = "check_confusion_matrix"
    _check_callable(name, fn)
    rng = np.random.default_rng(0)
    cases = [(np.array([0, 1, 1, 2]), np.array([0, 2, 1, 2]), 3, "a small example"),
             (np.array([0, 0, 0]), np.array([1, 1, 0]), 2, "two classes"),
             (rng.integers(0, 5, 50), rng.integers(0, 5, 50), 5, "50 random labels, 5 classes"),
             (np.array([0, 1]), np.array([0, 1]), 4, "classes 2 and 3 absent (num_classes=4)")]
    for y_true, y_pred, k, desc in cases:
        expected = confusion_matrix(y_true, y_pred, labels=np.arange(k))
        got = np.asarray(_call(name, fn, (y_true.copy(), y_pred.copy(), k), {},
                               f"{desc}: y_true={y_true.tolist()[:6]}..., y_pred={y_pred.tolist()[:6]}..., num_classes={k}"))
        if got.shape != (k, k):
            _fail(name, f"with {desc}: expected a {k}x{k} matrix, got shape {got.shape}")
        if not np.array_equal(got, expected):
            hint = ""
            if np.array_equal(got.T, expected):
                hint = " It is transposed: rows must be the true class, columns the predicted class."
            elif np.allclose(got.sum(), 1) or np.allclose(got.sum(1)[expected.sum(1) > 0], 1):
                hint = " It looks normalised: count the examples instead."
            _fail(name, f"with {desc}: expected\n{expected}\ngot\n{got}{hint}")
    _ok(name, f"all {len(cases)} cases agree with sklearn.metrics.confusion_matrix")
