"""The student edition: the chapters with every solution replaced by a stub.

``make student`` runs ``python -m resnet_utils.classroom.student notebooks student``.
Cells tagged ``solution`` keep their function and class signatures, with
bodies that ``raise NotImplementedError``; assignments become
``name = ...``; the check cells stay, so students get instant feedback from
:mod:`resnet_utils.classroom.exercises`. The markdown that wraps solutions in
the rendered book (``solution-start``/``solution-end``) is removed, with every
other cell between the two (model answers and rubrics of open exercises); the
markers are read by :mod:`.markers`.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from . import markers

__all__ = [
    "stub_source",
    "student_edition",
    "make_student_notebook",
    "first_stub",
    "student_problems",
    "run_student_notebook",
    "main",
]

BANNER = (
    "**Student edition.** The solutions to the exercises have been removed. Write your answer "
    "in each cell marked `# Your code here`, then run the check cell below it: it tells you at "
    "once whether your answer is right, and if not, what went wrong."
)


def _stub_function(node: ast.FunctionDef, indent: str = "") -> list[str]:
    lines = [f"{indent}def {node.name}({ast.unparse(node.args)}):"]
    doc = ast.get_docstring(node)
    if doc:
        lines.append(f'{indent}    """{doc}"""')
    lines += [f"{indent}    # Your code here", f"{indent}    raise NotImplementedError"]
    return lines


def stub_source(source: str) -> str:
    """Replace the solution code in ``source`` by stubs (see the module docstring)."""
    out: list[str] = []
    for node in ast.parse(source).body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            out.append(ast.unparse(node))
        elif isinstance(node, ast.FunctionDef):
            out.append("\n".join(_stub_function(node)))
        elif isinstance(node, ast.ClassDef):
            bases = ", ".join(ast.unparse(b) for b in node.bases)
            lines = [f"class {node.name}({bases}):" if bases else f"class {node.name}:"]
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    lines += _stub_function(item, "    ") + [""]
            out.append(
                "\n".join(lines).rstrip()
                if len(lines) > 1
                else lines[0] + "\n    pass  # Your code here"
            )
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            out.append(" = ".join(ast.unparse(t) for t in targets) + " = ...  # Your answer here")
    return "\n\n\n".join(out) + "\n"


def student_edition(nb):
    """The student edition of notebook ``nb`` (a copy) and the number of stubbed cells."""
    import copy

    import nbformat

    nb = copy.deepcopy(nb)
    cells, stubbed = [], 0
    for part in markers.parts(nb.cells):
        cell = part.cell
        if part.role in ("solution-start", "solution-end", "answer"):
            continue  # the markers, and the model answers and rubrics: the teacher's only
        if part.role == "solution" and cell.cell_type == "code":
            cell.source = stub_source(cell.source)
            cell.metadata["tags"] = [t for t in markers.tags(cell) if t != markers.SOLUTION]
            cell.metadata["tags"].append(markers.STUB)
            stubbed += 1
        cells.append(cell)
    if stubbed:
        cells.insert(1, nbformat.v4.new_markdown_cell(BANNER))
    nb.cells = cells
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"s{i:03d}"
    return nb, stubbed


def make_student_notebook(src: str | Path, dst: str | Path) -> int:
    """Write the student edition of notebook ``src`` to ``dst``; return the stubbed cells."""
    import nbformat

    dst = Path(dst)
    nb, stubbed = student_edition(nbformat.read(src, as_version=4))
    dst.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, dst)
    return stubbed


# Errors a stub may cause in the check cells after it; anything else is a real failure.
TOLERATED = {
    "NotImplementedError",
    "AssertionError",
    "TypeError",
    "AttributeError",
    "ValueError",
    "InvalidParameterError",
}  # scikit-learn's, when an answer is still `...`


def first_stub(nb) -> int:
    """Index of the first cell tagged ``exercise-stub`` in ``nb`` (``len(nb.cells)`` when none)."""
    index = markers.first(nb.cells, markers.STUB)
    return len(nb.cells) if index is None else index


def student_problems(nb, name: str) -> list[str]:
    """The problems in the outputs of executed student notebook ``nb`` ([] when none).

    Before the first stub, any error means the chapter itself fails; after it, only the errors
    in :data:`TOLERATED` (an unanswered exercise's) pass. Cells not executed pass, so this also
    checks a notebook run from its first stub on (``tools/run_notebooks.py``, after the chapter).
    """
    stub = first_stub(nb)
    problems = []
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if out.get("output_type") != "error":
                continue
            where = f"{name} cell {i}: {out['ename']}: {out['evalue'][:200]}"
            if i < stub:
                problems.append(f"{where} (before the first exercise: the chapter itself fails)")
            elif out["ename"] not in TOLERATED:
                problems.append(f"{where} (not an error an unanswered exercise should cause)")
    return problems


def run_student_notebook(path: str | Path, timeout: int = 600) -> list[str]:
    """Execute a student notebook; return its :func:`student_problems`."""
    import nbformat
    from nbclient import NotebookClient

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb,
        timeout=timeout,
        allow_errors=True,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    return student_problems(nb, path.name)


def main(argv: list[str] | None = None) -> int:
    """``python -m resnet_utils.classroom.student SRC_DIR DST_DIR`` writes the student edition of
    every notebook of SRC_DIR; ``... --check NOTEBOOK...`` executes student notebooks."""
    prog = "python -m resnet_utils.classroom.student"
    args = sys.argv[1:] if argv is None else argv
    problems = []
    if args[:1] == ["--check"]:
        for nb_path in args[1:]:
            found = run_student_notebook(nb_path)
            print(f"{nb_path}: {'ok' if not found else f'{len(found)} problem(s)'}")
            problems += found
    elif len(args) == 2:
        notebooks = sorted(Path(args[0]).glob("*.ipynb"))
        problems += [] if notebooks else [f"no notebooks in {args[0]}"]
        for path in notebooks:
            n = make_student_notebook(path, Path(args[1]) / path.name)
            print(f"{Path(args[1]) / path.name}: {n} solution cell(s) replaced by stubs")
    else:
        print(f"usage: {prog} SRC_DIR DST_DIR | --check NOTEBOOK...", file=sys.stderr)
        return 2
    for problem in problems:
        print(f"{prog}: error: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
