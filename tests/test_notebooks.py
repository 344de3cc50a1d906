"""The notebooks' conventions: stored without outputs, a parameters cell first, numbered names."""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    assert NOTEBOOKS and NOTEBOOKS[0].name == "00_quickstart.ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_without_outputs(path):
    nb = json.loads(path.read_text())
    dirty = [
        i
        for i, c in enumerate(nb["cells"])
        if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count") is not None)
    ]
    assert not dirty, f"{path.name}: cells {dirty} have outputs; run `nbstripout {path}`"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_first_code_cell_is_parameters(path):
    """After the hidden setup cell (tools/setup_cell.py), the parameters come first."""
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    if code and code[0].get("id") == "setup-resnet-utils":
        code = code[1:]
    assert "parameters" in code[0].get("metadata", {}).get("tags", []), (
        f"{path.name}: tag the first code cell after the setup cell 'parameters'"
    )
    assert re.match(r"^\d\d_[a-z0-9_]+\.ipynb$", path.name)


def test_every_notebook_is_in_the_table_of_contents():
    toc = (ROOT / "_toc.yml").read_text()
    for path in NOTEBOOKS:
        assert f"notebooks/{path.stem}" in toc, f"{path.name} is missing from _toc.yml"


# The reader's edition: what the rendered page shows.
HIDDEN = {"remove-cell", "remove-input", "hide-input", "hide-cell"}
MAX_VISIBLE_ASSERTS = 40  # across the book; each one a check that teaches


def _visible_code(nb):
    """Source lines of the code cells whose input the rendered page shows."""
    for cell in nb["cells"]:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if cell["cell_type"] == "code" and not tags & HIDDEN:
            yield from "".join(cell["source"]).splitlines()


def test_visible_code_has_no_glue_or_stamp_and_few_asserts():
    asserts = 0
    for path in NOTEBOOKS:
        lines = list(_visible_code(json.loads(path.read_text())))
        plumbing = [line for line in lines if re.search(r"\bglue\(|\bstamp\(", line)]
        assert not plumbing, f"{path.name}: hide the cells that glue or stamp: {plumbing[:2]}"
        asserts += sum(bool(re.match(r"\s*assert\b", line)) for line in lines)
    assert asserts <= MAX_VISIBLE_ASSERTS, f"{asserts} visible assert lines: hide the plumbing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_code_lines_fit_the_page(path):
    nb = json.loads(path.read_text())
    long = [
        line
        for cell in nb["cells"]
        if cell["cell_type"] == "code"
        for line in "".join(cell["source"]).splitlines()
        if len(line) > 79
    ]
    assert not long, f"{path.name}: {len(long)} code lines over 79 characters: {long[:2]}"


def _objectives(path):
    first = "".join(json.loads(path.read_text())["cells"][0]["source"])
    match = re.search(
        r"By the end of this chapter you will be able to:\n\n((?:- .*\n?(?:  .*\n?)*)+)", first
    )
    return match.group(1).strip() if match else None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_chapter_opens_with_objectives_and_ends_with_a_summary(path):
    objectives = _objectives(path)
    assert objectives and 3 <= objectives.count("\n- ") + 1 <= 5, (
        f"{path.name}: the first cell lists 3-5 objectives"
    )
    text = "\n".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"])
    assert "## Summary" in text, f"{path.name}: no summary"


def test_teacher_guide_collects_the_objectives():
    guide = (ROOT / "book" / "teacher_guide.md").read_text()
    for path in NOTEBOOKS:
        objectives = _objectives(path)
        assert objectives and objectives in guide, (
            f"{path.name}: the teacher guide's objectives differ from the chapter's "
            "(rerun the section from the chapters)"
        )
