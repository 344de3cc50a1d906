"""resnet_utils.classroom.grade: the book's checks grade a class, and no bad submission stops the run.

A tiny synthetic book (one notebook, two graded exercises: one calls ``check_cross_entropy``,
one asserts; and an open one) keeps each kernel run to a few seconds; the tests that start
kernels are marked slow. One of them grades a real chapter.
"""

import csv
import io
import json
import shutil
from pathlib import Path

import nbformat
import pytest

from resnet_utils.classroom import grade
from resnet_utils.classroom.student import make_student_notebook

ROOT = Path(__file__).resolve().parents[1]
md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell

CE_SOLUTION = """\
def my_cross_entropy(logits, targets):
    shifted = logits - logits.max(dim=1, keepdim=True).values
    log_probs = shifted - shifted.exp().sum(dim=1, keepdim=True).log()
    return -log_probs[torch.arange(len(targets)), targets].mean()"""
CE_CHECK = "from resnet_utils.classroom.exercises import check_cross_entropy\n\ncheck_cross_entropy(my_cross_entropy)"
SQUARE_CHECK = "assert answer == math.isqrt(256)\nprint('correct')"


def _exercise(label, text, solution, check):
    cells = [md(f"```{{exercise}}\n:label: {label}\n\n{text}\n```")]
    if solution is not None:
        cells += [
            md(f"```{{solution-start}} {label}\n:class: dropdown\n```"),
            code(solution, metadata={"tags": ["solution"]}),
            md("```{solution-end}\n```"),
            code(check),
        ]
    return cells


def _book_notebook():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        md("# 1. Tiny\n\nA chapter with three exercises."),
        code("import math\n\nimport torch", metadata={"tags": ["parameters"]}),
        md("## Exercises"),
        *_exercise("ex-tiny-ce", "Write `my_cross_entropy`.", CE_SOLUTION, CE_CHECK),
        *_exercise("ex-tiny-square", "Set `answer` to 16.", "answer = 16", SQUARE_CHECK),
        *_exercise("ex-tiny-open", "Discuss.", None, None),
        code("from resnet_utils.runtime import stamp", metadata={"tags": ["remove-input"]}),
    ]
    return nb


@pytest.fixture(scope="module")
def book_dir(tmp_path_factory):
    """A book: 01_tiny.ipynb (two graded exercises and an open one) and 00_intro.ipynb (none);
    its student edition in ``book_dir / "student"``."""
    root = tmp_path_factory.mktemp("book")
    source = root / "notebooks"
    source.mkdir()
    nbformat.write(_book_notebook(), source / "01_tiny.ipynb")
    intro = nbformat.v4.new_notebook()
    intro.cells = [md("# 0. Intro"), code("x = 1")]
    nbformat.write(intro, source / "00_intro.ipynb")
    make_student_notebook(source / "01_tiny.ipynb", root / "student" / "01_tiny.ipynb")
    return root


def _student(submissions, name, notebook, *, as_name="01_tiny.ipynb", edit=None):
    """Write ``notebook`` (a path), changed by ``edit(cells)``, as ``name``'s ``as_name``."""
    nb = nbformat.read(notebook, as_version=4)
    if edit:
        edit(nb.cells)
    folder = submissions / name
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / as_name)
    return folder


def _rows(csv_path):
    return list(csv.DictReader(io.StringIO(Path(csv_path).read_text())))


def _by_key(rows):
    return {(r.student, r.notebook, r.exercise): r for r in rows}


# --- Reading the book (no kernel) ---------------------------------------------------------------


def test_read_book_notebook_finds_checks_and_open_exercises():
    book = grade.read_book_notebook(_book_notebook(), "01_tiny.ipynb")
    assert [e.label for e in book.exercises] == ["ex-tiny-ce", "ex-tiny-square", "ex-tiny-open"]
    ce, square, open_ = book.exercises
    assert ce.check == CE_CHECK and ce.automatic
    assert square.check == SQUARE_CHECK and square.automatic  # an assert
    assert not open_.automatic and open_.check == "" and book.open == (open_,)
    assert "import math" in book.imports and "check_cross_entropy" in book.imports
    assert "stamp" in book.imports  # every import the book makes, for the checks
    assert "my_cross_entropy" not in book.imports  # nothing of the solutions


