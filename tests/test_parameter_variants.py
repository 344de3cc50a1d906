"""Every chapter runs with its parameters changed as its parameters cell invites.

Papermill-style: a cell with new values goes right after the cell tagged
``parameters``, and the chapter runs top to bottom in a fresh kernel. A
reduced budget (what a reader in a hurry sets) and an enlarged one (what
the comments suggest for a GPU, scaled to fit a CPU test) must both run
without an error: the invariants hold for every setting, and the findings
the prose states are checked only at the book's settings (``Findings``),
so a changed setting shows one line instead of an ``AssertionError``.
The test also checks that line is there.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"

# chapter: (reduced, enlarged); None where the chapter has no budget to enlarge
VARIANTS: dict[str, tuple[dict, dict | None]] = {
    "00": ({"num_epochs": 3, "seed": 1}, {"num_epochs": 20}),
    "01": ({"photo": "coffee", "seed": 1}, None),
    "02": ({"num_epochs": 3, "seeds": [0, 1]}, {"num_epochs": 12, "seeds": [0, 1, 2, 3]}),
    "03": ({"num_epochs": 3, "depth": 20, "seeds": [0, 1]}, {"num_epochs": 12}),
    "04": ({"image_size": 64, "seed": 1}, None),
    "05": ({"num_workers_to_compare": [0], "seed": 1}, None),
    "06": ({"num_epochs": 3, "seeds": [0]}, {"num_epochs": 20}),
    "07": ({"num_epochs": 3, "seeds": [0, 1]}, {"num_epochs": 20}),
    "08": ({"num_epochs": 3, "grid": 5, "seeds": [0]}, {"num_epochs": 10}),
    "09": ({"steps": 40, "pretrain_epochs": 4, "seeds": [0]}, {"steps": 120}),
    "10": ({"repeats": 1, "measure_compile": False, "ddp_epochs": 2}, {"ddp_epochs": 6}),
}
NOTE = "this run is your experiment"


def _path(chapter: str) -> Path:
    (path,) = NOTEBOOKS.glob(f"{chapter}_*.ipynb")
    return path


def inject(nb, values: dict) -> None:
    """Insert papermill's 'injected-parameters' cell right after the parameters cell."""
    index = next(
        i for i, c in enumerate(nb.cells) if "parameters" in c.get("metadata", {}).get("tags", [])
    )
    source = "\n".join(f"{k} = {v!r}" for k, v in values.items())
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]})
    nb.cells.insert(index + 1, cell)


def test_every_chapter_has_variants():
    chapters = sorted(p.name[:2] for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    assert chapters == sorted(VARIANTS)


def test_variants_name_real_parameters():
    for chapter, variants in VARIANTS.items():
        nb = nbformat.read(_path(chapter), as_version=4)
        (params,) = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
        names = {line.split("=")[0].strip() for line in params.source.splitlines() if "=" in line}
        for values in filter(None, variants):
            assert set(values) <= names, (chapter, set(values) - names)


def test_inject_goes_after_the_parameters_cell():
    nb = nbformat.read(_path("02"), as_version=4)
    n = len(nb.cells)
    inject(nb, {"num_epochs": 3})
    index = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    assert len(nb.cells) == n + 1 and nb.cells[index + 1].source == "num_epochs = 3"


CASES = [
    pytest.param(chapter, kind, values, id=f"{chapter}-{kind}")
    for chapter, variants in VARIANTS.items()
    for kind, values in zip(("reduced", "enlarged"), variants)
    if values is not None
]


@pytest.mark.slow
@pytest.mark.parametrize("chapter, kind, values", CASES)
def test_chapter_runs_with_changed_parameters(chapter, kind, values):
    from nbclient import NotebookClient

    path = _path(chapter)
    nb = nbformat.read(path, as_version=4)
    inject(nb, values)
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    client = NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute(env=env)  # raises CellExecutionError on the first failing cell
    outputs = [
        o.get("data", {}).get("text/markdown", "")
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
    ]
    has_findings = any("Findings(" in c.source for c in nb.cells if c.cell_type == "code")
    if has_findings:
        assert any(NOTE in text for text in outputs), "no note that the run is the reader's"
