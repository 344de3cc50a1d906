"""Validation at the public boundary, from rules declared once per argument name.

:data:`RULES` says, for every argument and config field the package's public
functions share (``lr``, ``momentum``, ``seed``, ``num_epochs``, ``model``,
...), what a valid value is; :func:`check` applies them to a function's
arguments and :func:`check_fields` to every field of a config dataclass. So
``seed`` means the same in ``TrainConfig``, ``DDPConfig``, ``load_digits``
and the command lines, and a learner's mistake produces a message that names
the argument, the value received and what was expected, instead of a
traceback from deep inside torch. Internals (blocks inside a network, the
evaluation inside ``fit``) trust their callers and check nothing. :func:`shown` is how
every message shows a value, also in the errors a function raises itself about
arguments that relate to each other (a class index and the number of classes).
"""

from __future__ import annotations

import functools
import math
import numbers
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import fields
from typing import Any

import torch
from torch.utils.data import DataLoader

__all__ = ["RULES", "PRECISIONS", "SCHEDULES", "check", "check_as", "check_fields", "shown"]

# The precisions every function and command line accepts. "auto": bf16 where it is fast, else fp32.
PRECISIONS = ("fp32", "bf16", "fp16", "auto")
# fit's learning-rate schedules: one-cycle, cosine, step (x0.1 at 50 % and 75 %), constant
SCHEDULES = ("onecycle", "cosine", "step", "constant")


def shown(value: Any) -> str:
    """``value`` as a message shows it: a tensor by its shape and dtype, anything long by type."""
    if isinstance(value, torch.Tensor):
        return f"a {value.ndim}-D {str(value.dtype).removeprefix('torch.')} tensor of shape " + (
            f"{tuple(value.shape)}"
        )
    text = repr(value)
    return text if len(text) <= 80 and " at 0x" not in text else f"a {type(value).__name__}"


class Rule:
    """A valid value: an instance of ``kind`` that passes ``test``, ``what`` in words.

    ``rule(name, value)`` returns ``value`` (through ``cast``, e.g. ``int``) or
    raises ``TypeError`` (wrong type; a bool is not a number) or ``error``
    (``test`` fails; ``ValueError`` unless told), with one message: ``"{name} must be {what}, got ..."``.
    """

    def __init__(self, what: str, kind: Any = object, test=None, cast=None, error=ValueError):
        self.what, self.kind, self.test, self.cast, self.error = what, kind, test, cast, error

    def __call__(self, name: str, value: Any) -> Any:
        numeric = self.kind in (numbers.Integral, numbers.Real)
        wrong_type = not isinstance(value, self.kind) or (numeric and isinstance(value, bool))
        if wrong_type or not (self.test is None or self.test(value)):
            error = TypeError if wrong_type else self.error
            raise error(f"{name} must be {self.what}, got {shown(value)}")
        return value if self.cast is None else self.cast(value)


def _bounds(low: Any, high: Any, open_low: bool = False, open_high: bool = False) -> str:
    if low is not None and high is not None:
        return f" in {'(' if open_low else '['}{low}, {high}{')' if open_high else ']'}"
    if low is not None:
        return f" {'>' if open_low else '>='} {low}"
    return "" if high is None else f" {'<' if open_high else '<='} {high}"


def _int(low: int | None = None, high: int | None = None, what: str = "") -> Rule:
    def test(v: Any) -> bool:
        return (low is None or v >= low) and (high is None or v <= high)

    return Rule(what or "an int" + _bounds(low, high), numbers.Integral, test, int)


def _number(
    low: float | None = None, high: float | None = None, *, open_low=False, open_high=False
) -> Rule:
    def test(v: Any) -> bool:
        above = low is None or v > low or (v == low and not open_low)
        below = high is None or v < high or (v == high and not open_high)
        return math.isfinite(v) and above and below

    what = "a finite number" + _bounds(low, high, open_low, open_high)
    return Rule(what, numbers.Real, test, float)


def _choice(choices: Sequence) -> Rule:
    return Rule("one of " + ", ".join(map(repr, choices)), test=lambda v: v in choices)


def _optional(rule: Rule) -> Callable[[str, Any], Any]:
    return lambda name, value: None if value is None else rule(name, value)