def test_exercise_without_a_check_or_assert_is_open():
    nb = nbformat.v4.new_notebook()
    nb.cells = _exercise("ex-a", "Print.", "x = 2", "print(x)") + _exercise(
        "ex-b", "Two in a cell.", "y = 1", "check_thing(y)"
    )
    nb.cells[0].source += "\n\n```{exercise}\n:label: ex-c\n\nAnother.\n```"
    book = grade.read_book_notebook(nb, "x.ipynb")
    assert [(e.label, e.automatic) for e in book.exercises] == [
        ("ex-a", False),
        ("ex-c", False),
        ("ex-b", True),
    ]


def test_the_real_book_is_read():
    book = grade.load_book(ROOT / "notebooks")
    loops = {e.label: e for e in book["01_convolution.ipynb"].exercises}["ex-conv-loops"]
    assert loops.automatic and "check_conv2d(my_conv2d)" in loops.check
    assert "def my_conv2d" not in loops.check
    assert "ex-train-ce" in {e.label for e in book["06_training.ipynb"].automatic}


def test_checks_run_after_the_students_cells_of_their_exercise():
    book = grade.read_book_notebook(_book_notebook(), "01_tiny.ipynb")
    cells = [
        md("# 1"),
        code("a = 1"),
        md(":::{exercise}\n:label: ex-tiny-ce\n:::"),
        code("def my_cross_entropy(l, t): ..."),
        md("my notes"),  # a student's own markdown does not end the exercise
        code("b = 2"),
        md("```{exercise}\n:label: ex-tiny-open\n```"),  # ex-tiny-square's text was deleted
        code("answer = 16"),
    ]
    steps = grade._plan(cells, book)
    order = [s.label or s.index for s in steps if not s.prepare]
    assert order == [1, 3, 5, "ex-tiny-ce", "ex-tiny-square", 7]
    prepare = next(s for s in steps if s.prepare).source
    assert (
        "sys.modules.pop('resnet_utils.classroom.exercises'" in prepare
        and "import math" in prepare
    )


def test_feedback_is_one_paragraph_that_says_what_failed():
    check = "x = 1\nfor d in [1, 2]:\n    assert f(d) == (\n        d\n    ), d\nprint('ok')"
    tb = ["\x1b[31mAssertionError\x1b[0m", "Cell \x1b[32mIn[7], line 4\x1b[0m\n----> 4 d"]
    error = {"ename": "AssertionError", "evalue": "2", "traceback": tb}
    assert grade._feedback(error, check, 7, 100) == "the check `assert f(d) == d, d` failed: 2"
    assert grade._feedback(error, check, 8, 100) == "the check failed: 2"  # another cell's frame
    hint = {"ename": "AssertionError", "evalue": "check_conv2d: with\n x, expected 1, got 2"}
    assert grade._feedback(hint, check, 7, 100) == "check_conv2d: with x, expected 1, got 2"
    stub = {"ename": "NotImplementedError", "evalue": ""}
    assert "not answered yet" in grade._feedback(stub, check, 7, 100)
    name = {"ename": "NameError", "evalue": "name 'f' is not defined", "traceback": tb}
    assert grade._feedback(name, check, 7, 100) == (
        "NameError: name 'f' is not defined (in the check `assert f(d) == d, d`)"
    )
    memory = {"ename": "MemoryError", "evalue": "<object at 0x7f3a2b1c9d80>"}
    assert grade._feedback(memory, check, 7, 512) == (
        "MemoryError: <object at 0x...> (the grader limits each notebook to 512 MB)"
    )


# --- Bad submissions that need no kernel ----------------------------------------------------------


def _bad_class(submissions, book_dir):
    """Students whose files cannot be graded, without starting a kernel."""
    (submissions / "ann").mkdir(parents=True)  # an empty folder
    (submissions / "ann" / ".ipynb_checkpoints").mkdir()  # hidden: ignored
    bob = submissions / "bob"
    bob.mkdir()
    (bob / "01_tiny.ipynb").write_text('{"cells": [}')  # a known name, invalid JSON
    (bob / "notes.txt").write_text("my answers")
    nbformat.write(nbformat.v4.new_notebook(), bob / "scratch.ipynb")  # nothing to match it by
    (bob / "old").mkdir()
    (bob / "02_x.ipynb").write_text("[1, 2]")  # JSON, not a notebook
    no_source = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    del no_source.cells[0]["source"]  # a notebook that nbformat's schema rejects
    (bob / "03_y.ipynb").write_text(json.dumps(no_source))
    _student(
        submissions, "cy", book_dir / "notebooks" / "00_intro.ipynb", as_name="00_intro.ipynb"
    )
    (submissions / "README.md").write_text("a stray file")


