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

import copy
import functools
import inspect
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "check_conv2d",
    "check_residual_block",
    "check_cross_entropy",
    "check_confusion_matrix",
    "check_grad_cam",
    "check_group_norm",
    "check_nesterov_step",
    "check_flip_safe",
    "check_occlusion_map",
]


def _checker(body: Callable[..., str]) -> Callable[..., None]:
    """A checker: ``body`` returns what it confirmed (printed after a tick); its hints
    (``AssertionError``) get its name in front and no traceback from its own code."""

    @functools.wraps(body)
    def run(*args: Any, **kwargs: Any) -> None:
        try:
            confirmed = body(*args, **kwargs)
        except AssertionError as hint:
            raise AssertionError(f"{body.__name__}: {hint}") from None
        print(f"\u2713 {body.__name__}: {confirmed}")

    run.__signature__ = inspect.signature(body).replace(return_annotation=None)
    return run


def _fail(message: str) -> None:
    raise AssertionError(message)


def _call(fn: Any, description: str, /, *args: Any, **kwargs: Any) -> Any:
    """Call the student's code; turn an exception inside it into a hint."""
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        _fail("not implemented yet: replace the `raise NotImplementedError` with your code")
    except Exception as err:  # noqa: BLE001 - any student error becomes a hint
        if not callable(fn):
            _fail(f"expected your function, got {type(fn).__name__} {fn!r}")
        _fail(f"your code raised {type(err).__name__}: {err} (when called with {description})")


def _summary(t: torch.Tensor) -> str:
    t = torch.as_tensor(t).detach()
    if t.numel() <= 6:
        return f"{t.flatten().tolist()}"
    first = t.flatten()[:3].tolist()
    return f"shape {tuple(t.shape)}, mean {t.float().mean():.4g}, first values {first}"


def _compare(
    got: Any,
    expected: torch.Tensor,
    desc: str,
    *,
    atol: float = 1e-4,
    shape_hint: Callable[[torch.Tensor], str] = lambda got: "",
) -> tuple[bool, torch.Tensor]:
    """The student's ``got`` against ``expected``, the part every tensor checker shares.

    Fails with a hint when ``got`` is not a tensor or has another shape
    (``shape_hint(got)`` may add what the shape suggests); otherwise returns
    whether the values agree and ``got`` as a float tensor on the CPU, for
    the checker's own hints.
    """
    if not isinstance(got, torch.Tensor):
        _fail(f"expected a tensor, got {type(got).__name__} (with {desc})")
    got = got.detach().float().cpu()
    if got.shape != expected.shape:
        _fail(
            f"with {desc}: expected shape {tuple(expected.shape)}, got {tuple(got.shape)}."
            + shape_hint(got)
        )
    return torch.allclose(got, expected, rtol=1e-4, atol=atol), got


def _differ(desc: str, got: torch.Tensor, expected: torch.Tensor, reference: str, hint: str):
    """Fail: the values differ from ``reference``'s (a summary of each, the largest difference)."""
    _fail(
        f"with {desc}: values differ from {reference}: expected {_summary(expected)}, got "
        f"{_summary(got)} (largest difference {(got - expected).abs().max():.3g}).{hint}"
    )


