"""tools/run_notebooks.py: times notebooks in fresh kernels, fails on errors and on blown budgets,
stores them in the book's cache and runs their student editions' exercises; tools/book_cache.py
clears a cache filled with other sources."""

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
TOOL = ROOT / "tools" / "run_notebooks.py"
GUARD = ROOT / "tools" / "book_cache.py"


def _notebook(path: Path, *cells) -> Path:
    """A notebook of code cells; a cell given as (source, tags) is tagged, a str starting with
    "# md" is a markdown cell."""
    nb = nbformat.v4.new_notebook()
    for cell in cells:
        source, tags = cell if isinstance(cell, tuple) else (cell, [])
        nb.cells.append(
            nbformat.v4.new_markdown_cell(source)
            if source.startswith("# md")
            else nbformat.v4.new_code_cell(source, metadata={"tags": tags})
        )
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return path


def _run(*args, env=None):
    """Run the tool; without --cache in ``args``, with --no-cache (never the book's own cache)."""
    extra = [] if "--cache" in args else ["--no-cache"]
    return subprocess.run(
        [sys.executable, str(TOOL), *map(str, args), *extra],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def _guard(*args):
    return subprocess.run(
        [sys.executable, str(GUARD), *map(str, args)], capture_output=True, text=True, timeout=60
    )


def _sources(root: Path) -> Path:
    """A stand-in for the repository's resnet_utils/, pyproject.toml and requirements.txt."""
    (root / "resnet_utils").mkdir(parents=True)
    (root / "resnet_utils" / "models.py").write_text("DEPTH = 20\n")
    (root / "pyproject.toml").write_text("[project]\n")
    (root / "requirements.txt").write_text("torch\n")
    return root


def _cached(cache: Path, path: Path):
    """The cache record jupyter-cache matches to the notebook at ``path`` as myst-nb reads it
    (None if none)."""
    from jupyter_cache import get_cache

    try:
        return get_cache(str(cache)).match_cache_notebook(nbformat.read(path, as_version=4))
    except KeyError:
        return None


@pytest.mark.slow
def test_times_notebooks_and_enforces_budgets(tmp_path):
    fast = _notebook(tmp_path / "a_fast.ipynb", "x = 1")
    # the times include starting a kernel (about 1 s, 4 s on a busy machine): the margins are wide
    slow = _notebook(tmp_path / "b_slow.ipynb", "import time; time.sleep(8)")
    before = slow.read_text()
    ok = _run(fast, slow, "--out", tmp_path / "t")
    assert ok.returncode == 0, ok.stderr
    report = json.loads((tmp_path / "t.json").read_text())
    seconds = {r["notebook"]: r["seconds"] for r in report["notebooks"]}
    assert seconds["b_slow.ipynb"] >= 8 > seconds["a_fast.ipynb"]
    assert "| **total** |" in (tmp_path / "t.md").read_text()
    assert slow.read_text() == before  # no outputs written back
    # quiet: the kernels talk over IPC sockets (no warning about unencrypted TCP, issue 34),
    # which go with the run
    assert "WARNING" not in ok.stderr and "without encryption" not in ok.stderr, ok.stderr
    over = _run(fast, slow, "--max-notebook", "7", "--out", tmp_path / "t")
    assert over.returncode == 1 and "b_slow.ipynb took" in over.stderr
    assert "a_fast" not in over.stderr
    # (a kernel takes longer than 0.1 s to start)
    total = _run(fast, "--max-total", "0.1", "--out", tmp_path / "t")
    assert total.returncode == 1 and "all notebooks took" in total.stderr


@pytest.mark.slow
def test_a_failing_cell_fails_the_run(tmp_path):
    bad = _notebook(tmp_path / "bad.ipynb", "assert 1 + 1 == 3, 'arithmetic is broken'")
    result = _run(bad, "--out", tmp_path / "t")
    assert result.returncode == 1 and "bad.ipynb failed" in result.stderr
    assert "arithmetic is broken" in result.stderr


def _main(*args):
    """The tool in this process (for its argument errors, which start no kernel)."""
    from conftest import load_tool

    return load_tool("run_notebooks").main([*map(str, args), "--no-cache"])


def test_missing_notebook_is_a_clear_error(tmp_path, capsys):
    assert _main(tmp_path / "nope.ipynb", "--out", tmp_path / "t") == 2
    assert "no such notebook" in capsys.readouterr().err


@pytest.mark.slow
def test_budgets_grow_on_a_machine_slower_than_the_reference(tmp_path):
    # over 1 s with the kernel's start
    slow = _notebook(tmp_path / "b_slow.ipynb", "import time; time.sleep(1)")
    # a reference far faster than any machine: the 0.5 s budget grows past the notebook's 1 s
    scaled = _run(
        slow,
        "--max-notebook",
        "0.5",
        "--scale-to-machine",
        "--reference-ms",
        "0.01",
        "--out",
        tmp_path / "t",
    )
    assert scaled.returncode == 0, scaled.stderr
    budgets = json.loads((tmp_path / "t.json").read_text())["budgets"]
    assert budgets["calibration_step_ms"] > 0.01 and budgets["machine_factor"] > 100
    assert budgets["notebook"] == pytest.approx(0.5 * budgets["machine_factor"])
    # a reference slower than any machine: budgets never shrink, so 0.5 s still holds and is blown
    unscaled = _run(
        slow,
        "--max-notebook",
        "0.5",
        "--scale-to-machine",
        "--reference-ms",
        "1e9",
        "--out",
        tmp_path / "t",
    )
    assert unscaled.returncode == 1 and "over the 0.5 s budget" in unscaled.stderr
    assert json.loads((tmp_path / "t.json").read_text())["budgets"]["machine_factor"] == 1.0
    # scaling without a budget to scale: still measured and reported, no crash
    alone = _run(slow, "--scale-to-machine", "--out", tmp_path / "t")
    assert alone.returncode == 0, alone.stderr
    assert json.loads((tmp_path / "t.json").read_text())["budgets"]["calibration_step_ms"] > 0


@pytest.mark.slow
def test_the_precision_switch_reaches_the_kernels_and_the_report(tmp_path):
    # the chapters' precision="auto" resolves inside their kernels: the variable must reach them
    nb = _notebook(
        tmp_path / "p.ipynb",
        "from resnet_utils.runtime import resolve_precision\n"
        "assert resolve_precision('auto', 'cpu') == 'fp32'",
        "import time; time.sleep(0.3)",
    )
    env = {**os.environ, "RESNET_UTILS_PRECISION": "fp32", "PYTHONPATH": str(ROOT)}
    ran = _run(nb, "--out", tmp_path / "t", "--slowest", "1", env=env)
    assert ran.returncode == 0, ran.stderr
    assert "precision: 'auto' is fp32 on the CPU (RESNET_UTILS_PRECISION=fp32)" in ran.stdout
    report = json.loads((tmp_path / "t.json").read_text())
    assert report["precision"] == "fp32"
    # the cells' own times, slowest first (the sleeping cell's 0.3 s among them)
    times = [c["seconds"] for c in report["notebooks"][0]["slowest_cells"]]
    assert len(times) == 2 and times == sorted(times, reverse=True) and min(times) >= 0.3
    assert "slowest cells: " in ran.stdout and ran.stdout.count(" s, ") == 0  # --slowest 1


def test_timings_report_puts_the_runs_side_by_side(tmp_path):
    def report(precision, seconds, budget):
        rows = [
            {"notebook": f"{i:02d}.ipynb", "seconds": s, "ok": True} for i, s in enumerate(seconds)
        ]
        return {
            "machine": "x86_64, 2 CPUs",
            "precision": precision,
            "total_seconds": sum(seconds),
            "notebooks": rows,
            "budgets": {"notebook": budget, "total": 3 * budget},
        }

    paths = []
    for name, r in [
        ("a", report("bf16", [10.0, 70.0], 60)),
        ("b", report("fp32", [20.0, 80.0], 90)),
    ]:
        paths.append(tmp_path / f"{name}.json")
        paths[-1].write_text(json.dumps(r))
    tool = ROOT / "tools" / "timings_report.py"
    out = subprocess.run(
        [sys.executable, str(tool), *map(str, paths)], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert "| notebook | bf16 (≤ 60 / 180 s) | fp32 (≤ 90 / 270 s) |" in out.stdout
    assert "| 01.ipynb | 70.0 (over) | 80.0 |" in out.stdout
    assert "| **total** | **80.0** | **100.0** |" in out.stdout
    missing = subprocess.run(
        [sys.executable, str(tool), str(tmp_path / "none.json")], capture_output=True, text=True
    )
    assert missing.returncode == 1 and "no such report" in missing.stderr


def test_a_reference_time_that_is_not_positive_is_a_clear_error(tmp_path, capsys):
    nb = _notebook(tmp_path / "a.ipynb", "x = 1")
    with pytest.raises(SystemExit) as done:
        _main(nb, "--scale-to-machine", "--reference-ms", "0", "--out", tmp_path / "t")
    assert done.value.code == 2
    assert "--reference-ms must be a positive number" in capsys.readouterr().err
    assert not (tmp_path / "t.json").exists()


@pytest.mark.slow
def test_executed_notebooks_are_in_the_books_cache_and_myst_nb_uses_them(tmp_path):
    from myst_nb.core.config import NbParserConfig
    from myst_nb.core.execute import create_client

    # every execution appends to runs.txt: myst-nb must find the outputs, not execute again
    good = _notebook(
        tmp_path / "good.ipynb",
        "# md A chapter",
        (
            "from myst_nb import glue\n"
            "with open('runs.txt', 'a') as f:\n    f.write('ran\\n')\n"
            "glue('answer', 6 * 7)",
            ["hide-input"],
        ),
        "print('hello from the kernel')",
        "import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.show()",
    )
    bad = _notebook(tmp_path / "bad.ipynb", "x = 1", "1 / 0")
    cache = tmp_path / "cache"
    # as in CI, where MPLBACKEND=Agg would keep the figure out of the outputs (and the book)
    agg = {**os.environ, "MPLBACKEND": "Agg"}
    result = _run(good, bad, "--cache", cache, "--out", tmp_path / "t", env=agg)
    assert result.returncode == 1 and "bad.ipynb failed" in result.stderr
    rows = {r["notebook"]: r for r in json.loads((tmp_path / "t.json").read_text())["notebooks"]}
    assert rows["good.ipynb"]["cached"] and not rows["bad.ipynb"]["cached"]
    assert _cached(cache, good) is not None
    assert _cached(cache, bad) is None  # a failing notebook is not cached
    assert (tmp_path / "runs.txt").read_text() == "ran\n"

    class Logger:  # what myst-nb's client logs to (Sphinx's logger in a build)
        def __init__(self):
            self.messages = []

        def info(self, msg, **kwargs):
            self.messages.append(msg)

        warning = debug = info

    config = NbParserConfig(execution_mode="cache", execution_cache_path=str(cache))
    logger = Logger()
    with create_client(nbformat.read(good, as_version=4), str(good), config, logger) as client:
        outputs = [c.get("outputs") for c in client.notebook.cells if c.cell_type == "code"]
        glued = client.glue_data
    assert any("Using cached notebook" in m for m in logger.messages), logger.messages
    assert not any("Executing" in m for m in logger.messages), logger.messages
    assert (tmp_path / "runs.txt").read_text() == "ran\n"  # not executed again
    assert outputs[1][0]["text"] == "hello from the kernel\n"
    assert "image/png" in outputs[2][0]["data"]  # the figure, drawn inline
    assert glued["answer"]["data"]["text/plain"] == "42"


@pytest.mark.slow
def test_student_edition_exercises_run_in_the_chapters_kernel(tmp_path):
    chapter = (
        "import math\nresults = []",
        ("def area(r):\n    return math.pi * r * r\n\n\nradius = 2", ["solution"]),
    )
    # unanswered, the exercise fails its check with the errors a stub causes: tolerated
    # (and it sleeps 8 s in the student edition only, to tell the two times apart)
    fine = _notebook(
        tmp_path / "a_fine.ipynb",
        *chapter,
        "results.append(area(1))",
        "assert radius == 2, 'not yet'",
        "import time\ntime.sleep(8 if radius is Ellipsis else 0)",
    )
    # a check that fails in a way no unanswered exercise should: not tolerated
    divides = _notebook(
        tmp_path / "b_divides.ipynb",
        *chapter,
        "results.append(1 // (0 if radius is Ellipsis else 1))",
    )
    # the solution defined `total` in a loop, which its stub leaves out: a NameError for a student,
    # although the chapter's kernel holds `total`
    names = _notebook(
        tmp_path / "c_names.ipynb",
        "import math",
        (
            "def area(r):\n    return math.pi * r * r\n\n\n"
            "for r in range(3):\n    total = area(r)",
            ["solution"],
        ),
        "print(total)",
    )
    # IPython runs the solution, but it is no Python the student edition can be made from
    magic = _notebook(tmp_path / "d_magic.ipynb", ("%time x = 1", ["solution"]))
    result = _run(fine, divides, names, magic, "--out", tmp_path / "t")
    assert result.returncode == 1, result.stderr
    report = json.loads((tmp_path / "t.json").read_text())
    rows = {r["notebook"]: r for r in report["notebooks"]}
    assert all(r["ok"] for r in rows.values())  # the chapters themselves run
    assert rows["a_fine.ipynb"]["student_problems"] == []
    assert "a_fine" not in result.stderr
    assert "b_divides.ipynb failed: student edition cell" in result.stderr
    assert "ZeroDivisionError" in result.stderr
    assert "c_names.ipynb failed: student edition cell" in result.stderr
    assert "NameError: name 'total' is not defined" in result.stderr
    assert "d_magic.ipynb failed: student edition: source is not valid Python" in result.stderr
    # the chapter is timed on its own; the student edition's cells in a column of their own
    assert rows["a_fine.ipynb"]["student_seconds"] >= 8 > rows["a_fine.ipynb"]["seconds"]
    assert report["student_total_seconds"] >= 8
    assert "| a_fine.ipynb |" in (tmp_path / "t.md").read_text()
    assert "student edition's exercises" in (tmp_path / "t.md").read_text()
    skipped = _run(divides, names, magic, "--no-student", "--out", tmp_path / "t")
    assert skipped.returncode == 0, skipped.stderr


@pytest.mark.slow
def test_the_guard_clears_a_cache_filled_with_other_sources(tmp_path):
    root = _sources(tmp_path / "repo")
    nb = _notebook(tmp_path / "a.ipynb", "x = 1")
    cache = tmp_path / "cache"
    ok = _run(nb, "--cache", cache, "--sources-root", root, "--out", tmp_path / "t")
    assert ok.returncode == 0, ok.stderr
    assert _cached(cache, nb) is not None
    kept = _guard("--cache", cache, "--root", root)
    assert kept.returncode == 0 and "kept" in kept.stdout, kept.stdout + kept.stderr
    assert _cached(cache, nb) is not None  # same sources: make book reuses it
    (root / "resnet_utils" / "models.py").write_text("DEPTH = 56\n")
    cleared = _guard("--cache", cache, "--root", root)
    assert cleared.returncode == 0 and "cleared" in cleared.stdout
    assert _cached(cache, nb) is None  # make book executes it again
    assert _guard("--cache", cache, "--root", root).stdout.count("kept") == 1
    # run_notebooks, too, starts by clearing a cache of other sources (before it adds to it)
    ok = _run(nb, "--cache", cache, "--sources-root", root, "--out", tmp_path / "t")
    assert _cached(cache, nb) is not None
    (root / "requirements.txt").write_text("torch==2.0\n")
    other = _run(
        _notebook(tmp_path / "b.ipynb", "y = 2"),
        "--cache",
        cache,
        "--sources-root",
        root,
        "--out",
        tmp_path / "t",
    )
    assert other.returncode == 0 and "cleared" in other.stdout
    assert _cached(cache, nb) is None and _cached(cache, tmp_path / "b.ipynb") is not None
    # sources that change while a notebook runs: its outputs may be of either, so it is not cached
    edit = f"open({str(root / 'pyproject.toml')!r}, 'a').write('#')"
    edits = _notebook(tmp_path / "c.ipynb", edit)
    changed = _run(edits, "--cache", cache, "--sources-root", root, "--out", tmp_path / "t")
    assert changed.returncode == 0 and "not cached: resnet_utils/" in changed.stdout
    assert _cached(cache, edits) is None


def test_the_guard_hashes_the_sources_and_nothing_else(tmp_path):
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        from book_cache import STAMP, ensure_fresh, sources_hash
    finally:
        sys.path.remove(str(ROOT / "tools"))
    root = _sources(tmp_path / "repo")
    cache = tmp_path / "cache"
    digest = sources_hash(root)
    assert ensure_fresh(cache, digest) == "new"
    (cache / "executed").mkdir()
    assert ensure_fresh(cache, digest) == "kept" and (cache / "executed").exists()
    (root / "resnet_utils" / "__pycache__").mkdir()
    (root / "resnet_utils" / "__pycache__" / "models.cpython-311.pyc").write_bytes(b"x")
    (root / "notes.txt").write_text("not a source\n")
    assert sources_hash(root) == digest
    for change in (
        lambda: (root / "resnet_utils" / "new.py").write_text(""),
        lambda: (root / "pyproject.toml").write_text("[project]\nname = 'x'\n"),
        lambda: (root / "requirements.txt").write_text("torch\nnumpy\n"),
        lambda: (root / "resnet_utils" / "new.py").rename(root / "resnet_utils" / "b"),
    ):
        change()
        assert sources_hash(root) != digest
        digest = sources_hash(root)
        assert ensure_fresh(cache, digest) == "cleared" and not (cache / "executed").exists()
        assert (cache / STAMP).read_text().strip() == digest
        (cache / "executed").mkdir()
    (cache / STAMP).unlink()  # a cache of unknown sources (say, from an older make book)
    assert ensure_fresh(cache, digest) == "cleared"