def test_bad_submissions_each_get_a_row_and_the_run_goes_on(tmp_path, book_dir):
    _bad_class(tmp_path / "sub", book_dir)
    book = grade.load_book(book_dir / "notebooks")
    rows = _by_key(grade.grade_submissions(tmp_path / "sub", book))
    assert "empty" in rows["ann", "", "error"].feedback
    bad_json = rows["bob", "01_tiny.ipynb", "error"].feedback
    assert "not a Jupyter notebook (JSONDecodeError" in bad_json and "line 1 column 12" in bad_json
    for label in ("ex-tiny-ce", "ex-tiny-square"):  # the exercises of a known notebook: failed
        row = rows["bob", "01_tiny.ipynb", label]
        assert row.passed is False and "could not be read" in row.feedback
    assert "not a notebook (a .txt file)" in rows["bob", "notes.txt", "error"].feedback
    assert "01_tiny.ipynb" in rows["bob", "notes.txt", "error"].feedback  # what is expected
    assert "not one of the book's notebooks" in rows["bob", "scratch.ipynb", "error"].feedback
    assert "not a Jupyter notebook" in rows["bob", "02_x.ipynb", "error"].feedback
    assert "'source' is a required property" in rows["bob", "03_y.ipynb", "error"].feedback
    assert "a folder, not a notebook" in rows["bob", "old/", "error"].feedback
    assert "no automatically checked" in rows["cy", "00_intro.ipynb", "note"].feedback
    assert "not a student's folder" in rows["README.md", "", "error"].feedback
    assert len(rows) == 11 and all(r.passed in (None, False) for r in rows.values())


def test_csv_is_deterministic_and_written_atomically(tmp_path, book_dir, monkeypatch, capsys):
    _bad_class(tmp_path / "sub", book_dir)
    args = [str(tmp_path / "sub"), "--csv", str(tmp_path / "out" / "grades.csv"),
            "--source", str(book_dir / "notebooks")]  # fmt: skip
    assert grade.main(args) == 0
    err = capsys.readouterr().err  # the totals, once
    assert "ann: 0 of 0 exercises passed\nbob: 0 of 2 exercises passed\n" in err
    assert "README.md:" not in err and "gradebook in" in err
    args.append("--quiet")
    assert grade.main(args) == 0 and capsys.readouterr().err == ""
    first = (tmp_path / "out" / "grades.csv").read_bytes()
    assert grade.main(args) == 0 and (tmp_path / "out" / "grades.csv").read_bytes() == first
    rows = _rows(tmp_path / "out" / "grades.csv")
    assert list(rows[0]) == list(grade.COLUMNS)
    keys = [(r["student"], r["notebook"], r["exercise"]) for r in rows]
    assert keys == sorted(keys) and keys[0] == ("README.md", "", "error")
    assert sorted(p.name for p in (tmp_path / "out" / "feedback").iterdir()) == [
        "ann.md",
        "bob.md",
        "cy.md",
    ]
    feedback = (tmp_path / "out" / "feedback" / "bob.md").read_text()
    assert feedback.startswith("# Feedback for bob\n\n0 of 2 automatically checked")
    assert "not graded automatically (your teacher reads these): `ex-tiny-open`" in feedback

    def killed(*args, **kwargs):  # a run killed midway
        raise KeyboardInterrupt

    monkeypatch.setattr(grade, "feedback_markdown", killed)
    assert grade.main(args) == 130
    assert (tmp_path / "out" / "grades.csv").read_bytes() == first
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "feedback",
        "grades.csv",
    ]  # no temporary file left
    assert "interrupted" in capsys.readouterr().err


