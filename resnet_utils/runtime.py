"""Where code runs and how it is made repeatable: device choice and seeding.

Used by every chapter (the ``parameters`` cell's ``device`` and ``seed``) and by
:mod:`resnet_utils.train`. ``resolve_device("auto")`` plays the role of d2l's
``try_gpu()``: the same notebook runs on a laptop CPU or a GPU.
"""

from __future__ import annotations

import contextlib
import os
import platform
import random
import sys
from collections.abc import Iterator
from datetime import datetime, timezone

import numpy as np
import torch

from ._checks import PRECISIONS, check

__all__ = [
    "PRECISIONS",
    "PRECISION_ENV",
    "resolve_device",
    "bf16_supported",
    "resolve_precision",
    "autocast",
    "eval_mode",
    "quiet_native_stderr",
    "seed_everything",
    "seed_worker",
    "versions",
    "stamp",
]

# PRECISIONS (from _checks): what every function and command line accepts; "auto": bf16 where
# it is fast, else fp32.
# What "auto" resolves to when this environment variable names a precision ("fp32", "bf16",
# "fp16"): `RESNET_UTILS_PRECISION=fp32 make timings` times the book as a CPU without bf16 runs it.
PRECISION_ENV = "RESNET_UTILS_PRECISION"


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """Turn ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"`` or ``"mps"`` into a device.

    ``"auto"`` picks CUDA when available, then Apple's MPS, else the CPU.
    Asking for a device that is not available is a ``ValueError`` that says so,
    rather than an error at the first tensor moved there.
    """
    device = str(check(device=device))
    name = device.strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        dev = None
    if dev is None or dev.type not in ("cpu", "cuda", "mps"):
        raise ValueError(
            f"device must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'; got {device!r}"
        )
    mps = getattr(torch.backends, "mps", None)
    missing = {  # what a device needs and this machine lacks
        "cuda": "CUDA is not available here" if not torch.cuda.is_available() else "",
        "mps": "MPS is not available here" if not (mps and mps.is_available()) else "",
    }.get(dev.type, "")
    if not missing and dev.type == "cuda" and (dev.index or 0) >= torch.cuda.device_count():
        missing = f"only {torch.cuda.device_count()} CUDA device(s) exist"
    if missing:
        raise ValueError(f"device={device!r} was requested but {missing}; use 'cpu' or 'auto'")
    return dev


def bf16_supported(device: str | torch.device = "cpu") -> bool:
    """Whether ``device`` has bfloat16 arithmetic of its own, so that ``"auto"`` picks bf16.

    CUDA: ``torch.cuda.is_bf16_supported()`` (Ampere and newer). CPU: oneDNN's
    bf16 kernels (``torch.ops.mkldnn._is_mkldnn_bf16_supported``) and, on x86,
    the bf16 instructions (AVX512-BF16 or AMX). oneDNN alone also says yes on
    any AVX-512 CPU, where it converts every bf16 product to fp32 and training
    gets little or no faster, so that answer is not taken on its own. An
    AVX2-only CPU has neither. Chapter 10 measures the speed-up on the machine
    at hand.
    """
    dev = resolve_device(device)
    if dev.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    if dev.type != "cpu":
        return False
    try:
        onednn = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a build without oneDNN
        return False
    if onednn and platform.machine().lower() in ("x86_64", "amd64"):
        return _x86_bf16_instructions()
    return onednn


def _x86_bf16_instructions() -> bool:
    """AVX512-BF16 or AMX, as PyTorch's CPU feature detection (cpuinfo) sees them."""
    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except AttributeError:  # an older torch without these queries: trust oneDNN
        return True


