"""resnet_utils.classroom.student: solutions become stubs, checks stay, and the stubs fail the checks."""

import json
from pathlib import Path

import nbformat
import pytest

from resnet_utils.classroom.student import main, make_student_notebook, stub_source

SOLUTION = '''
import torch

def my_conv2d(input, weight, bias=None, stride=1, padding=0):
    """Loops."""
    return torch.zeros(1)


class Block(torch.nn.Module):
    def __init__(self, a, b, stride=1):
        super().__init__()

    def forward(self, x):
        return x


answer = 16
'''


def test_stub_source_keeps_signatures_not_bodies():
    stub = stub_source(SOLUTION)
    assert "def my_conv2d(input, weight, bias=None, stride=1, padding=0):" in stub
    assert "class Block(torch.nn.Module):" in stub and "def forward(self, x):" in stub
    assert "answer = ...  # Your answer here" in stub and "import torch" in stub
    assert "torch.zeros" not in stub and "16" not in stub and "return x" not in stub
    namespace = {}
    exec(stub, namespace)
    with pytest.raises(NotImplementedError):
        namespace["my_conv2d"](None, None)


def test_stubbed_answer_fails_its_checker():
    from resnet_utils.classroom.exercises import check_conv2d

    namespace = {}
    exec(stub_source(SOLUTION), namespace)
    with pytest.raises(AssertionError, match="not implemented yet"):
        check_conv2d(namespace["my_conv2d"])


def test_make_student_notebook(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Chapter"),
        nbformat.v4.new_markdown_cell("```{solution-start} ex\n```"),
        nbformat.v4.new_code_cell(SOLUTION, metadata={"tags": ["solution"]}),
        nbformat.v4.new_markdown_cell("A model answer: the teacher's only."),
        nbformat.v4.new_markdown_cell("```{solution-end}\n```"),
        nbformat.v4.new_code_cell("check_conv2d(my_conv2d)"),
        nbformat.v4.new_markdown_cell("```{solution-start} open\n```"),
        nbformat.v4.new_markdown_cell("Rubric of an open exercise."),
        nbformat.v4.new_markdown_cell("```{solution-end}\n```"),
        nbformat.v4.new_markdown_cell("After the exercises."),
    ]
    src = tmp_path / "01_x.ipynb"
    nbformat.write(nb, src)
    assert make_student_notebook(src, tmp_path / "out" / "01_x.ipynb") == 1
    out = nbformat.read(tmp_path / "out" / "01_x.ipynb", as_version=4)
    sources = [c.source for c in out.cells]
    assert not any("solution-start" in s or "solution-end" in s for s in sources)
    assert "Student edition" in sources[1] and "check_conv2d(my_conv2d)" in sources[-2]
    assert "torch.zeros" not in "".join(sources)
    assert "model answer" not in "".join(sources) and "Rubric" not in "".join(sources)
    assert sources[-1] == "After the exercises."


def test_no_solution_or_model_answer_reaches_the_student_edition(tmp_path):
    """Every line of every solution block (code and model answers) is gone from student/."""
    root = Path(__file__).resolve().parents[1] / "notebooks"
    assert main([str(root), str(tmp_path)]) == 0
    for path in sorted(root.glob("[0-9][0-9]_*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        student = "\n".join(
            "".join(c["source"]) for c in json.loads((tmp_path / path.name).read_text())["cells"]
        )
        inside, secret, public = False, [], []
        for c in cells:
            text = "".join(c["source"])
            if "{solution-start}" in text:
                inside = True
            elif "{solution-end}" in text:
                inside = False
            elif not inside:
                public.append(text)
            else:
                secret += [
                    line.strip()
                    for line in text.splitlines()
                    if len(line.strip()) > 12
                    and not line.strip().startswith(("def ", "class ", "import ", "from ", '"""'))
                ]
        public_text = "\n".join(public)  # lines the chapter shows anyway are no secret
        leaked = [line for line in secret if line in student and line not in public_text]
        assert not leaked, f"{path.name}: solution lines in the student edition: {leaked[:3]}"


def test_every_chapter_solution_is_stubbed(tmp_path):
    root = Path(__file__).resolve().parents[1] / "notebooks"
    assert main([str(root), str(tmp_path)]) == 0
    for path in sorted(root.glob("[0-9][0-9]_*.ipynb")):
        original = json.loads(path.read_text())
        student = json.loads((tmp_path / path.name).read_text())
        n_solutions = sum(
            "solution" in c.get("metadata", {}).get("tags", []) for c in original["cells"]
        )
        n_stubs = sum(
            "exercise-stub" in c.get("metadata", {}).get("tags", []) for c in student["cells"]
        )
        assert n_stubs == n_solutions, path.name
        assert n_solutions >= 1 or path.name.startswith("00_"), path.name


def test_cli_errors(tmp_path, capsys):
    assert main([]) == 2
    assert main([str(tmp_path), str(tmp_path / "out")]) == 1
    assert "no notebooks" in capsys.readouterr().err
    with pytest.raises(FileNotFoundError):
        make_student_notebook(tmp_path / "missing.ipynb", tmp_path / "x.ipynb")


def _executed(*cells):
    """A student notebook as executed: (tags, error name or None) per code cell."""
    nb = nbformat.v4.new_notebook()
    for tags, ename in cells:
        cell = nbformat.v4.new_code_cell("pass", metadata={"tags": tags})
        if ename:
            cell.outputs = [
                nbformat.v4.new_output("error", ename=ename, evalue="boom", traceback=[])
            ]
        nb.cells.append(cell)
    return nb


def test_student_problems_tolerate_only_what_a_stub_causes_after_the_first_stub():
    from resnet_utils.classroom.student import TOLERATED, first_stub, student_problems

    stub = (["exercise-stub"], None)
    assert first_stub(_executed(([], None), stub, ([], None))) == 1
    assert first_stub(_executed(([], None))) == 1  # none: len(cells)
    for ename in sorted(TOLERATED):
        assert student_problems(_executed(([], None), stub, ([], ename)), "ch.ipynb") == []
    before = student_problems(_executed(([], "AssertionError"), stub), "ch.ipynb")
    assert len(before) == 1 and "ch.ipynb cell 0: AssertionError" in before[0]
    assert "the chapter itself fails" in before[0]
    for ename in ("ZeroDivisionError", "NameError", "RuntimeError"):
        after = student_problems(_executed(([], None), stub, ([], ename)), "ch.ipynb")
        assert len(after) == 1 and f"ch.ipynb cell 2: {ename}" in after[0], after
        assert "not an error an unanswered exercise should cause" in after[0]


def test_student_edition_leaves_the_notebook_alone():
    from resnet_utils.classroom.student import student_edition

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_code_cell(SOLUTION, metadata={"tags": ["solution"]}),
    ]
    before = nbformat.writes(nb)
    edition, stubbed = student_edition(nb)
    assert stubbed == 1 and nbformat.writes(nb) == before
    assert edition.cells[2].metadata["tags"] == ["exercise-stub"]
    assert "Student edition" in edition.cells[1].source and edition.cells[0].source == "x = 1"