def test_bad_arguments_exit_1_with_one_line(tmp_path, book_dir, capsys):
    source = ["--source", str(book_dir / "notebooks")]
    out = ["--csv", str(tmp_path / "g.csv")]
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "a.ipynb").write_text("{}")
    (tmp_path / "plain").mkdir()
    nbformat.write(nbformat.v4.new_notebook(), tmp_path / "plain" / "a.ipynb")
    cases = {
        "missing' holds no folder": [str(tmp_path / "missing"), *out, *source],
        "files' holds no folder": [str(tmp_path / "files"), *out, *source],
        "--timeout": [str(tmp_path), *out, *source, "--timeout", "0"],
        "--memory-mb": [str(tmp_path), *out, *source, "--memory-mb", "100"],
        "--device": [str(tmp_path), *out, *source, "--device", "cuda"],
        "has an exercise with a check": [str(tmp_path), *out, "--source", str(tmp_path / "plain")],
        "no notebook in": [str(tmp_path), *out, "--source", str(tmp_path / "missing")],
        "a.ipynb: not a Jupyter": [str(tmp_path), *out, "--source", str(tmp_path / "files")],
        "unrecognized arguments: --json": [str(tmp_path), *out, *source, "--json", "g.json"],
        "required: --csv": [str(tmp_path), *source],
    }
    for words, argv in cases.items():
        assert grade.main(argv) == 1, words
        err = capsys.readouterr().err
        assert (
            err.count("\n") == 1
            and words in err
            and "python -m resnet_utils.classroom.grade" in err
        ), err
    assert not (tmp_path / "g.csv").exists()


# --- Kernels ------------------------------------------------------------------------------------


def _grade(submissions, book_dir, **limits):
    book = grade.load_book(book_dir / "notebooks")
    return _by_key(grade.grade_submissions(submissions, book, **limits))


@pytest.mark.slow
def test_reference_passes_stubs_fail_and_patched_checkers_do_not_help(tmp_path, book_dir):
    sub = tmp_path / "sub"
    _student(sub, "ref", book_dir / "notebooks" / "01_tiny.ipynb")
    _student(sub, "stub", book_dir / "student" / "01_tiny.ipynb")

    def cheat(cells):  # the stubs stay; the checker and the assert are "fixed"
        cells.insert(
            3,
            code(
                "import resnet_utils.classroom.exercises as ex\n"
                "ex.check_cross_entropy = lambda *a: None\n"
                "check_cross_entropy = lambda *a: None\n"
                "math = type('fake', (), {'isqrt': lambda n: ...})\n"
            ),
        )

    _student(sub, "cheat", book_dir / "student" / "01_tiny.ipynb", edit=cheat)
    csv_path = tmp_path / "grades.csv"
    argv = [str(sub), "--csv", str(csv_path), "--source", str(book_dir / "notebooks"),
            "--timeout", "60", "--quiet"]  # fmt: skip
    assert grade.main(argv) == 0
    rows = {(r["student"], r["exercise"]): r for r in _rows(csv_path)}
    assert set(rows) == {
        (s, e) for s in ("ref", "stub", "cheat") for e in ("ex-tiny-ce", "ex-tiny-square")
    }
    assert rows["ref", "ex-tiny-ce"]["passed"] == rows["ref", "ex-tiny-square"]["passed"] == "1"
    assert rows["ref", "ex-tiny-ce"]["feedback"] == ""
    ce, square = rows["stub", "ex-tiny-ce"], rows["stub", "ex-tiny-square"]
    assert ce["passed"] == square["passed"] == "0"
    assert ce["feedback"].startswith("check_cross_entropy: not implemented yet")
    assert square["feedback"] == "the check `assert answer == math.isqrt(256)` failed"
    assert rows["cheat", "ex-tiny-ce"]["passed"] == "0"
    assert rows["cheat", "ex-tiny-ce"]["feedback"] == ce["feedback"]
    assert rows["cheat", "ex-tiny-square"]["passed"] == "0"  # the book's `import math` again
    assert "\n2 of 2 automatically checked" in (tmp_path / "feedback" / "ref.md").read_text()
    feedback = (tmp_path / "feedback" / "stub.md").read_text()
    assert "- `ex-tiny-ce`: **not passed**: check_cross_entropy: not implemented yet" in feedback


@pytest.mark.slow
def test_infinite_loop_hits_the_time_limit(tmp_path, book_dir):
    def loop(cells):
        cells.insert(3, code("while True:\n    pass"))

    _student(tmp_path, "lo", book_dir / "notebooks" / "01_tiny.ipynb", edit=loop)
    rows = _grade(tmp_path, book_dir, timeout=3)
    error = rows["lo", "01_tiny.ipynb", "error"].feedback
    assert error == "the time limit of 3 s was reached in cell 4 (`while True:`)"
    for label in ("ex-tiny-ce", "ex-tiny-square"):
        assert rows["lo", "01_tiny.ipynb", label].feedback == "not graded: " + error


