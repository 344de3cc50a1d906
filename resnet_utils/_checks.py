"""Validation at the public boundary, from rules declared once per argument name.

:data:`RULES` says, for every argument and config field the package's public
functions share (``lr``, ``momentum``, ``seed``, ``num_epochs``, ``model``,
...), what a valid value is; :func:`check` applies them to a function's
arguments and :func:`check_fields` to every field of a config dataclass. So
``seed`` means the same in ``TrainConfig``, ``DDPConfig``, ``load_digits``
and the command lines, and a learner's mistake produces a message that names
the argument, the value received and what was expected, instead of a
traceback from deep inside torch. Internals (blocks inside a network, the
evaluation inside ``fit``) trust their callers and check nothing.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Callable, Sequence
from dataclasses import fields
from typing import Any

import torch
from torch.utils.data import DataLoader

__all__ = ["RULES", "PRECISIONS", "SCHEDULES", "check", "check_as", "check_fields"]

# The precisions every function and command line accepts. "auto": bf16 where it is fast, else fp32.
PRECISIONS = ("fp32", "bf16", "fp16", "auto")
# fit's learning-rate schedules: one-cycle, cosine, step (x0.1 at 50 % and 75 %), constant
SCHEDULES = ("onecycle", "cosine", "step", "constant")

Rule = Callable[[str, Any], Any]  # rule(name, value) returns the value or raises


def check_bool(name: str, value: Any) -> bool:
    """Return ``value`` if it is a bool, else raise ``TypeError``."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, got {value!r} ({type(value).__name__})")
    return value


def check_int(
    name: str, value: Any, *, min_value: int | None = None, max_value: int | None = None
) -> int:
    """Return ``value`` as an int, checking its type (bools are not ints) and range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {value!r} ({type(value).__name__})")
    value = int(value)
    low = min_value is not None and value < min_value
    if low or (max_value is not None and value > max_value):
        op, bound = (">=", min_value) if low else ("<=", max_value)
        raise ValueError(f"{name} must be {op} {bound}, got {value}")
    return value


def check_number(
    name: str,
    value: Any,
    *,
    min_value: float | None = None,
    max_value: float | None = None,
    min_inclusive: bool = True,
    max_inclusive: bool = True,
) -> float:
    """Return ``value`` as a float, checking its type, finiteness and range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r} ({type(value).__name__})")
    value = float(value)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{name} must be a finite number, got {value}")
    low = min_value is not None and (
        value < min_value or (value == min_value and not min_inclusive)
    )
    high = max_value is not None and (
        value > max_value or (value == max_value and not max_inclusive)
    )
    if low or high:
        op, bound, inclusive = (
            (">", min_value, min_inclusive) if low else ("<", max_value, max_inclusive)
        )
        raise ValueError(f"{name} must be {op}{'=' if inclusive else ''} {bound}, got {value}")
    return value


def check_choice(name: str, value: Any, choices: Any) -> Any:
    """Return ``value`` if it is one of ``choices``, else raise ``ValueError``."""
    if value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {options}; got {value!r}")
    return value


def check_tensor(
    name: str, value: Any, *, ndim: int | None = None, floating: bool = False
) -> torch.Tensor:
    """Return ``value`` if it is a tensor of the expected rank and kind."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if ndim is not None and value.ndim != ndim:
        raise ValueError(
            f"{name} must be a {ndim}-D tensor, got {value.ndim}-D with shape {tuple(value.shape)}"
        )
    if floating and not value.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {value.dtype}")
    return value


# --- Rules: building blocks ----------------------------------------------------------------------


def _int(low: int | None = None, high: int | None = None) -> Rule:
    return lambda name, value: check_int(name, value, min_value=low, max_value=high)


def _number(low: float, high: float | None = None, *, open_low=False, open_high=False) -> Rule:
    return lambda name, value: check_number(
        name,
        value,
        min_value=low,
        max_value=high,
        min_inclusive=not open_low,
        max_inclusive=not open_high,
    )


def _choice(choices: tuple) -> Rule:
    return lambda name, value: check_choice(name, value, choices)


def _optional(rule: Rule) -> Rule:
    return lambda name, value: None if value is None else rule(name, value)


def _instance(kind: type | tuple[type, ...], what: str) -> Rule:
    def rule(name: str, value: Any) -> Any:
        if not isinstance(value, kind):
            raise TypeError(f"{name} must be {what}, got {type(value).__name__}")
        return value

    return rule


def _each(rule: Rule, *, min_len: int = 1) -> Rule:
    """A non-empty list or tuple whose every entry follows ``rule``; returns a tuple."""

    def each(name: str, value: Any) -> tuple:
        if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
            raise TypeError(f"{name} must be a list or tuple, got {value!r}")
        if len(value) < min_len:
            raise ValueError(f"{name} must list at least {min_len} entry, got {value!r}")
        return tuple(rule(f"{name}[{i}]", v) for i, v in enumerate(value))

    return each


def _int_or_pair(low: int) -> Rule:
    """An int, or a pair of ints (height, width), each >= ``low``; returns it as given."""

    def rule(name: str, value: Any) -> int | tuple[int, int]:
        if not isinstance(value, (tuple, list)):
            return check_int(name, value, min_value=low)
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
        return tuple(check_int(f"{name}[{i}]", v, min_value=low) for i, v in enumerate(value))

    return rule


def _images(name: str, value: Any) -> torch.Tensor:
    return check_tensor(name, value, ndim=4, floating=True)


def _vectors(name: str, value: Any) -> torch.Tensor:
    return check_tensor(name, value, ndim=2, floating=True)


def _classifier(name: str, value: Any) -> torch.nn.Module:
    if not isinstance(getattr(value, "fc", None), torch.nn.Linear):
        raise TypeError(
            f"{name} must be a network with a Linear classifier `fc` (a ResNet from "
            f"resnet_utils.models), got {type(value).__name__}"
        )
    return value


def _depth(name: str, value: Any) -> int:
    from .models import check_depth  # the CIFAR family's 6n+2, where the family is

    return check_depth(value, name)


def _arch(name: str, value: Any) -> str:
    from .models import check_arch  # the registry knows which names build

    return check_arch(value, name)


def _layers(name: str, value: Any) -> Any:
    """ResNet's ``layers``: the number of blocks (>= 1) of each of its four stages."""
    if len(_each(_int(1))(name, value)) != 4:
        raise ValueError(f"{name} must list 4 stage depths (ints >= 1), got {value!r}")
    return value