def _each(
    rule: Callable[[str, Any], Any], min_len: int = 1, max_len: int | None = None, what: str = ""
) -> Callable[[str, Any], tuple]:
    """A list or tuple of ``min_len`` to ``max_len`` entries, each following ``rule``; a tuple."""
    what = (
        what
        or f"a list or tuple of {min_len}"
        + (f" to {max_len}" if max_len else " or more")
        + " entries"
    )
    outer = Rule(what, (list, tuple), lambda v: min_len <= len(v) <= (max_len or len(v)))
    return lambda name, value: tuple(
        rule(f"{name}[{i}]", v) for i, v in enumerate(outer(name, value))
    )


def _int_or_pair(low: int) -> Callable[[str, Any], Any]:
    """An int, or a pair of ints (height, width), each >= ``low``; returns it as given."""
    one, pair = (
        _int(low),
        Rule(f"an int >= {low} or a pair of them", (tuple, list), lambda v: len(v) == 2),
    )
    return lambda name, value: (
        one(name, value)
        if not isinstance(value, (tuple, list))
        else tuple(one(f"{name}[{i}]", v) for i, v in enumerate(pair(name, value)))
    )


def _tensor(ndim: int | None = None, floating: bool = False) -> Callable[[str, Any], Any]:
    """A tensor (``TypeError`` otherwise, or if not floating point) of ``ndim`` dimensions."""
    what = f"a {ndim}-D " if ndim else "a "
    what += "floating-point tensor" if floating else "tensor"
    kind = Rule(
        what, torch.Tensor, lambda v: not floating or v.is_floating_point(), error=TypeError
    )
    rank = Rule(what, torch.Tensor, lambda v: ndim is None or v.ndim == ndim)
    return lambda name, value: rank(name, kind(name, value))


def check_int(
    name: str, value: Any, *, min_value: int | None = None, max_value: int | None = None
) -> int:
    """``value`` as an int in ``[min_value, max_value]`` (bools are not ints)."""
    return _int(min_value, max_value)(name, value)


def check_number(
    name: str, value: Any, *, min_value: float | None = None, max_value: float | None = None
) -> float:
    """``value`` as a finite float in ``[min_value, max_value]``."""
    return _number(min_value, max_value)(name, value)


def check_tensor(
    name: str, value: Any, *, ndim: int | None = None, floating: bool = False
) -> torch.Tensor:
    """``value`` if it is a tensor with ``ndim`` dimensions (floating point if ``floating``)."""
    return _tensor(ndim, floating)(name, value)


@functools.cache
def _arch() -> Rule:
    """The names :func:`resnet_utils.models.build_model` builds (imported when first used)."""
    from .models import ARCHITECTURES, buildable

    what = (
        f"one of {', '.join(map(repr, ARCHITECTURES))}, or 'resnetD'/'plainD' with depth "
        "D = 6n+2 >= 8 (e.g. 'resnet20', 'plain56')"
    )
    return Rule(what, str, buildable)


def _lazy(module: str, cls: str, source: str) -> Rule:
    """An instance of ``resnet_utils.<module>.<cls>``, imported when checked (no import cycle)."""
    from importlib import import_module

    return Rule(f"a {cls} ({source})", getattr(import_module(f"resnet_utils.{module}"), cls))


def _layers(name: str, value: Any) -> tuple:
    """ResNet's ``layers``: the number of blocks (>= 1) of each of its four stages."""
    return _each(_int(1), 4, 4, "4 stage depths (ints >= 1)")(name, value)


def _modes(name: str, value: Any) -> tuple:
    from .bench import MODES  # the benchmark's modes, where they are defined

    return _each(_choice(tuple(MODES)))(name, value)


_BOOL = Rule("True or False", bool)
_CALLABLE = Rule("callable", Callable)
_images = _tensor(4, floating=True)
_vectors = _tensor(2, floating=True)
_classifier = Rule(
    "a network with a Linear classifier `fc` (a ResNet from resnet_utils.models)",
    torch.nn.Module,
    lambda m: isinstance(getattr(m, "fc", None), torch.nn.Linear),
    error=TypeError,
)