@pytest.mark.slow
@pytest.mark.parametrize(
    "crash, message",
    [
        ("import os\nos._exit(1)", "the kernel exited with status 1 in cell 4 (`import os`)"),
        (
            "import ctypes\nctypes.string_at(0)",
            "the kernel was killed by signal SIGSEGV in cell 4 (`import ctypes`)",
        ),
        ("exit()", "the code asked the kernel to exit (`exit()`) in cell 4 (`exit()`)"),
    ],
)
def test_a_kernel_that_dies_is_reported(tmp_path, book_dir, crash, message):
    def die(cells):
        cells.insert(3, code(crash))

    _student(tmp_path, "x", book_dir / "notebooks" / "01_tiny.ipynb", edit=die)
    rows = _grade(tmp_path, book_dir, timeout=60)
    assert rows["x", "01_tiny.ipynb", "error"].feedback == message
    for label in ("ex-tiny-ce", "ex-tiny-square"):
        assert rows["x", "01_tiny.ipynb", label].feedback == "not graded: " + message


MEMORY_TEST = """\
import resource

try:
    big = bytearray(8 * 2**30)  # lazily zeroed pages: fine without a limit
    answer = 0
except MemoryError:  # the hard limit is the grader's, and the kernel cannot raise it
    answer = 16 if resource.getrlimit(resource.RLIMIT_AS)[1] == 4608 * 2**20 else 1"""


@pytest.mark.slow
def test_sys_exit_deleted_cells_renamed_notebooks_and_the_memory_limit(tmp_path, book_dir):
    ref = book_dir / "notebooks" / "01_tiny.ipynb"

    def edit(cells):
        def find(text):
            return next(i for i, c in enumerate(cells) if text in c.source)

        del cells[find("def my_cross_entropy")]  # the answer to ex-tiny-ce
        del cells[find(":label: ex-tiny-square")]  # the text of ex-tiny-square
        cells[find("answer = 16")].source = MEMORY_TEST  # right only under the limit
        cells.insert(3, code("import sys\nsys.exit(3)"))  # IPython catches SystemExit

    _student(tmp_path, "del", ref, edit=edit)
    _student(tmp_path, "ren", ref, as_name="my copy.ipynb")
    rows = _grade(tmp_path, book_dir, timeout=60, memory_mb=4608)
    ce = rows["del", "01_tiny.ipynb", "ex-tiny-ce"]
    assert not ce.passed and ce.feedback == (
        "NameError: name 'my_cross_entropy' is not defined "
        "(in the check `check_cross_entropy(my_cross_entropy)`)"
    )
    assert rows["del", "01_tiny.ipynb", "ex-tiny-square"].passed  # a MemoryError at 4.5 GB
    assert ("del", "01_tiny.ipynb", "error") not in rows  # sys.exit did not stop the kernel
    note = rows["ren", "01_tiny.ipynb", "note"].feedback
    assert note.startswith("submitted as 'my copy.ipynb': graded as 01_tiny.ipynb")
    assert rows["ren", "01_tiny.ipynb", "ex-tiny-ce"].passed
    assert rows["ren", "01_tiny.ipynb", "ex-tiny-square"].passed


@pytest.mark.slow
def test_a_real_chapter_reference_full_marks_student_edition_zero(tmp_path):
    name = "01_convolution.ipynb"
    (tmp_path / "teacher").mkdir()
    shutil.copy(ROOT / "notebooks" / name, tmp_path / "teacher" / name)
    make_student_notebook(ROOT / "notebooks" / name, tmp_path / "student" / name)
    book = {name: grade.load_book(ROOT / "notebooks")[name]}
    rows = grade.grade_submissions(tmp_path, book, timeout=300)
    graded = [r for r in rows if r.passed is not None]
    assert len(graded) == 2 * len(book[name].automatic) >= 6
    assert all(r.passed for r in graded if r.student == "teacher"), rows
    assert not any(r.passed for r in graded if r.student == "student"), rows
    assert not any(r.exercise == "error" for r in rows), rows