@_checker
def check_conv2d(fn: Callable) -> str:
    """``fn(input, weight, bias=None, stride=1, padding=0)`` must equal ``F.conv2d``.

    Cases: single and multi-channel inputs, square and asymmetric kernels,
    strides 1-3, paddings 0-2, with and without bias.
    """
    g = torch.Generator().manual_seed(0)
    cases = [
        ((1, 1, 5, 5), (1, 1, 3, 3), 1, 0, False),
        ((1, 1, 5, 5), (1, 1, 3, 3), 1, 0, True),
        ((2, 3, 7, 6), (4, 3, 3, 3), 1, 1, True),
        ((1, 2, 8, 8), (3, 2, 2, 3), 1, 0, False),
        ((1, 2, 9, 7), (2, 2, 3, 2), 2, 1, True),
        ((2, 1, 10, 10), (1, 1, 3, 3), 3, 2, False),
        ((1, 3, 6, 6), (2, 3, 1, 1), 2, 0, True),
    ]
    formula = " Check the output-size formula floor((H + 2p - K) / s) + 1."
    for x_shape, w_shape, stride, padding, use_bias in cases:
        x = torch.randn(*x_shape, generator=g)
        w = torch.randn(*w_shape, generator=g)
        b = torch.randn(w_shape[0], generator=g) if use_bias else None
        desc = (
            f"input {x_shape}, weight {w_shape}, {'a bias' if use_bias else 'bias=None'}, "
            f"stride={stride}, padding={padding}"
        )
        conv = lambda w, b: F.conv2d(x, w, b, stride=stride, padding=padding)
        expected = conv(w, b)
        got = _call(fn, desc, x, w, b, stride=stride, padding=padding)
        same, got = _compare(got, expected, desc, shape_hint=lambda got: formula)
        if same:
            continue
        hint = ""
        if torch.allclose(got, conv(w.flip(-1, -2), b), atol=1e-4):
            hint = (
                " Your result is a true convolution (flipped kernel); frameworks compute "
                "cross-correlation."
            )
        elif use_bias and torch.allclose(got, conv(w, None), atol=1e-4):
            hint = " It matches the result without the bias: add bias[o] to output channel o."
        _differ(desc, got, expected, "F.conv2d", hint)
    return f"all {len(cases)} cases agree with F.conv2d"


