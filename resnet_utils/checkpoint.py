"""Crash-safe checkpoints, the training state ``fit`` resumes from, fingerprints of weights.

Used by :func:`resnet_utils.train.fit` (``checkpoint_dir``/``resume``:
:func:`save_training_state` and :func:`load_training_state`), the training
command line and chapter 6. A checkpoint is written to a temporary file in
the same folder, flushed to disk, then renamed over the old one: a crash or
``kill -9`` at any moment leaves either the previous checkpoint or the new
one, never half a file. Loading uses ``torch.load(..., weights_only=True)``,
which cannot run code hidden in a file.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import random
import tempfile
import zipfile
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from ._checks import check

if TYPE_CHECKING:
    from .step import TrainStep

__all__ = [
    "CHECKPOINT_NAME",
    "atomic_write_bytes",
    "atomic_write_json",
    "save_checkpoint",
    "load_checkpoint",
    "state_dict_sha256",
    "get_rng_state",
    "set_rng_state",
    "save_training_state",
    "load_training_state",
]

CHECKPOINT_NAME = "last.pt"  # what fit writes into its checkpoint_dir after every epoch


def _atomic_write(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)  # atomic on POSIX and Windows
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    _atomic_write(Path(check(path=path)), lambda f: f.write(data))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented JSON to ``path``, atomically."""
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> None:
    """Save ``state`` (tensors, numbers, strings, lists, dicts) to ``path`` atomically."""
    path = Path(check(path=path, state=state)[0])
    _atomic_write(path, lambda f: torch.save(state, f))


def load_checkpoint(
    path: str | os.PathLike, map_location: str | torch.device = "cpu"
) -> dict[str, Any]:
    """Load a checkpoint saved by :func:`save_checkpoint`, with ``weights_only=True``.

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` for a
    file that is not a readable checkpoint (truncated, corrupted, or not made
    by torch).
    """
    path = Path(check(path=path))
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint file {str(path)!r} does not exist")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, ValueError) as err:
        raise ValueError(
            f"checkpoint file {str(path)!r} is corrupted or not a torch checkpoint: "
            f"{str(err).splitlines()[0] if str(err) else type(err).__name__}"
        ) from err
    if not isinstance(state, dict):
        raise ValueError(
            f"checkpoint file {str(path)!r} holds a {type(state).__name__}, expected a dict"
        )
    return state


def state_dict_sha256(model: nn.Module | dict[str, torch.Tensor]) -> str:
    """SHA-256 of a model's state dict (names, dtypes, shapes and values, in key order).

    Two runs that end with bit-identical weights have the same hash.
    """
    state = model.state_dict() if isinstance(model, nn.Module) else model
    if not isinstance(state, dict):
        raise TypeError(f"model must be an nn.Module or a state dict, got {type(model).__name__}")
    h = hashlib.sha256()
    for key, tensor in state.items():
        t = tensor.detach().cpu().contiguous()
        h.update(f"{key}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def get_rng_state(generator: torch.Generator | None = None) -> dict[str, Any]:
    """Every random-number state a training run uses, in a ``weights_only``-safe form."""
    np_state = np.random.get_state()
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *np_state[2:]],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    if generator is not None:
        state["generator"] = generator.get_state()
    return state


def set_rng_state(state: dict[str, Any], generator: torch.Generator | None = None) -> None:
    """Restore what :func:`get_rng_state` captured."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    if generator is not None and "generator" in state:
        generator.set_state(state["generator"])


def save_training_state(
    path: str | os.PathLike,
    step: TrainStep,
    epoch: int,
    history: dict[str, Any],
    config: Any,
    generator: torch.Generator | None,
    best: dict[str, Any],
) -> None:
    """Everything ``fit`` needs to resume after ``epoch``, written atomically.

    ``step`` holds the model, optimizer, schedule and gradient scaler;
    ``history`` and ``config`` (a dataclass) are stored as plain data,
    ``generator`` is the training loader's, ``best`` the early-stopping state.
    """
    save_checkpoint(
        path,
        {
            "model": step.model.state_dict(),
            "optimizer": step.optimizer.state_dict(),
            "scheduler": step.scheduler.state_dict(),
            "scaler": step.scaler.state_dict(),
            "epoch": epoch,
            "history": history,
            "config": {
                k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items()
            },
            "rng": get_rng_state(generator),
            "best": best,
        },
    )


def load_training_state(
    path: str | os.PathLike, step: TrainStep, generator: torch.Generator | None
) -> tuple[int, dict[str, Any], dict[str, Any]]:
    """Load ``path`` into ``step`` and the random states; return (epochs done, history, best)."""
    state = load_checkpoint(path)
    missing = {"model", "optimizer", "scheduler", "epoch", "history", "rng"} - set(state)
    if missing:
        raise ValueError(
            f"checkpoint {str(path)!r} lacks {sorted(missing)}: it was not written by fit()"
        )
    try:
        step.model.load_state_dict(state["model"])
    except RuntimeError as err:
        first = str(err).splitlines()
        detail = "; ".join(line.strip() for line in first[1:3]) or first[0]
        raise ValueError(
            f"checkpoint {str(path)!r} was saved from a different architecture "
            f"than this model: {detail}"
        ) from err
    step.optimizer.load_state_dict(state["optimizer"])
    step.scheduler.load_state_dict(state["scheduler"])
    if "scaler" in state:
        step.scaler.load_state_dict(state["scaler"])
    set_rng_state(state["rng"], generator)
    best = state.get("best") or {"loss": float("inf"), "state": None}
    return int(state["epoch"]), state["history"], best
