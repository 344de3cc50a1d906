"""Throughput benchmark: how fast do our ResNets train and predict on this machine?

Chapter 10. ``python -m resnet_utils.bench`` measures training steps
(forward, backward, SGD update) and inference (forward without gradients)
in images per second, for each model and each *mode*: fp32, bf16 or fp16
autocast, and the channels-last memory layout, alone or combined. It turns
images per second into FLOP/s (forward FLOPs counted by
``torch.utils.flop_counter.FlopCounterMode``, training = 3x forward) and
compares them with the machine's measured matrix-multiply peak.

Machines are noisy (turbo clocks, other processes), so the configurations
are measured *interleaved*: repeat 1 of every configuration, then repeat 2,
and so on, and each figure is the median over repeats. A slow minute then
hurts every configuration alike instead of one of them.
"""

from __future__ import annotations

if __name__ == "__main__":  # python -m resnet_utils.bench runs the command line only: the
    from resnet_utils.cli.bench import main  # module itself is imported once, by the command

    raise SystemExit(main())

import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from ._checks import check, check_fields
from .runtime import (
    autocast,
    bf16_supported,
    eval_mode,
    resolve_device,
    resolve_precision,
    versions,
)

__all__ = [
    "MODES",
    "BenchConfig",
    "median_seconds",
    "matmul_peak",
    "forward_flops",
    "Runner",
    "benchmark",
    "format_table",
    "model_names",
]

# mode name -> (precision, channels_last)
MODES: dict[str, tuple[str, bool]] = {
    "fp32": ("fp32", False),
    "bf16": ("bf16", False),
    "fp16": ("fp16", False),
    "channels_last": ("fp32", True),
    "bf16+channels_last": ("bf16", True),
    "fp16+channels_last": ("fp16", True),
}

# model name -> default input (channels, size) and batch size on a CPU
INPUTS = {"cifar": (3, 32, 128), "imagenet": (3, 112, 32)}


def model_names() -> list[str]:
    return ["resnet20", "resnet56", "resnet18", "resnet34", "resnet50", "torchvision_resnet18"]


def _is_imagenet(name: str) -> bool:
    from .models import ARCHITECTURES

    return name in ARCHITECTURES or name == "torchvision_resnet18"


def _build(name: str) -> nn.Module:
    from .models import build_model

    if name == "torchvision_resnet18":  # the reference implementation, for the parity check
        import torchvision

        return torchvision.models.resnet18(num_classes=1000)
    return build_model(name, num_classes=1000 if _is_imagenet(name) else 10)


@dataclass
class BenchConfig:
    """What :func:`benchmark` measures."""

    models: tuple[str, ...] = ("resnet20", "resnet18")
    modes: tuple[str, ...] = ("fp32", "bf16", "channels_last", "bf16+channels_last")
    batch_size: int | None = None  # None: 128 for the CIFAR family, 32 for the ImageNet models
    image_size: int | None = None  # None: 32 for the CIFAR family, 112 for the ImageNet models
    steps: int = 5  # timed steps per repeat
    warmup: int = 2  # untimed steps before the first repeat
    repeats: int = 5  # interleaved repeats; the figure is their median
    device: str = "auto"
    peak_size: int = 1024  # matrix size of the matmul-peak measurement

    def __post_init__(self) -> None:
        check_fields(self)  # each field by its rule in resnet_utils._checks.RULES
        self.models, self.modes = tuple(self.models), tuple(self.modes)

    def input_shape(self, model: str) -> tuple[int, int, int, int]:
        channels, size, batch = INPUTS["imagenet" if _is_imagenet(model) else "cifar"]
        size = self.image_size or size
        return (self.batch_size or batch, channels, size, size)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _benchmark_timer():
    """torch.utils.benchmark's Timer, imported without the warning its C++-extension helper
    logs at import on a machine with a CUDA toolkit and no GPU ("No CUDA runtime is found,
    using CUDA_HOME=..."): a chapter would show it as an output."""
    import logging

    log = logging.getLogger("torch.utils.cpp_extension")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        from torch.utils.benchmark import Timer
    finally:
        log.setLevel(level)
    return Timer


def median_seconds(
    fn: Callable[[], Any], device: str | torch.device = "cpu", repeats: int = 5, inner: int = 1
) -> float:
    """Median seconds of one call of ``fn``: ``repeats`` timings of ``inner`` calls each.

    Each timing is one ``torch.utils.benchmark.Timer.timeit(inner)``, which
    first makes a few untimed calls (allocation, kernel choice) and, on an
    accelerator, synchronises it around the timed calls, since kernels run
    asynchronously. Timer runs with 1 thread unless told; we give it the
    threads torch uses, as the code being timed would have.
    """
    import contextlib

    Timer = _benchmark_timer()
    device = resolve_device(device)
    check(repeats=repeats, inner=inner, fn=fn)
    timer = Timer("fn()", globals={"fn": fn}, num_threads=torch.get_num_threads())
    # Timer synchronises the *current* accelerator: make it the one measured
    with torch.cuda.device(device) if device.type == "cuda" else contextlib.nullcontext():
        return statistics.median(timer.timeit(inner).mean for _ in range(repeats))


