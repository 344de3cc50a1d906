"""The package's command lines, and what they share: flags, errors, JSON.

==============  ============================================  ====================
module          command                                       what it runs
==============  ============================================  ====================
``train``       ``python -m resnet_utils.train``              ``recipes``
``finetune``    ``python -m resnet_utils.finetune``           ``finetune``
``bench``       ``python -m resnet_utils.bench``              ``bench``
``ddp``         ``torchrun ... -m resnet_utils.ddp``          ``ddp``
==============  ============================================  ====================

``python -m resnet_utils.X`` starts in the top-level module ``X``, which
hands over to the command here before it defines anything, so that ``X`` is
imported once (by the command). These and the grader
(:mod:`resnet_utils.classroom.grade`) are built with :func:`parser` and run
through :func:`run`, so they agree:

- the same flags where they mean the same thing: ``--device`` (default
  ``auto``), ``--seed``, ``--precision``, ``--channels-last``, ``--quiet``,
  ``--json PATH``, ``--save PATH`` (the final weights), ``--num-epochs``;
- one error policy: a bad argument or a bad input prints one line on stderr
  and exits 1; Ctrl-C exits 130 after one line; nothing half-written is left;
- one JSON envelope (:func:`envelope`): every result file carries the
  command, its config and the versions it ran with.
"""

from __future__ import annotations

import argparse
import io
import pickle
import re
import sys
import zipfile
from collections.abc import Callable
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

import torch

from ..checkpoint import atomic_write_bytes, atomic_write_json
from ..runtime import PRECISIONS, versions

__all__ = ["parser", "positive", "run", "envelope", "write_json", "save_weights", "ERRORS"]

# What a command turns into one line and exit status 1: bad arguments, missing or corrupt
# files, a training run that diverged. Anything else is a bug and keeps its traceback.
ERRORS = (
    ValueError,
    TypeError,
    FileNotFoundError,
    FloatingPointError,
    pickle.UnpicklingError,
    zipfile.BadZipFile,
)


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad argument in one line and exits 1, without the usage block.

    It remembers each option's flag by the field it sets (``lr`` -> ``--lr``), so
    that a rule's message about a field names the flag the user typed.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.flags: dict[str, str] = {}
        super().__init__(*args, **kwargs)

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        action = super().add_argument(*args, **kwargs)
        if action.option_strings:
            self.flags[action.dest] = action.option_strings[-1]
        return action

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(1, f"{self.prog}: error: {message} (see --help)\n")

    def as_flags(self, message: str) -> str:
        """``message`` with the field it starts with named by its flag: ``--lr must be ...``."""
        field = re.match(r"\w+", message)
        flag = self.flags.get(field.group()) if field else None
        return flag + message[field.end() :] if flag else message


def parser(
    command: str,
    description: str,
    *,
    precision: bool = True,
    seed: bool = True,
    save: str | None = None,
    device: str = "auto (CUDA if available), cpu, cuda, cuda:N, mps",
    devices: tuple[str, ...] | None = None,
    json: bool = True,
) -> argparse.ArgumentParser:
    """A parser for ``python -m resnet_utils.COMMAND`` with the shared flags already added.

    Every command gets ``--device`` and ``--quiet``; ``--json``, ``--seed``,
    ``--precision``/``--channels-last`` and ``--save`` when they apply
    (``save`` and ``device`` are the help texts of ``--save`` and ``--device``,
    ``devices`` the choices of ``--device`` where only some make sense).
    """
    p = _Parser(prog=f"python -m resnet_utils.{command}", description=description)
    p.add_argument("--device", default="auto", choices=devices, help=device)
    if seed:
        p.add_argument("--seed", type=int, default=0, help="seeds every random choice (default 0)")
    if precision:
        p.add_argument(
            "--precision",
            choices=PRECISIONS,
            default="fp32",
            help="bf16: CPUs with AVX512-BF16/AMX, recent GPUs; fp16: CUDA only; "
            "auto: bf16 where it is fast, else fp32 (default fp32)",
        )
        p.add_argument("--channels-last", action="store_true", help="NHWC memory format")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    if json:
        p.add_argument("--json", metavar="PATH", help="write the result here as JSON (atomically)")
    if save:
        p.add_argument("--save", metavar="PATH", help=save)
    return p


def _jsonable(config: Any) -> Any:
    if is_dataclass(config) and not isinstance(config, type):
        config = asdict(config)
    if isinstance(config, dict):
        return {k: _jsonable(v) for k, v in config.items()}
    if isinstance(config, (list, tuple)):
        return [_jsonable(v) for v in config]
    if isinstance(config, Path):
        return str(config)
    return config


def envelope(command: str, config: Any, result: dict[str, Any]) -> dict[str, Any]:
    """The JSON every command writes: ``command``, ``config``, ``versions``, then its results.

    A result that carries its own ``config`` or ``versions`` (as
    :func:`~resnet_utils.finetune.transfer_experiment` and
    :func:`~resnet_utils.bench.benchmark` return them) gives way to the envelope's: each is
    written once, the command's.
    """
    head = {
        "command": f"python -m resnet_utils.{command}",
        "config": _jsonable(config),
        "versions": versions(),
    }
    return {**head, **{k: v for k, v in result.items() if k not in head}}


def write_json(path: str | Path | None, command: str, config: Any, result: dict[str, Any]) -> None:
    """Write :func:`envelope` to ``path`` atomically (nothing when ``path`` is None)."""
    if path:
        atomic_write_json(path, envelope(command, config, result))


def save_weights(path: str | Path | None, state: dict[str, Any]) -> None:
    """``torch.save`` ``state`` to ``path`` atomically (nothing when ``path`` is None)."""
    if path:
        buffer = io.BytesIO()
        torch.save(state, buffer)
        atomic_write_bytes(path, buffer.getvalue())


def run(
    p: argparse.ArgumentParser,
    body: Callable[[argparse.Namespace], int | None],
    argv: list[str] | None = None,
) -> int:
    """Parse ``argv`` with ``p`` and call ``body(args)`` under the shared error policy.

    Returns the exit status: ``body``'s (0 when it returns None), 1 after a
    one-line message for the errors in :data:`ERRORS`, 130 on Ctrl-C.
    """
    try:
        args = p.parse_args(argv)
    except SystemExit as done:  # --help (0) or a bad argument (1, message already printed)
        return int(done.code or 0)
    try:
        return body(args) or 0
    except ERRORS as err:
        message = str(err).splitlines()[0] if str(err) else type(err).__name__
        message = p.as_flags(message) if isinstance(p, _Parser) else message
        print(f"{p.prog}: error: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{p.prog}: interrupted", file=sys.stderr)
        return 130
