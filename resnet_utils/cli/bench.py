"""``python -m resnet_utils.bench``: throughput of the ResNets on this machine, per mode.

Chapter 10. ``--help`` lists the models and modes; :mod:`resnet_utils.bench` measures.
"""

from __future__ import annotations

from .. import cli
from ..bench import MODES, BenchConfig, benchmark, format_table, model_names

__all__ = ["build_parser", "main"]


def build_parser():
    p = cli.parser(
        "bench",
        "Training and inference throughput of the ResNets on this machine, "
        "per precision and memory layout, interleaved repeats, medians.",
        precision=False,
        seed=False,
    )
    p.add_argument(
        "--models",
        nargs="+",
        default=list(BenchConfig.models),
        metavar="MODEL",
        help=f"any of {', '.join(model_names())}",
    )
    p.add_argument(
        "--modes",
        nargs="+",
        default=list(BenchConfig.modes),
        metavar="MODE",
        help=f"any of {', '.join(MODES)} (precision and memory format)",
    )
    p.add_argument("--batch-size", type=int)
    p.add_argument("--image-size", type=int)
    p.add_argument("--steps", type=int, default=BenchConfig.steps)
    p.add_argument("--warmup", type=int, default=BenchConfig.warmup)
    p.add_argument("--repeats", type=int, default=BenchConfig.repeats)
    p.add_argument("--peak-size", type=int, default=BenchConfig.peak_size)
    return p


def _run(args) -> int:
    config = BenchConfig(
        models=tuple(args.models),
        modes=tuple(args.modes),
        batch_size=args.batch_size,
        image_size=args.image_size,
        steps=args.steps,
        warmup=args.warmup,
        repeats=args.repeats,
        device=args.device,
        peak_size=args.peak_size,
    )
    report = benchmark(config, progress=not args.quiet)
    print(format_table(report))
    cli.write_json(args.json, "bench", config, report)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m resnet_utils.bench``; returns the exit status."""
    return cli.run(build_parser(), _run, argv)