def _callable(name: str, value: Any) -> Any:
    if not callable(value):
        raise TypeError(f"{name} must be callable, got {type(value).__name__}")
    return value


_PATH = _instance((str, os.PathLike), "a path (str or pathlib.Path)")
_LOADER = _instance(DataLoader, "a torch.utils.data.DataLoader")

# --- The rules: one per argument name, whoever takes it --------------------------------------------

RULES: dict[str, Rule] = {
    # how a network trains (TrainConfig, PretrainConfig, DDPConfig, TransferConfig, fit_seeds)
    "num_epochs": _int(1),
    "lr": _number(0, open_low=True),
    "momentum": _number(0, 1, open_high=True),
    "nesterov": check_bool,
    "weight_decay": _number(0),
    "label_smoothing": _number(0, 1, open_high=True),
    "schedule": _choice(SCHEDULES),
    "seed": _int(0, 2**32 - 1),
    "precision": _choice(PRECISIONS),
    "channels_last": check_bool,
    "device": _instance((str, torch.device), "a str such as 'auto', 'cpu' or 'cuda'"),
    "patience": _int(1),
    "checkpoint_dir": _PATH,
    "resume": check_bool,
    "progress": check_bool,
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
    "augment": check_bool,
    "download": check_bool,
    "per_class": _int(1),
    # networks
    "model": _instance(torch.nn.Module, "a torch.nn.Module"),
    "arch": _arch,
    "width": _int(1),
    "layers": _layers,
    "num_classes": _int(1),
    "in_channels": _int(1),
    "out_channels": _int(1),
    "stride": _int_or_pair(1),
    "classifier": _classifier,
    "depth": _depth,
    "residual": check_bool,
    "preact": check_bool,
    "zero_init_residual": check_bool,
    "shortcut": _choice(("A", "B")),
    "kernel_size": _int_or_pair(1),
    "padding": _int_or_pair(0),
    "output_size": _int_or_pair(1),
    "dilation": _int(1),
    "X": _images,  # images (N, C, H, W), floating point
    "z1": _vectors,  # nt_xent's projections of two views (N, D)
    "z2": _vectors,
    "normalize": _choice(("mean_std", "zero_one", "minus_one_one")),
    "train": check_bool,
    "transform": _optional(_callable),
    "degrees": _number(0, 45),
    "translate": _number(0, 0.5),
    "blur_p": _number(0, 1),
    "k": _int(1),
    "n_bins": _int(1),
    "n_boot": _int(10),
    "level": _number(0, 1, open_low=True, open_high=True),
    "warmup": _int(0),
    "repeats": _int(1),
    "inner": _int(1),
    "peak_size": _int(16),
    "n": _int(16),
    "models": _each(lambda name, value: value),  # each entry checked by its user's rule
    "modes": _each(lambda name, value: value),
    "callback": _optional(_callable),
    "build": _callable,  # seed -> (model, train_loader, val_loader)
    "loader": _LOADER,
    "train_loader": _LOADER,
    "val_loader": _optional(_LOADER),
    "loss_fn": _callable,
    "path": _PATH,
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
