"""Execute notebooks one by one, each in a fresh kernel, and time them.

Run by `make test` (and `make timings`). For each notebook: a new kernel,
every cell top to bottom, in the notebook's folder, with the default
parameters. Prints a table of seconds per notebook and the total, writes it
to _build/timings.json and _build/timings.md, and exits non-zero when a
notebook fails or goes over a time budget:

    python tools/run_notebooks.py notebooks/*.ipynb --max-notebook 60 --max-total 300

So that CI executes each notebook once, two more things happen per notebook:

- **The book's cache.** A notebook that ran without error is stored in the
  jupyter-cache that Jupyter Book reads (``--cache``, default
  _build/.jupyter_cache; ``execute_notebooks: cache`` in _config.yml), and
  ``make book`` merges its outputs instead of executing it again. The cache
  records a hash of resnet_utils/, pyproject.toml and requirements.txt
  (tools/book_cache.py): a cache that records another hash is cleared first,
  a notebook is not stored when those files changed while it ran, and
  ``make book`` clears the cache when they changed after this run.
- **The student edition.** Then, in the same kernel, the cells of the student
  edition (resnet_utils.classroom.student: solutions replaced by stubs) from its first
  exercise stub to the end run with errors allowed; the cells before the stub
  are the chapter's own and have just run. The names the chapter bound from
  its first solution cell on are deleted first, so that the stubs meet what a
  student's kernel would hold. The rules are those of ``make student-check``
  (resnet_utils.classroom.student.student_problems): after the first stub only the
  errors an unanswered exercise causes; anything else fails the run like a
  failing notebook. Its seconds have a column of their own; the budgets are
  on the chapter alone. ``--no-student`` skips it.

With ``--scale-to-machine`` the budgets grow on a machine slower than the
reference one: a fixed workload (training steps of the book's ResNet-20 in
the precision the chapters train in, about 1.5 s) is timed first, and the
budgets are multiplied by ``max(1, measured / reference)``. ``make test``
uses this, so that a slow CI machine does not fail the guard while a notebook
that became slower still does. ``make timings`` does not: it holds the book
to its promise as stated, and once more with ``RESNET_UTILS_PRECISION=fp32``
(a CPU without bf16) to the fp32 promise.

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
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from traitlets.config import Config

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tools"), str(ROOT)]
from book_cache import DEFAULT_CACHE, ensure_fresh, sources_hash  # noqa: E402

# Milliseconds per step of the calibration workload, in the precision "auto" picks there, on the
# machine the book's promise (60 s a chapter, 300 s in all) is stated for: 2 cores of an AMD EPYC
# with AVX512-BF16 (Zen 4/5), bf16: 21.8 and 21.9 ms (fp32: 24.3 and 25.8 ms), 2026-12-07. An
# AMD Zen 3 without bf16 measured 37-45 ms in fp32 (the book took about 2.6 times as long there);
# an Intel Xeon with AMX runs bf16 faster than the reference, so its factor is 1.
REFERENCE_STEP_MS = 22.0

# Run silently in the kernel (no output, no execution count): the names bound before the first
# solution cell, and, before the student edition's cells, the deletion of every name bound since
# (IPython's own, which start with "_", stay).
_REMEMBER_NAMES = "__run_notebooks_names__ = set(globals())"
_FORGET_NEWER_NAMES = (
    "[globals().pop(n) for n in list(globals())"
    " if n not in __run_notebooks_names__ and not n.startswith('_')]"
)


def calibration_step_ms() -> float:
    """Median milliseconds of one SGD step of ResNet-20 on a batch of 32 3x16x16 images, on the
    CPU, in the precision the chapters' ``precision="auto"`` trains in here (bf16 where the CPU
    has bf16 instructions, else fp32; ``RESNET_UTILS_PRECISION`` decides where set)."""
    import torch

    from resnet_utils.bench import Runner, median_seconds
    from resnet_utils.runtime import resolve_precision

    precision = resolve_precision("auto", "cpu")
    runner = Runner("resnet20", precision, (32, 3, 16, 16), torch.device("cpu"))
    return 1000 * median_seconds(runner.train_step, "cpu", repeats=5, inner=10)


@dataclass
class Result:
    seconds: float = 0.0  # the chapter (kernel start included)
    error: str | None = None  # the chapter's
    cached: bool = False
    student_seconds: float | None = None  # None: no student tail ran
    student_problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # printed, not failures
    cells: list[tuple[float, str]] = field(default_factory=list)  # (seconds, cell id), code cells


def _silent(client: NotebookClient, code: str) -> None:
    msg_id = client.kc.execute(code, silent=True, store_history=False)
    content = (client.wait_for_reply(msg_id) or {}).get("content", {})
    if content.get("status") != "ok":
        raise RuntimeError(
            f"the kernel could not run {code!r}: {content.get('ename')}: {content.get('evalue')}"
        )


def _execute_chapter(
    client: NotebookClient, remember_before: int | None, cells: list[tuple[float, str]]
) -> None:
    """What ``client.execute()`` does, in a kernel already started (``client.setup_kernel()``);
    appends (seconds, cell id) of every code cell to ``cells``."""
    info = client.wait_for_reply(client.kc.kernel_info())
    if info is not None and "language_info" in info["content"]:
        client.nb.metadata["language_info"] = info["content"]["language_info"]
    for index, cell in enumerate(client.nb.cells):
        if index == remember_before:
            _silent(client, _REMEMBER_NAMES)
        t0 = time.perf_counter()
        client.execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
        if cell.cell_type == "code":
            cells.append((time.perf_counter() - t0, str(cell.get("id", index))))
    client.set_widgets_metadata()


def _execute_student_tail(client: NotebookClient, edition, name: str) -> list[str]:
    """Run the student ``edition``'s cells from its first stub on, in the chapter's kernel; return
    the problems (resnet_utils.classroom.student.student_problems)."""
    from resnet_utils.classroom.student import first_stub, student_problems

    for cell in edition.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    client.nb = edition  # execute_cell stores each cell at its index in client.nb
    client.reset_execution_trackers()
    client.allow_errors = True
    broke = []
    try:
        _silent(client, _FORGET_NEWER_NAMES)
        for index in range(first_stub(edition), len(edition.cells)):
            client.execute_cell(edition.cells[index], index)
    except Exception as err:  # a kernel that died or timed out
        broke = [f"{name}: {type(err).__name__}: {err}"[:500]]
    return student_problems(edition, name) + broke


def store_in_cache(nb, path: Path, cache: Path, seconds: float) -> None:
    """Store the executed ``nb`` (read from ``path``) in the jupyter-cache at ``cache``, as myst-nb
    does after executing a notebook (``execute_notebooks: cache``)."""
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    get_cache(str(cache)).cache_notebook_bundle(
        CacheBundleIn(nb, str(path.resolve()), data={"execution_seconds": seconds}),
        check_validity=False,
        overwrite=True,
    )


def run(
    path: Path,
    timeout: int,
    cache: Path | None = None,
    digest: str | None = None,
    sources_root: Path = ROOT,
    student: bool = True,
) -> Result:
    """Execute ``path`` in a fresh kernel; store it in ``cache`` (unless None) if it ran without
    error and the sources still hash to ``digest``; then run its student edition's tail."""
    from resnet_utils.classroom import markers
    from resnet_utils.classroom.student import student_edition

    nb = nbformat.read(path, as_version=4)
    result = Result()
    edition, stubbed = None, 0
    if student:
        try:
            edition, stubbed = student_edition(nb)
        except SyntaxError as err:  # a solution cell that is not Python (IPython's magics)
            problem = f"student edition: source is not valid Python: {err}"
            result.student_problems.append(problem[:500])
    first_solution = markers.first(nb.cells, markers.SOLUTION)
    # record_timing=False: no timing metadata in the cells, which jupyter-cache's hash would see
    # The kernel talks to this process over local IPC sockets in a private temporary folder,
    # not TCP: nothing else on the machine can connect, and ipykernel does not warn, once
    # per chapter, that the TCP connection is not encrypted.
    # (The client owns the kernel manager it makes from this config, and shuts the kernel down.)
    sockets = tempfile.TemporaryDirectory(prefix="kernel-")
    ipc = Config({"KernelManager": {"transport": "ipc", "ip": f"{sockets.name}/ipc"}})
    client = NotebookClient(
        nb,
        config=ipc,
        timeout=timeout,
        kernel_name="python3",
        record_timing=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    # The kernel's environment without MPLBACKEND (CI exports MPLBACKEND=Agg), so that ipykernel
    # draws figures inline: these outputs are the book's.
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    start = time.perf_counter()
    try:
        with client.setup_kernel(env=env):
            _execute_chapter(client, first_solution if stubbed else None, result.cells)
            result.seconds = time.perf_counter() - start
            if cache is not None:
                try:
                    if sources_hash(sources_root) != digest:
                        result.notes.append(
                            "not cached: resnet_utils/, pyproject.toml or "
                            "requirements.txt changed while it ran"
                        )
                    else:
                        store_in_cache(nb, path, cache, result.seconds)
                        result.cached = True
                except Exception as err:  # the book will execute it: slower, not wrong
                    result.notes.append(f"not cached: {type(err).__name__}: {err}")
            if stubbed:
                tail_start = time.perf_counter()
                result.student_problems = _execute_student_tail(client, edition, "student edition")
                result.student_seconds = time.perf_counter() - tail_start
    except CellExecutionError as err:
        result.seconds = time.perf_counter() - start
        result.error = str(err).strip().splitlines()[-1][:500]
    except Exception as err:  # a kernel that died or timed out
        result.seconds = time.perf_counter() - start
        result.error = f"{type(err).__name__}: {err}"[:500]
    finally:
        sockets.cleanup()
    return result


def atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("notebooks", nargs="+", type=Path)
    p.add_argument(
        "--max-notebook", type=float, help="fail when one notebook takes longer (seconds)"
    )
    p.add_argument(
        "--max-total", type=float, help="fail when all of them together take longer (seconds)"
    )
    p.add_argument(
        "--scale-to-machine",
        action="store_true",
        help="multiply the budgets by max(1, this machine's calibration time / the reference's)",
    )
    p.add_argument(
        "--reference-ms",
        type=float,
        default=REFERENCE_STEP_MS,
        help="calibration time of the reference machine "
        f"(default {REFERENCE_STEP_MS:g} ms per step)",
    )
    p.add_argument("--timeout", type=int, default=600, help="per-cell timeout (seconds)")
    p.add_argument("--out", type=Path, default=ROOT / "_build" / "timings")
    p.add_argument(
        "--cache",
        type=Path,
        default=DEFAULT_CACHE,
        help="jupyter-cache to store the executed notebooks in, for `make book` "
        "(default: _build/.jupyter_cache)",
    )
    p.add_argument("--no-cache", action="store_true", help="store nothing in a cache")
    p.add_argument(
        "--sources-root",
        type=Path,
        default=ROOT,
        help="folder whose resnet_utils/, pyproject.toml and requirements.txt the "
        "cache's hash covers (default: this repository)",
    )
    p.add_argument(
        "--slowest",
        type=int,
        default=3,
        metavar="N",
        help="print each notebook's N slowest cells (default 3; 0: none)",
    )
    p.add_argument(
        "--no-student",
        action="store_true",
        help="do not run the student editions' exercise cells after each notebook",
    )
    args = p.parse_args(argv)
    if args.reference_ms <= 0:
        p.error(
            f"--reference-ms must be a positive number of milliseconds, got {args.reference_ms:g}"
        )
    for path in args.notebooks:
        if not path.exists():
            print(f"{p.prog}: error: no such notebook: {path}", file=sys.stderr)
            return 2
    from resnet_utils.runtime import PRECISION_ENV, resolve_precision

    precision = resolve_precision("auto", "cpu")  # what the chapters' precision="auto" trains in
    forced = os.environ.get(PRECISION_ENV)
    print(
        f"precision: 'auto' is {precision} on the CPU "
        + (
            f"({PRECISION_ENV}={forced})"
            if forced
            else f"(set {PRECISION_ENV}=fp32 to force fp32)"
        ),
        flush=True,
    )
    # measured on every run (1-2 s), so that a report says how fast the machine was
    budgets = args.max_notebook is not None or args.max_total is not None
    step_ms = calibration_step_ms() if budgets or args.scale_to_machine else None
    factor = max(1.0, step_ms / args.reference_ms) if args.scale_to_machine else 1.0
    if step_ms is not None:
        print(
            f"calibration: {step_ms:.1f} ms per step (reference {args.reference_ms:g} ms): "
            + (f"budgets x {factor:.2f}" if args.scale_to_machine else "budgets not scaled"),
            flush=True,
        )
    cache, digest = None if args.no_cache else args.cache.resolve(), None
    if cache is not None:
        digest = sources_hash(args.sources_root)
        if ensure_fresh(cache, digest) == "cleared":
            print(f"{cache}: cleared (it holds outputs of other sources)", flush=True)
    max_notebook = None if args.max_notebook is None else args.max_notebook * factor
    max_total = None if args.max_total is None else args.max_total * factor
    rows, problems = [], []
    for path in args.notebooks:
        r = run(path, args.timeout, cache, digest, args.sources_root, not args.no_student)
        status = "FAILED: " + r.error if r.error else "ok"
        print(f"{path.name:32} {r.seconds:6.1f} s  {status}", flush=True)
        if r.student_seconds is not None:
            tail = f"FAILED: {len(r.student_problems)} problem(s)" if r.student_problems else "ok"
            print(
                f"{'  student edition, exercises':32} {r.student_seconds:6.1f} s  {tail}",
                flush=True,
            )
        slowest = sorted(r.cells, reverse=True)[: max(args.slowest, 0)]
        if slowest:
            print(
                "  slowest cells: " + ", ".join(f"{cell} {t:.1f} s" for t, cell in slowest),
                flush=True,
            )
        for note in r.notes:
            print(f"  {note}", flush=True)
        rows.append(
            {
                "notebook": path.name,
                "seconds": round(r.seconds, 1),
                "ok": r.error is None,
                "error": r.error,
                "cached": r.cached,
                "student_seconds": None
                if r.student_seconds is None
                else round(r.student_seconds, 1),
                "student_problems": r.student_problems,
                "slowest_cells": [
                    {"id": cell, "seconds": round(t, 1)}
                    for t, cell in sorted(r.cells, reverse=True)[:5]
                ],
            }
        )
        if r.error:
            problems.append(f"{path.name} failed: {r.error}")
        elif max_notebook is not None and r.seconds > max_notebook:
            problems.append(
                f"{path.name} took {r.seconds:.1f} s, over the {round(max_notebook, 1):g} s budget"
            )
        problems += [f"{path.name} failed: {problem}" for problem in r.student_problems]
    total = sum(r["seconds"] for r in rows)
    student_total = sum(r["student_seconds"] or 0 for r in rows)
    print(f"{'total':32} {total:6.1f} s  (student editions' exercises: {student_total:.1f} s)")
    if max_total is not None and total > max_total:
        problems.append(
            f"all notebooks took {total:.1f} s, over the {round(max_total, 1):g} s budget"
        )
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    report = {
        "machine": machine,
        "precision": precision,
        "total_seconds": round(total, 1),
        "student_total_seconds": round(student_total, 1),
        "notebooks": rows,
        "budgets": {
            "notebook": max_notebook,
            "total": max_total,
            "machine_factor": factor,
            "calibration_step_ms": None if step_ms is None else round(step_ms, 1),
            "reference_step_ms": args.reference_ms,
        },
        "cache": None if cache is None else str(cache),
        "problems": problems,
    }
    atomic_write(args.out.with_suffix(".json"), json.dumps(report, indent=2) + "\n")
    table = ["| notebook | seconds | student edition's exercises (s) |", "|---|---:|---:|"]
    table += [
        f"| {r['notebook']} | {r['seconds']:.1f} | "
        + ("–" if r["student_seconds"] is None else f"{r['student_seconds']:.1f}")
        + " |"
        for r in rows
    ]
    table.append(f"| **total** | **{total:.1f}** | {student_total:.1f} |")
    atomic_write(args.out.with_suffix(".md"), "\n".join(table + [""]))
    for problem in problems:
        print(f"{p.prog}: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