_STATE = Rule("a dict (a state dict, or a dict of them)", dict)
_PATH = Rule("a path (str or pathlib.Path)", (str, os.PathLike))
_LOADER = Rule("a torch.utils.data.DataLoader", DataLoader)

# --- The rules: one per argument name, whoever takes it --------------------------------------------

RULES: dict[str, Callable[[str, Any], Any]] = {
    # how a network trains (TrainConfig, PretrainConfig, DDPConfig, TransferConfig, fit_seeds)
    "num_epochs": _int(1),
    "lr": _number(0, open_low=True),
    "momentum": _number(0, 1, open_high=True),
    "nesterov": _BOOL,
    "weight_decay": _number(0),
    "label_smoothing": _number(0, 1, open_high=True),
    "schedule": _choice(SCHEDULES),
    "seed": _int(0, 2**32 - 1, "an int in 0..2**32-1"),
    "precision": _choice(PRECISIONS),
    "channels_last": _BOOL,
    "device": Rule(
        "a str such as 'auto', 'cpu' or 'cuda', or a torch.device", (str, torch.device)
    ),
    "patience": _int(1),
    "checkpoint_dir": _PATH,
    "resume": _BOOL,
    "progress": _BOOL,
    "temperature": _number(0, open_low=True),
    "batch_size": _int(1),
    "global_batch_size": _int(1),
    "steps": _int(1),
    "neighbours": _int(0, 100),
    "pretrain_epochs": _int(1),
    "labels_per_class": _each(_int(1, 50)),
    "backbone_lr_factor": _number(0),
    "backbone_lr": _number(0),  # param_groups: 0 freezes the backbone
    "head_lr": _number(0, open_low=True),
    # data
    "image_size": _int(8),
    "num_workers": _int(0),
    "augment": _BOOL,
    "download": _BOOL,
    "per_class": _int(1),
    "size": _int(1, what="an image side in pixels, an int >= 1"),
    "digit_size": _int(4, 256),
    "y": _tensor(1),  # class labels (N,)
    "val_size": Rule(
        "a fraction in [0, 1) or a count >= 0",
        (float, numbers.Integral),
        lambda v: not isinstance(v, bool) and (0 <= v < 1 if isinstance(v, float) else v >= 0),
    ),
    "root": _PATH,
    "splits": lambda name, value: _lazy("data", "DataSplits", "from load_digits or load_cifar10")(
        name, value
    ),
    "eval_batch_size": _optional(_int(1)),
    # networks
    "model": Rule("a torch.nn.Module", torch.nn.Module),
    "arch": lambda name, value: _arch()(name, value),
    "width": _int(1),
    "layers": _layers,
    "num_classes": _int(1),
    "in_channels": _int(1),
    "out_channels": _int(1),
    "stride": _int_or_pair(1),
    "classifier": _classifier,
    "depth": Rule(  # He et al.'s CIFAR family: n blocks of two layers in three stages, + 2
        "6n+2 (8, 14, 20, 32, 44, 56, 110, ...)",
        numbers.Integral,
        lambda d: d >= 8 and (d - 2) % 6 == 0,
        int,
    ),
    "residual": _BOOL,
    "preact": _BOOL,
    "zero_init_residual": _BOOL,
    "shortcut": _choice(("A", "B")),
    "kernel_size": _int_or_pair(1),
    "padding": _int_or_pair(0),
    "output_size": _int_or_pair(1),
    "dilation": _int(1),
    "input": _tensor(4, floating=True),
    "weight": _tensor(4, floating=True),
    "bias": _optional(_tensor(1)),
    "kernel_stride_pairs": _each(
        Rule(
            "a (kernel_size, stride) pair of ints >= 1",
            (tuple, list),
            lambda v: (
                len(v) == 2
                and all(
                    isinstance(i, numbers.Integral) and not isinstance(i, bool) and i >= 1
                    for i in v
                )
            ),
        ),
        0,
    ),
    "X": _images,  # images (N, C, H, W), floating point
    "z1": _vectors,  # nt_xent's projections of two views (N, D)
    "z2": _vectors,
    "normalize": _choice(("mean_std", "zero_one", "minus_one_one")),
    "train": _BOOL,
    "transform": _optional(_CALLABLE),
    "degrees": _number(0, 45),
    "translate": _number(0, 0.5),
    "blur_p": _number(0, 1),
    "k": _int(1),
    "n_bins": _int(1),
    "metric": _CALLABLE,
    "num_samples": _int(1),
    "timeout": _int(1),  # seconds
    "memory_mb": Rule(
        "0 (no limit) or at least 256", numbers.Integral, lambda v: v == 0 or v >= 256
    ),
    # comparisons over seeds (findings)
    "per_seed": _each(_number(), what="a non-empty list of numbers, one per seed"),
    "names": _each(Rule("a non-empty str", str, len), 2, 2, "two non-empty strings"),
    "higher_is_better": _BOOL,
    "message": Rule("a non-empty str", str, len),
    "lang": _choice(("en", "zh")),
    "n_boot": _int(10),
    "level": _number(0, 1, open_low=True, open_high=True),
    "warmup": _int(0),
    "repeats": _int(1),
    "inner": _int(1),
    "peak_size": _int(16),
    "n": _int(16),
    "models": _each(  # the benchmark's: the registry's names and torchvision's, for parity
        lambda name, value: value if value == "torchvision_resnet18" else _arch()(name, value)
    ),
    "networks": _each(
        Rule("a torch.nn.Module", torch.nn.Module), what="a non-empty list of torch.nn.Module"
    ),
    "seeds": lambda name, value: Rule(
        "a list of distinct seeds", tuple, lambda v: len(set(v)) == len(v)
    )(
        name,
        _each(_int(0, 2**32 - 1, "an int in 0..2**32-1"), what="a non-empty list of seeds")(
            name, value
        ),
    ),
    "modes": _modes,
    "callback": _optional(_CALLABLE),
    "build": _CALLABLE,  # seed -> (model, train_loader, val_loader)
    "loader": _LOADER,
    "train_loader": Rule(
        "a torch.utils.data.DataLoader with at least one batch", DataLoader, lambda v: len(v) > 0
    ),
    "val_loader": _optional(_LOADER),
    "loss_fn": _CALLABLE,
    "min_lr": _number(0, open_low=True),
    "max_lr": _number(0, open_low=True),
    "num_steps": _int(2),
    # figures (plots)
    "every_seconds": _number(0),
    "ncols": _int(1),
    # looking inside (explain)
    "x": _tensor(),
    "matrix": _tensor(2),
    "layer": Rule("a module name (str) or an nn.Module", (str, torch.nn.Module)),
    "module_names": _optional(
        _each(Rule("a module name", str), what="a non-empty list of module names")
    ),
    "score": _choice(("logit", "softmax")),
    "pool": _choice(("mean", "sum", "none")),
    "mode": _choice(("bilinear", "nearest")),
    "blocks": lambda name, value: _each(_int(0), 0, what="a list of block indices (ints >= 0)")(
        name, tuple(value) if isinstance(value, (set, range, frozenset)) else value
    ),
    "batches": Rule("an iterable of (X, y) batches", Iterable, lambda v: not isinstance(v, str)),
    "directions": _each(Rule("a dict from random_direction", dict), 1, 2, "one or two directions"),
    "alphas": _each(_number(), what="a non-empty list of step sizes (numbers)"),
    "fn": _CALLABLE,
    "path": _PATH,
    "state": _STATE,
}


def check(**values: Any) -> Any:
    """Check each keyword argument by its name's rule in :data:`RULES`; return the value(s).

    ``seed = check(seed=seed)``; ``lr, seed = check(lr=lr, seed=seed)``.
    """
    out = [RULES[name](name, value) for name, value in values.items()]
    return out[0] if len(out) == 1 else out


def check_as(rule: str, name: str, value: Any) -> Any:
    """Check ``value``, called ``name`` in messages, by the rule of ``rule`` (``models[2]`` as a ``model``)."""
    return RULES[rule](name, value)


def check_fields(config: Any) -> None:
    """Check every field of the dataclass ``config`` by its name's rule in :data:`RULES`.

    A field must have a rule (a config may not give a shared name a meaning
    of its own); a field whose default is None may be None.
    """
    for f in fields(config):
        value = getattr(config, f.name)
        if value is not None or f.default is not None:
            RULES[f.name](f.name, value)