def matmul_peak(
    device: str | torch.device = "auto",
    dtype: torch.dtype = torch.float32,
    n: int = 1024,
    repeats: int = 5,
    detail: bool = False,
) -> float | dict[str, float]:
    """Measured FLOP/s of an ``n x n`` by ``n x n`` matrix multiply (``2 n^3`` FLOPs).

    The same product is timed two ways, because libraries differ: ``torch.mm``
    (a BLAS such as MKL on the CPU, cuBLAS on a GPU) and a 1x1 convolution in
    channels-last layout (oneDNN on the CPU, cuDNN on a GPU), which *is* a
    matrix multiply. The peak, the best this machine does, is the faster of
    the two (each the median of ``repeats`` timings by :func:`median_seconds`);
    ``detail=True`` returns both. A network reaches a fraction of it; 3x3
    convolutions can beat it, because convolution kernels are often better
    tuned than the GEMM the BLAS ships for this CPU.
    """
    device = resolve_device(device)
    check(n=n, repeats=repeats)
    side = max(1, round(n**0.5))
    m = side * side  # the 1x1 convolution multiplies (m x n) by (n x n), m ~ n
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    channels_last = torch.channels_last
    x = torch.randn(1, n, side, side, device=device, dtype=dtype).contiguous(
        memory_format=channels_last
    )
    w = torch.randn(n, n, 1, 1, device=device, dtype=dtype).contiguous(memory_format=channels_last)
    inner = max(1, int(1e9 // (2 * n**3))) if device.type == "cpu" else 20
    mm = 2 * n**3 / median_seconds(lambda: torch.mm(a, b), device, repeats, inner)
    conv = 2 * m * n * n / median_seconds(lambda: F.conv2d(x, w), device, repeats, inner)
    if detail:
        return {"mm": mm, "conv1x1": conv, "peak": max(mm, conv)}
    return max(mm, conv)


def forward_flops(model: nn.Module, shape: tuple[int, ...]) -> int:
    """FLOPs of one forward pass on a batch of ``shape`` (a multiply-add counts 2), by FlopCounterMode."""
    device = next(model.parameters()).device
    with eval_mode(model), torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.zeros(shape, device=device))
    return int(counter.get_total_flops())


class Runner:
    """One configuration (model, mode, input) ready to time training or inference steps.

    The training step is ``fit``'s own (:func:`resnet_utils.train.make_step`:
    the same optimizer, schedule, loss, precision and memory format), so the
    benchmark times exactly what the book trains with.
    """

    def __init__(
        self,
        name: str,
        mode: str,
        shape: tuple[int, int, int, int],
        device: torch.device,
        seed: int = 0,
        config: Any = None,
    ) -> None:
        from dataclasses import replace

        from .train import TrainConfig, make_step

        self.name, self.mode, self.shape, self.device = name, mode, shape, device
        precision, self.channels_last = MODES[mode]
        self.precision = resolve_precision(precision, device)
        torch.manual_seed(seed)
        self.memory_format = torch.channels_last if self.channels_last else torch.contiguous_format
        self.model = _build(name).to(device=device, memory_format=self.memory_format)
        num_classes = self.model.fc.out_features
        self.X = torch.randn(shape, device=device).contiguous(memory_format=self.memory_format)
        self.y = torch.randint(0, num_classes, (shape[0],), device=device)
        # fit's defaults (or ``config``), with this mode's precision and memory format
        self.config = replace(
            config or TrainConfig(num_epochs=1, seed=seed),
            device=str(device),
            precision=self.precision,
            channels_last=self.channels_last,
            progress=False,
        )
        # a schedule long enough for any number of timed steps
        self.step = make_step(self.model, self.config, steps_per_epoch=10**9)

    def train_step(self) -> None:
        self.model.train()
        self.step(self.X, self.y)

    @torch.no_grad()
    def infer_step(self) -> None:
        with eval_mode(self.model), autocast(self.device, self.precision):
            self.model(self.X)

    def images_per_second(self, kind: str, steps: int) -> float:
        """Run ``steps`` steps of ``kind`` ("train" or "infer") and return images per second."""
        step = self.train_step if kind == "train" else self.infer_step
        _sync(self.device)
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        _sync(self.device)
        return steps * self.shape[0] / (time.perf_counter() - t0)


def benchmark(config: BenchConfig | None = None, progress: bool = False) -> dict[str, Any]:
    """Measure every (model, mode) of ``config``, interleaved; return a JSON-ready dict.

    ``results`` has one entry per configuration with the per-repeat samples
    and medians of training and inference images/s, the achieved FLOP/s,
    their fraction of the matmul peak of the mode's dtype, and the speed-up
    over the model's fp32 (when fp32 was measured).
    """
    config = config if config is not None else BenchConfig()
    if not isinstance(config, BenchConfig):
        raise TypeError(f"config must be a BenchConfig, got {type(config).__name__}")
    device = resolve_device(config.device)
    for mode in config.modes:
        resolve_precision(MODES[mode][0], device)  # fp16 on a CPU: a clear error before any work
    dtypes = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
    used = ["fp32"] + sorted(
        {resolve_precision(MODES[m][0], device) for m in config.modes} - {"fp32"}
    )
    peak_detail = {p: matmul_peak(device, dtypes[p], config.peak_size, detail=True) for p in used}
    peak = {p: d["peak"] for p, d in peak_detail.items()}
    runners = [
        Runner(name, mode, config.input_shape(name), device)
        for name in config.models
        for mode in config.modes
    ]
    flops = {
        name: forward_flops(_build(name).to(device), config.input_shape(name))
        for name in config.models
    }
    for runner in runners:  # warm-up: allocator, oneDNN/cuDNN algorithm choice
        for _ in range(config.warmup):
            runner.train_step()
            runner.infer_step()
    samples: dict[tuple[str, str], dict[str, list[float]]] = {
        (r.name, r.mode): {"train": [], "infer": []} for r in runners
    }
    for rep in range(config.repeats):  # interleaved: every configuration once per repeat
        for runner in runners:
            for kind in ("train", "infer"):
                samples[(runner.name, runner.mode)][kind].append(
                    runner.images_per_second(kind, config.steps)
                )
        if progress:
            print(f"repeat {rep + 1}/{config.repeats} done", file=sys.stderr)
    results = []
    for runner in runners:
        s = samples[(runner.name, runner.mode)]
        train, infer = statistics.median(s["train"]), statistics.median(s["infer"])
        per_image = flops[runner.name] / runner.shape[0]
        achieved = 3 * per_image * train
        results.append(
            {
                "model": runner.name,
                "mode": runner.mode,
                "precision": runner.precision,
                "channels_last": runner.channels_last,
                "input_shape": list(runner.shape),
                "train_images_per_s": train,
                "infer_images_per_s": infer,
                "train_samples": s["train"],
                "infer_samples": s["infer"],
                "forward_flops_per_image": per_image,
                "train_flops_per_s": achieved,
                "fraction_of_peak": achieved / peak[runner.precision],
            }
        )
    for r in results:
        base = next((b for b in results if b["model"] == r["model"] and b["mode"] == "fp32"), None)
        r["train_speedup_vs_fp32"] = (
            r["train_images_per_s"] / base["train_images_per_s"] if base else None
        )
        r["infer_speedup_vs_fp32"] = (
            r["infer_images_per_s"] / base["infer_images_per_s"] if base else None
        )
    return {
        "config": asdict(config),
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU",
        "threads": torch.get_num_threads(),
        "cpu_bf16_native": bf16_supported("cpu"),
        "matmul_peak_flops_per_s": peak,
        "matmul_detail": peak_detail,
        "results": results,
        "versions": versions(),
    }


def format_table(report: dict[str, Any]) -> str:
    """The report as a Markdown table (one row per model and mode)."""
    peak = ", ".join(
        f"{k} {v / 1e9:.0f} GFLOP/s" for k, v in report["matmul_peak_flops_per_s"].items()
    )
    lines = [
        f"device: {report['device_name']} ({report['threads']} threads); matmul peak: {peak}",
        "",
        "| model | mode | input | train img/s | infer img/s | train speed-up | train GFLOP/s | of matmul peak |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in report["results"]:
        speedup = f"{r['train_speedup_vs_fp32']:.2f}x" if r["train_speedup_vs_fp32"] else "-"
        n, c, h, w = r["input_shape"]
        lines.append(
            f"| {r['model']} | {r['mode']} | {n}x{c}x{h}x{w} | {r['train_images_per_s']:,.0f} | "
            f"{r['infer_images_per_s']:,.0f} | {speedup} | {r['train_flops_per_s'] / 1e9:,.1f} | "
            f"{r['fraction_of_peak']:.0%} |"
        )
    return "\n".join(lines)