@_checker
def check_residual_block(cls: type) -> str:
    """``cls(in_channels, out_channels, stride=1)`` must behave as a residual block.

    Checks the output shape with and without downsampling, that the output
    is non-negative (ReLU after the addition), and that the shortcut is the
    identity when the shape does not change: with every convolution's
    weights set to zero, the block must return its (non-negative) input.
    """
    if not inspect.isclass(cls):
        _fail(f"expected your class (not an instance or function), got {type(cls).__name__}")
    torch.manual_seed(0)
    for in_c, out_c, stride, size in [(8, 8, 1, 6), (8, 16, 2, 8), (4, 8, 1, 5), (8, 8, 2, 8)]:
        made = f"{cls.__name__}({in_c}, {out_c}, stride={stride})"
        desc = f"{made} on an input of shape (2, {in_c}, {size}, {size})"
        block = _call(cls, made, in_c, out_c, stride=stride)
        if not isinstance(block, nn.Module):
            _fail(f"{cls.__name__} must be an nn.Module subclass")
        block.eval()
        with torch.no_grad():
            out = _call(block, desc, torch.randn(2, in_c, size, size))
        expected_shape = (2, out_c, -(-size // stride), -(-size // stride))
        if not isinstance(out, torch.Tensor) or tuple(out.shape) != expected_shape:
            shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            _fail(f"{desc}: expected output shape {expected_shape}, got {shape}")
        if out.min() < 0:
            _fail(
                f"{desc}: the output has negative values ({out.min():.3g}); "
                "apply ReLU after adding the shortcut"
            )
    block = _call(cls, f"{cls.__name__}(8, 8, stride=1)", 8, 8, stride=1).eval()
    with torch.no_grad():
        for m in block.modules():
            if isinstance(m, nn.Conv2d):
                m.weight.zero_()
                if m.bias is not None:
                    m.bias.zero_()
        x = torch.rand(2, 8, 6, 6)  # non-negative, like the output of a previous block
        out = _call(block, f"{cls.__name__}(8, 8) with zeroed convolutions", x)
    if not torch.allclose(out, x, atol=1e-5):
        _fail(
            f"{cls.__name__}(8, 8, stride=1) with all convolution weights at zero should return "
            f"its input (the shortcut carries x), but returned {_summary(out)} for an input "
            f"{_summary(x)}. Is the shortcut the identity when the shape does not change, and "
            "is x added back?"
        )
    return "shapes with and without downsampling, ReLU after the addition, identity shortcut"


@_checker
def check_cross_entropy(fn: Callable) -> str:
    """``fn(logits, targets)`` must equal ``F.cross_entropy`` (mean over the batch), also for
    large logits."""
    g = torch.Generator().manual_seed(0)
    cases = [
        (torch.randn(4, 3, generator=g), torch.tensor([0, 2, 1, 2]), "a batch of 4, 3 classes"),
        (torch.randn(1, 10, generator=g), torch.tensor([7]), "a batch of 1, 10 classes"),
        (
            torch.randn(16, 5, generator=g) * 3,
            torch.randint(0, 5, (16,), generator=g),
            "a batch of 16, 5 classes",
        ),
        (
            torch.tensor([[1000.0, 0.0, -1000.0], [0.0, 800.0, 0.0]]),
            torch.tensor([0, 2]),
            "large logits (1000): exp() overflows unless you subtract the maximum first",
        ),
    ]
    for logits, targets, desc in cases:
        expected = float(F.cross_entropy(logits, targets))
        got = torch.as_tensor(_call(fn, desc, logits.clone(), targets.clone()), dtype=torch.float)
        if got.numel() != 1:
            _fail(
                f"with {desc}: expected a single number (the mean loss), got shape "
                f"{tuple(got.shape)}"
            )
        got = float(got.reshape(()))
        if not np.isfinite(got):
            _fail(f"with {desc}: got {got}, expected {expected:.4f}")
        if abs(got - expected) > 1e-4 * max(1.0, abs(expected)):
            hint = ""
            if abs(got - expected * len(targets)) < 1e-3 and len(targets) > 1:
                hint = " That is the sum over the batch: take the mean."
            _fail(f"with {desc}: expected {expected:.4f}, got {got:.4f}.{hint}")
    return f"all {len(cases)} cases agree with F.cross_entropy, large logits included"


@_checker
def check_confusion_matrix(fn: Callable) -> str:
    """``fn(y_true, y_pred, num_classes)``: counts with rows = true class, columns = predicted
    class."""
    from sklearn.metrics import confusion_matrix

    rng = np.random.default_rng(0)
    cases = [
        (np.array([0, 1, 1, 2]), np.array([0, 2, 1, 2]), 3, "a small example"),
        (np.array([0, 0, 0]), np.array([1, 1, 0]), 2, "two classes"),
        (rng.integers(0, 5, 50), rng.integers(0, 5, 50), 5, "50 random labels, 5 classes"),
        (np.array([0, 1]), np.array([0, 1]), 4, "classes 2 and 3 absent (num_classes=4)"),
    ]
    for y_true, y_pred, k, desc in cases:
        expected = confusion_matrix(y_true, y_pred, labels=np.arange(k))
        called = (
            f"{desc}: y_true={y_true.tolist()[:6]}..., y_pred={y_pred.tolist()[:6]}..., "
            f"num_classes={k}"
        )
        got = np.asarray(_call(fn, called, y_true.copy(), y_pred.copy(), k))
        if got.shape != (k, k):
            _fail(f"with {desc}: expected a {k}x{k} matrix, got shape {got.shape}")
        if not np.array_equal(got, expected):
            hint = ""
            if np.array_equal(got.T, expected):
                hint = (
                    " It is transposed: rows must be the true class, columns the predicted class."
                )
            elif np.allclose(got.sum(), 1) or np.allclose(got.sum(1)[expected.sum(1) > 0], 1):
                hint = " It looks normalised: count the examples instead."
            _fail(f"with {desc}: expected\n{expected}\ngot\n{got}{hint}")
    return f"all {len(cases)} cases agree with sklearn.metrics.confusion_matrix"


# Grad-CAM done differently in one step (explain.grad_cam's choices): what a mistake gives
_CAM_MISTAKES = [
    ({"pool": "sum"}, " It matches gradients summed over the positions: alpha_k is their mean."),
    ({"mode": "nearest"}, " It matches nearest-neighbour upsampling: use mode='bilinear'."),
    (
        {"score": "softmax"},
        " It matches the gradient of the softmax probability: use the class score (logit) itself.",
    ),
    (
        {"pool": "none"},
        " It matches gradient x activation at each position: average the gradient over "
        "positions first, one weight per channel.",
    ),
]


def _cam_shape_hint(got: torch.Tensor) -> str:
    if got.ndim == 4 and got.shape[1] == 1:
        return " Drop the channel dimension: return cam[:, 0]."
    if got.ndim == 3:
        return (
            " Upsample the map to the input's size with "
            "F.interpolate(cam, size=X.shape[-2:], mode='bilinear')."
        )
    return ""


@_checker
def check_grad_cam(fn: Callable) -> str:
    """``fn(model, layer, X, target)`` must return Grad-CAM maps ``(N, H, W)``, as ``grad_cam``.

    ``layer`` is a module of ``model`` (e.g. ``model.layer3``), ``X`` images
    ``(N, C, H, W)``, ``target`` class indices ``(N,)``; the maps use the
    class score (logit), the spatial mean of its gradient per channel, a ReLU,
    and bilinear upsampling to ``H x W``. Cases: the last and middle stages
    of small CIFAR ResNets, one and three input channels, several sizes.
    """
    from ..explain import grad_cam
    from ..models import cifar_resnet

    g = torch.Generator().manual_seed(0)
    cases = [
        (1, "layer3", (3, 1, 8, 8), [0, 3, 7]),
        (1, "layer2", (2, 1, 12, 12), [1, 1]),
        (3, "layer3", (2, 3, 16, 16), [9, 4]),
        (3, "layer2.0", (1, 3, 10, 10), [5]),
    ]
    for in_c, layer_name, x_shape, target_list in cases:
        torch.manual_seed(0)
        model = cifar_resnet(8, in_channels=in_c, width=4).eval()
        with torch.no_grad():  # batch-norm statistics as after training, not the defaults
            for m in model.modules():
                if isinstance(m, nn.BatchNorm2d):
                    m.running_mean.uniform_(-0.2, 0.2, generator=g)
                    m.running_var.uniform_(0.5, 1.5, generator=g)
        X = torch.randn(*x_shape, generator=g)
        target = torch.tensor(target_list)
        layer = dict(model.named_modules())[layer_name]
        expected = grad_cam(model, layer, X, target)
        desc = f"X of shape {x_shape}, layer model.{layer_name}, target {target_list}"
        student = copy.deepcopy(model)
        student_layer = dict(student.named_modules())[layer_name]
        got = _call(fn, desc, student, student_layer, X.clone(), target.clone())
        same, got = _compare(got, expected, desc, atol=1e-6, shape_hint=_cam_shape_hint)
        if same:
            continue
        hint = ""
        if got.min() < -1e-6:
            hint = " Some values are negative: apply ReLU to the weighted sum of the channels."
        else:
            for variant, text in _CAM_MISTAKES:
                if torch.allclose(got, grad_cam(model, layer, X, target, **variant), 1e-4, 1e-6):
                    hint = text
                    break
            else:
                predicted = model(X).argmax(1)
                if not torch.equal(predicted, target) and torch.allclose(
                    got, grad_cam(model, layer, X, predicted), rtol=1e-4, atol=1e-6
                ):
                    hint = " It matches the predicted class: use the class in `target`."
        _differ(desc, got, expected, "resnet_utils.explain.grad_cam", hint)
    return f"all {len(cases)} cases agree with resnet_utils.explain.grad_cam"


@_checker
def check_group_norm(fn: Callable) -> str:
    """``fn(x, num_groups, gamma, beta, eps=1e-5)`` must equal ``F.group_norm`` (chapter 3).

    Cases: several groups, one group (layer norm), one channel per group
    (instance norm), a batch of one image, large offsets, non-trivial
    ``gamma`` and ``beta``. Hints name the usual mistakes: statistics taken
    over the batch (that is batch norm), the unbiased variance, a missing
    scale and shift.
    """
    g = torch.Generator().manual_seed(0)
    cases = [
        ((2, 4, 3, 3), 2),
        ((1, 6, 4, 4), 3),
        ((3, 8, 2, 2), 1),
        ((2, 4, 5, 5), 4),
        ((4, 6, 3, 3), 2),
    ]
    for shape, groups in cases:
        x = 3 * torch.randn(*shape, generator=g) + 5 * torch.randn(shape[0], 1, 1, 1, generator=g)
        c = shape[1]
        gamma = 1 + 0.5 * torch.randn(c, generator=g)
        beta = torch.randn(c, generator=g)
        desc = f"x of shape {shape}, num_groups={groups}, gamma and beta of shape ({c},)"
        expected = F.group_norm(x, groups, gamma, beta, eps=1e-5)
        got = _call(fn, desc, x.clone(), groups, gamma.clone(), beta.clone(), eps=1e-5)
        same, got = _compare(got, expected, desc)
        if not same:
            hint = _group_norm_hint(got, x, groups, gamma, beta)
            _differ(desc, got, expected, "F.group_norm", hint)
    return f"all {len(cases)} cases agree with F.group_norm"


def _group_norm_hint(
    got: torch.Tensor, x: torch.Tensor, groups: int, gamma: torch.Tensor, beta: torch.Tensor
) -> str:
    """Which plausible mistake ``got`` matches, as a hint ('' when none does)."""
    n, c = x.shape[:2]
    affine = (gamma[:, None, None], beta[:, None, None])

    def normalise(t: torch.Tensor, unbiased: bool) -> torch.Tensor:  # over the last dim
        return (t - t.mean(-1, keepdim=True)) / (
            t.var(-1, unbiased=unbiased, keepdim=True) + 1e-5
        ).sqrt()

    unbiased = normalise(x.reshape(n, groups, -1), True).reshape(x.shape) * affine[0] + affine[1]
    per_channel = x.transpose(0, 1).reshape(c, -1)  # batch norm: over the batch, per channel
    batch_norm = normalise(per_channel, False).reshape(c, n, *x.shape[2:]).transpose(0, 1)
    batch_norm = batch_norm * affine[0] + affine[1]
    if torch.allclose(got, unbiased, atol=1e-4, rtol=1e-4):
        return (
            " It matches the unbiased variance (divided by M - 1): normalise with the "
            "biased one, divided by the number of values M."
        )
    if torch.allclose(got, F.group_norm(x, groups, eps=1e-5), atol=1e-4, rtol=1e-4):
        return " It matches the result without gamma and beta: scale and shift each channel."
    if n > 1 and torch.allclose(got, batch_norm, atol=1e-4, rtol=1e-4):
        return (
            " It matches batch norm, whose statistics mix the images of the batch: group norm "
            "normalises each image with its own statistics, group by group."
        )
    return ""


@_checker
def check_nesterov_step(fn: Callable) -> str:
    """``fn(params, grads, velocities, lr, momentum, weight_decay)`` is one step of SGD with
    Nesterov momentum in PyTorch's form; it returns ``(new_params, new_velocities)``.

    Compared with ``torch.optim.SGD(..., nesterov=True)`` over three steps on random tensors.
    """
    g = torch.Generator().manual_seed(0)
    lr, momentum, weight_decay = 0.1, 0.9, 5e-4
    shapes = [(3, 2), (2,)]
    params = [torch.randn(s, generator=g) for s in shapes]
    grads_per_step = [[torch.randn(s, generator=g) for s in shapes] for _ in range(3)]
    reference = [p.clone().requires_grad_() for p in params]
    optimizer = torch.optim.SGD(
        reference, lr=lr, momentum=momentum, nesterov=True, weight_decay=weight_decay
    )
    mine = [p.clone() for p in params]
    velocities = [torch.zeros_like(p) for p in params]
    for step, grads in enumerate(grads_per_step, start=1):
        for p, grad in zip(reference, grads):
            p.grad = grad.clone()
        optimizer.step()
        desc = (
            f"step {step} with lr={lr}, momentum={momentum}, weight_decay={weight_decay} "
            "(velocities start at zero)"
        )
        clones = [[t.clone() for t in ts] for ts in (mine, grads, velocities)]
        out = _call(fn, desc, *clones, lr, momentum, weight_decay)
        if not (isinstance(out, tuple) and len(out) == 2):
            _fail(f"expected (new_params, new_velocities), got {type(out).__name__}")
        new_params, new_velocities = [list(x) for x in out]
        if len(new_params) != len(params) or len(new_velocities) != len(params):
            _fail(f"expected {len(params)} parameters and {len(params)} velocities back")
        for i, (got, want) in enumerate(zip(new_params, reference)):
            got, want = torch.as_tensor(got), want.detach()
            if got.shape != want.shape or not torch.allclose(got, want, atol=1e-6):
                hint = ""
                d = grads[i] + weight_decay * mine[i]
                classical = mine[i] - lr * (momentum * velocities[i] + d)
                if got.shape == want.shape and torch.allclose(got, classical, atol=1e-6):
                    hint = (
                        " That is classical momentum (w - lr * v); Nesterov steps with "
                        "d + momentum * v instead."
                    )
                _fail(
                    f"{desc}: parameter {i} expected {_summary(want)}, got {_summary(got)}.{hint}"
                )
        mine = [torch.as_tensor(p).clone() for p in new_params]
        velocities = [torch.as_tensor(v).clone() for v in new_velocities]
    return "three steps agree with torch.optim.SGD(nesterov=True)"


@_checker
def check_flip_safe(
    answer: Any, predict: Callable, X: torch.Tensor, y: Any, dim: int = -2, threshold: float = 0.8
) -> str:
    """``answer`` lists the digits that ``predict`` still recognises (at least ``threshold``
    of the time) after flipping the images ``X`` along ``dim`` (-2: vertically)."""
    if answer is Ellipsis or answer is None:
        _fail("not answered yet: set the variable to a list of digits")
    try:
        chosen = {int(c) for c in answer}
    except (TypeError, ValueError):
        _fail(f"expected a list of digits 0-9, got {answer!r}")
    predicted = np.asarray(predict(X.flip(dim)))
    y = np.asarray(y)
    truth = {c for c in range(10) if (predicted[y == c] == c).mean() >= threshold}
    missing, extra = truth - chosen, chosen - truth
    parts = [f"{len(missing)} recognised digit(s) missing"] if missing else []
    if extra:
        parts.append(
            f"{len(extra)} digit(s) that are recognised less than {threshold:.0%} of the time"
        )
    if parts:
        _fail("; ".join(parts) + ". Measure each digit's accuracy on the flipped images.")
    return f"the {len(truth)} digits recognised after the flip"


def _occlusion(
    model: nn.Module,
    x: torch.Tensor,
    target: int,
    patch: int,
    fill: float,
    channels: slice = slice(None),
) -> torch.Tensor:
    """The reference occlusion map (``channels``: which channels the square blanks)."""
    rows, cols = x.shape[-2] - patch + 1, x.shape[-1] - patch + 1
    batch = x.repeat(rows * cols, 1, 1, 1)  # (P, C, H, W)
    for n in range(rows * cols):
        i, j = divmod(n, cols)
        batch[n, channels, i : i + patch, j : j + patch] = fill
    with torch.no_grad():
        return (model(x[None])[0, target] - model(batch)[:, target]).view(rows, cols)


@_checker
def check_occlusion_map(fn: Callable) -> str:
    """``fn(model, x, target, patch=4, fill=0.0)``: the drop of the target's score per square.

    For every top-left corner ``(i, j)`` (stride 1), the square ``x[:, i:i+patch,
    j:j+patch]`` of every channel is set to ``fill``, and the map holds
    ``score(x) - score(blanked x)`` of class ``target``: shape
    ``(H - patch + 1, W - patch + 1)``. Cases: small CIFAR ResNets in eval
    mode, one and three channels, square and oblong images, several patches and fills.
    """
    from ..models import cifar_resnet

    g = torch.Generator().manual_seed(0)
    cases = [((1, 8, 8), 3, 0.0, 4), ((1, 10, 9), 4, -0.5, 0), ((3, 8, 8), 2, 0.3, 7)]
    corners = " One value per top-left corner (stride 1)."
    for shape, patch, fill, target in cases:
        torch.manual_seed(0)
        model = cifar_resnet(8, in_channels=shape[0], width=4).eval()
        x = torch.randn(*shape, generator=g)
        expected = _occlusion(model, x, target, patch, fill)
        desc = f"x of shape {shape}, target={target}, patch={patch}, fill={fill}"
        got = _call(fn, desc, copy.deepcopy(model), x.clone(), target, patch=patch, fill=fill)
        same, got = _compare(got, expected, desc, atol=1e-5, shape_hint=lambda g: corners)
        if same:
            continue
        like = lambda other: torch.allclose(got, other, rtol=1e-4, atol=1e-5)
        with torch.no_grad():
            full = model(x[None])[0, target]
        hint = ""
        if like(-expected):
            hint = " The sign is flipped: the drop is score(x) - score(blanked x)."
        elif like(full - expected):
            hint = " These are the blanked images' scores: return the drop from score(x)."
        elif fill != 0 and like(_occlusion(model, x, target, patch, 0.0)):
            hint = " It matches fill=0: set the square to `fill`."
        elif shape[0] > 1 and like(_occlusion(model, x, target, patch, fill, slice(0, 1))):
            hint = " Only the first channel was blanked: blank the square in every channel."
        _differ(desc, got, expected, "the occlusion map computed here", hint)
    return f"all {len(cases)} cases agree with the occlusion maps computed here"
