"""Execute notebooks one by one, each in a fresh kernel, and time them.

Run by `make test` (and `make timings`). For each notebook: a new kernel,
every cell top to bottom, in the notebook's folder, with the default
parameters. Prints a table of seconds per notebook and the total, writes it
to _build/timings.json and _build/timings.md, and exits non-zero when a
notebook fails or goes over a time budget:

    python tools/run_notebooks.py notebooks/*.ipynb --max-notebook 60 --max-total 300

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
    p.add_argument("--timeout", type=int, default=600, help="per-cell timeout (seconds)")
    p.add_argument("--out", type=Path, default=ROOT / "_build" / "timings")
    args = p.parse_args(argv)
    rows, problems = [], []
    for path in args.notebooks:
        if not path.exists():
            print(f"{p.prog}: error: no such notebook: {path}", file=sys.stderr)
            return 2
        seconds, error = run(path, args.timeout)
        status = "FAILED: " + error if error else "ok"
        print(f"{path.name:32} {seconds:6.1f} s  {status}", flush=True)
        rows.append({"notebook": path.name, "seconds": round(seconds, 1), "ok": error is None, "error": error})
        if error:
            problems.append(f"{path.name} failed: {error}")
        elif args.max_notebook is not None and seconds > args.max_notebook:
            problems.append(f"{path.name} took {seconds:.1f} s, over the {args.max_notebook:g} s budget")
    total = sum(r["seconds"] for r in rows)
    print(f"{'total':32} {total:6.1f} s")
    if args.max_total is not None and total > args.max_total:
        problems.append(f"all notebooks took {total:.1f} s, over the {args.max_total:g} s budget")
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    report = {"machine": machine, "total_seconds": round(total, 1), "notebooks": rows,
              "budgets": {"notebook": args.max_notebook, "total": args.max_total}, "problems": problems}
    atomic_write(args.out.with_suffix(".json"), json.dumps(report, indent=2) + "\n")
    table = ["| notebook | seconds |", "|---|---:|"] + [f"| {r['notebook']} | {r['seconds']:.1f} |" for r in rows]
    atomic_write(args.out.with_suffix(".md"), "\n".join(table + [f"| **total** | **{total:.1f}** |", ""]))
    for problem in problems:
        print(f"{p.prog}: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
