"""Execute notebooks one by one, each in a fresh kernel, and time them.

Run by `make test` (and `make timings`). For each notebook: a new kernel,
every cell top to bottom, in the notebook's folder, with the default
parameters. Prints a table of seconds per notebook and the total, writes it
to _build/timings.json and _build/timings.md, and exits non-zero when a
notebook fails or goes over a time budget:

    python tools/run_notebooks.py notebooks/*.ipynb --max-notebook 60 --max-total 300

With ``--scale-to-machine`` the budgets grow on a machine slower than the
reference one: a fixed workload (training steps of the book's ResNet-20 in
fp32, about 1.5 s) is timed first, and the budgets are multiplied by
``max(1, measured / reference)``. ``make test`` uses this, so that a slow CI
machine does not fail the guard while a notebook that became slower still does.

Nothing is written back into the notebooks (they stay without outputs).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]

# Milliseconds per step of the calibration workload on the slowest machine the budgets of `make test`
# were set on: an AMD EPYC (Zen 3, AVX2) VM with 2 cores, where five runs gave 37-45 ms. (An Intel
# Xeon with AMX ran the notebooks 2-3 times faster.)
REFERENCE_STEP_MS = 45.0


def calibration_step_ms() -> float:
    """Median milliseconds of one fp32 SGD step of ResNet-20 on a batch of 32 3x16x16 images, on the CPU."""
    import torch

    sys.path.insert(0, str(ROOT))
    from resnet_utils.bench import Runner, median_seconds

    runner = Runner("resnet20", "fp32", (32, 3, 16, 16), torch.device("cpu"))
    return 1000 * median_seconds(runner.train_step, "cpu", repeats=5, inner=10)


def run(path: Path, timeout: int) -> tuple[float, str | None]:
    """Execute ``path`` in a fresh kernel; return (seconds, error message or None)."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as err:
        return time.perf_counter() - start, str(err).strip().splitlines()[-1][:500]
    except Exception as err:  # a kernel that died or timed out
        return time.perf_counter() - start, f"{type(err).__name__}: {err}"[:500]
    return time.perf_counter() - start, None


def atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("notebooks", nargs="+", type=Path)
    p.add_argument("--max-notebook", type=float, help="fail when one notebook takes longer (seconds)")
    p.add_argument("--max-total", type=float, help="fail when all of them together take longer (seconds)")
    p.add_argument("--scale-to-machine", action="store_true",
                   help="multiply the budgets by max(1, this machine's calibration time / the reference's)")
    p.add_argument("--reference-ms", type=float, default=REFERENCE_STEP_MS,
                   help=f"calibration time of the reference machine (default {REFERENCE_STEP_MS:g} ms per step)")
    p.add_argument("--timeout", type=int, default=600, help="per-cell timeout (seconds)")
    p.add_argument("--out", type=Path, default=ROOT / "_build" / "timings")
    args = p.parse_args(argv)
    if args.reference_ms <= 0:
        p.error(f"--reference-ms must be a positive number of milliseconds, got {args.reference_ms:g}")
    for path in args.notebooks:
        if not path.exists():
            print(f"{p.prog}: error: no such notebook: {path}", file=sys.stderr)
            return 2
    factor, step_ms = 1.0, None
    if args.scale_to_machine:
        step_ms = calibration_step_ms()
        factor = max(1.0, step_ms / args.reference_ms)
        print(f"calibration: {step_ms:.1f} ms per step (reference {args.reference_ms:g} ms): "
              f"budgets x {factor:.2f}", flush=True)
    max_notebook = None if args.max_notebook is None else args.max_notebook * factor
    max_total = None if args.max_total is None else args.max_total * factor
    rows, problems = [], []
    for path in args.notebooks:
        seconds, error = run(path, args.timeout)
        status = "FAILED: " + error if error else "ok"
        print(f"{path.name:32} {seconds:6.1f} s  {status}", flush=True)
        rows.append({"notebook": path.name, "seconds": round(seconds, 1), "ok": error is None, "error": error})
        if error:
            problems.append(f"{path.name} failed: {error}")
        elif max_notebook is not None and seconds > max_notebook:
            problems.append(f"{path.name} took {seconds:.1f} s, over the {round(max_notebook, 1):g} s budget")
    total = sum(r["seconds"] for r in rows)
    print(f"{'total':32} {total:6.1f} s")
    if max_total is not None and total > max_total:
        problems.append(f"all notebooks took {total:.1f} s, over the {round(max_total, 1):g} s budget")
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    report = {"machine": machine, "total_seconds": round(total, 1), "notebooks": rows,
              "budgets": {"notebook": max_notebook, "total": max_total, "machine_factor": factor,
                          "calibration_step_ms": step_ms}, "problems": problems}
    atomic_write(args.out.with_suffix(".json"), json.dumps(report, indent=2) + "\n")
    table = ["| notebook | seconds |", "|---|---:|"] + [f"| {r['notebook']} | {r['seconds']:.1f} |" for r in rows]
    atomic_write(args.out.with_suffix(".md"), "\n".join(table + [f"| **total** | **{total:.1f}** |", ""]))
    for problem in problems:
        print(f"{p.prog}: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