def resolve_precision(precision: str, device: str | torch.device = "cpu") -> str:
    """Turn ``"auto"`` into ``"bf16"`` where :func:`bf16_supported`, else ``"fp32"``; check the others.

    The environment variable ``RESNET_UTILS_PRECISION`` (``fp32``, ``bf16``
    or ``fp16``), when set, is what ``"auto"`` means instead: with ``fp32``
    every chapter trains as it would on a CPU without bf16 instructions.
    ``"fp16"`` needs CUDA (it also needs a gradient scaler, which ``fit``
    adds); ``"bf16"`` on a GPU without support is refused.
    """
    if precision not in PRECISIONS:
        raise ValueError(
            f"precision must be one of {', '.join(map(repr, PRECISIONS))}; got {precision!r}"
        )
    dev = resolve_device(device)
    if precision == "auto":
        forced = os.environ.get(PRECISION_ENV, "").strip().lower()
        if not forced:
            return "bf16" if bf16_supported(dev) else "fp32"
        if forced not in ("fp32", "bf16", "fp16"):
            raise ValueError(
                f"{PRECISION_ENV} must be one of 'fp32', 'bf16', 'fp16' (or unset); got {forced!r}"
            )
        precision = forced
    if precision == "fp16" and dev.type != "cuda":
        raise ValueError(
            f"precision='fp16' needs a CUDA device (got device {dev}); use 'bf16' or 'fp32'"
        )
    if precision == "bf16" and dev.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise ValueError("precision='bf16' is not supported by this GPU; use 'fp16' or 'fp32'")
    return precision


def autocast(device: torch.device, precision: str) -> torch.autocast:
    """The autocast context for ``precision`` on ``device`` (a no-op for fp32); ``precision`` already resolved."""
    if precision == "fp32":
        return torch.autocast(device.type, enabled=False)
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device.type, dtype=dtype)


@contextlib.contextmanager
def eval_mode(model: torch.nn.Module) -> Iterator[torch.nn.Module]:
    """Put ``model`` in eval mode inside the block; restore every module's mode after it.

    Each submodule gets back its own mode (a frozen batch norm inside a
    training model stays in eval mode), even when the block raises.
    """
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for m, training in modes:
            m.training = training


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Silence what C++ code writes to the process's stderr (file descriptor 2) inside the block.

    PyTorch's profiler back-end (Kineto) prints start/stop and device-probe
    lines there, which a notebook would show as output. Python's own
    ``sys.stderr`` (warnings, tracebacks) is untouched when it is not fd 2,
    as in Jupyter; the descriptor is restored even if the block raises.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch (CPU and CUDA); return a seeded CPU generator.

    The returned generator is what :class:`torch.utils.data.DataLoader` should
    receive as ``generator=`` so that shuffling is repeatable too.
    """
    seed = check(seed=seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator


def seed_worker(worker_id: int) -> None:
    """``worker_init_fn`` for DataLoader workers: derive NumPy/random seeds from torch's.

    This is the recipe of PyTorch's "Reproducibility" notes: each worker gets
    ``torch.initial_seed()`` (already distinct per worker) for the other RNGs.
    """
    worker_seed = torch.initial_seed() % 2**32
    np.random.seed(worker_seed)
    random.seed(worker_seed)


def versions() -> dict[str, str]:
    """The versions a result was produced with, and when: shown on every chapter."""
    import torchvision

    from . import __version__

    return {
        "resnet_utils": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "numpy": np.__version__,
        "platform": f"{platform.system()} {platform.machine()}",
        "cpu_threads": str(torch.get_num_threads()),
        "executed": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        "executable": os.path.basename(sys.executable),
    }


def stamp():
    """The line that ends every chapter: when it was executed, with which versions, on what.

    Returns an ``IPython.display.Markdown`` so the rendered page shows it as text.
    """
    from IPython.display import Markdown

    v = versions()
    where = (
        f"GPU: {torch.cuda.get_device_name()}"
        if torch.cuda.is_available()
        else f"CPU, {v['cpu_threads']} threads"
    )
    return Markdown(
        f"*This page was executed on {v['executed']} with resnet_utils {v['resnet_utils']} "
        f"(the book's version), Python {v['python']}, torch {v['torch']} and torchvision "
        f"{v['torchvision']} ({where}).*"
    )
