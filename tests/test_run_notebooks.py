"""tools/run_notebooks.py: times notebooks in fresh kernels, fails on errors and on blown budgets."""

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
TOOL = ROOT / "tools" / "run_notebooks.py"


def _notebook(path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def _run(*args):
    return subprocess.run([sys.executable, str(TOOL), *map(str, args)], capture_output=True, text=True, timeout=300)


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
    over = _run(fast, slow, "--max-notebook", "7", "--out", tmp_path / "t")
    assert over.returncode == 1 and "b_slow.ipynb took" in over.stderr and "a_fast" not in over.stderr
    total = _run(fast, slow, "--max-total", "1.0", "--out", tmp_path / "t")
    assert total.returncode == 1 and "all notebooks took" in total.stderr


@pytest.mark.slow
def test_a_failing_cell_fails_the_run(tmp_path):
    bad = _notebook(tmp_path / "bad.ipynb", "assert 1 + 1 == 3, 'arithmetic is broken'")
    result = _run(bad, "--out", tmp_path / "t")
    assert result.returncode == 1 and "bad.ipynb failed" in result.stderr and "arithmetic is broken" in result.stderr


def test_missing_notebook_is_a_clear_error(tmp_path):
    result = _run(tmp_path / "nope.ipynb", "--out", tmp_path / "t")
    assert result.returncode == 2 and "no such notebook" in result.stderr


@pytest.mark.slow
def test_budgets_grow_on_a_machine_slower_than_the_reference(tmp_path):
    slow = _notebook(tmp_path / "b_slow.ipynb", "import time; time.sleep(8)")
    # a reference far faster than any machine: the 7 s budget grows past the notebook's 8 s
    scaled = _run(slow, "--max-notebook", "7", "--scale-to-machine", "--reference-ms", "0.01", "--out", tmp_path / "t")
    assert scaled.returncode == 0, scaled.stderr
    budgets = json.loads((tmp_path / "t.json").read_text())["budgets"]
    assert budgets["calibration_step_ms"] > 0.01 and budgets["machine_factor"] > 100
    assert budgets["notebook"] == pytest.approx(7 * budgets["machine_factor"])
    # a reference slower than any machine: budgets never shrink, so 7 s still holds and is blown
    unscaled = _run(slow, "--max-notebook", "7", "--scale-to-machine", "--reference-ms", "1e9", "--out", tmp_path / "t")
    assert unscaled.returncode == 1 and "over the 7 s budget" in unscaled.stderr
    assert json.loads((tmp_path / "t.json").read_text())["budgets"]["machine_factor"] == 1.0


def test_a_reference_time_that_is_not_positive_is_a_clear_error(tmp_path):
    nb = _notebook(tmp_path / "a.ipynb", "x = 1")
    result = _run(nb, "--scale-to-machine", "--reference-ms", "0", "--out", tmp_path / "t")
    assert result.returncode == 2 and "--reference-ms must be a positive number" in result.stderr
    assert not (tmp_path / "t.json").exists()
