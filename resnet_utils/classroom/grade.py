"""Grade a class's notebooks in one command: a gradebook CSV and a feedback file per student.

``python -m resnet_utils.classroom.grade SUBMISSIONS --csv grades.csv`` (``make grade
SUBMISSIONS=dir``; the teacher guide's "Grading a class" is the manual). ``SUBMISSIONS`` holds
one folder per student (its name is the student's id) with their copies of the student
edition's notebooks. The book's notebooks (``--source``) are the source of truth: an exercise
(:mod:`.markers`) is graded when its check calls a checker (``check_...``) or asserts something.

Each notebook runs in a kernel of its own (this interpreter's ``ipykernel``), in a fresh
temporary folder, with ``PYTHONHASHSEED=0`` and ``MPLBACKEND=Agg``: the student's code cells in
order, errors allowed, and after the cells of each exercise its check **taken from the book,
not the student's copy**, right after a fresh import of the checkers and of the names the book
imports (``check_conv2d = lambda *a: None`` does not pass). One time limit for the whole
notebook (``--timeout``), then the kernel is killed; a hard ``RLIMIT_AS`` memory limit
(``--memory-mb``, 0 for none, as CUDA needs) and no core dumps, set by the kernel process itself
before it imports anything. The code runs with the teacher's rights otherwise.

Bad submissions never stop the run: a file that is not a notebook, a time limit reached, a
kernel that dies, a missing exercise, an empty folder each get a row (exercise ``error``) that
says what happened, and the exercises of a notebook that could not be run fail; a renamed
notebook is matched by its exercise labels (a ``note`` row). Hidden files are ignored. The
files are sorted, without timestamps, and written atomically at the end.
"""

from __future__ import annotations

import ast
import csv
import io
import json
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .. import cli
from .._checks import check
from ..checkpoint import atomic_write_bytes
from . import markers

__all__ = [
    "COLUMNS",
    "Exercise",
    "BookNotebook",
    "Row",
    "read_book_notebook",
    "load_book",
    "grade_notebook",
    "grade_student",
    "grade_submissions",
    "feedback_markdown",
    "csv_text",
    "main",
]

COLUMNS = ("student", "notebook", "exercise", "passed", "feedback")
DEFAULT_TIMEOUT = 120  # seconds for a whole notebook, the checks included
DEFAULT_MEMORY_MB = 8192  # address space: importing torch maps 3.2 GB, the chapters 4.6-5.3 GB

_CHECKER_MESSAGE = re.compile(r"^check_\w+: ")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,}")

# The kernel: this interpreter's ipykernel, limited before it imports anything. argv[1] is the
# memory limit in MB (0: none); hard limits, which an unprivileged process cannot raise again.
_LAUNCHER = """\
import resource, sys
limit = int(sys.argv.pop(1)) * 2**20
if limit:
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
if sys.path and sys.path[0] == "":
    del sys.path[0]
from ipykernel import kernelapp
kernelapp.launch_new_instance()
"""


@dataclass(frozen=True)
class Exercise:
    """One exercise of a book notebook: its label and its check cells' code, as one cell."""

    label: str
    check: str = ""

    @property
    def automatic(self) -> bool:
        """Whether the check calls a checker or asserts something."""
        return _calls_checker_or_asserts(self.check)


@dataclass(frozen=True)
class BookNotebook:
    """A notebook of the book: its file name, exercises and the imports its checks may need."""

    name: str
    exercises: tuple[Exercise, ...]
    imports: str = ""

    @property
    def automatic(self) -> tuple[Exercise, ...]:
        return tuple(e for e in self.exercises if e.automatic)

    @property
    def open(self) -> tuple[Exercise, ...]:
        return tuple(e for e in self.exercises if not e.automatic)

    @property
    def labels(self) -> set[str]:
        return {e.label for e in self.exercises}


@dataclass(frozen=True)
class Row:
    """One row of the gradebook; ``passed`` is None on ``error`` and ``note`` rows."""

    student: str
    notebook: str
    exercise: str
    passed: bool | None
    feedback: str = ""


# --- Reading the book ---------------------------------------------------------------------------


def _calls_checker_or_asserts(code: str) -> bool:
    try:
        tree = ast.parse(code)
    except SyntaxError:  # IPython syntax (magics): look at the text
        return bool(re.search(r"\bassert\b|\bcheck_\w+\(", code))
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert):
            return True
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", "")
            if name.startswith("check_"):
                return True
    return False


def _import_lines(code: str) -> list[str]:
    """The top-level imports of ``code`` (not ``__future__``), one statement a line."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    return [
        ast.unparse(node)
        for node in tree.body
        if isinstance(node, (ast.Import, ast.ImportFrom))
        and not (isinstance(node, ast.ImportFrom) and node.module == "__future__")
        and not (isinstance(node, ast.ImportFrom) and node.level)
    ]


def read_book_notebook(nb, name: str) -> BookNotebook:
    """The exercises of book notebook ``nb`` (an ``nbformat`` notebook) named ``name``."""
    order: list[str] = []
    checks: dict[str, list[str]] = {}
    imports: list[str] = []
    for part in markers.parts(nb.cells):
        source = part.cell.source
        if part.cell.cell_type == "markdown":
            order += [label for label in markers.exercise_labels(source) if label not in order]
        elif part.cell.cell_type == "code" and part.role not in ("solution", "answer"):
            imports += [line for line in _import_lines(source) if line not in imports]
            if part.role == "check":
                checks.setdefault(part.label, []).append(source)
    exercises = tuple(Exercise(label, "\n\n".join(checks.get(label, []))) for label in order)
    return BookNotebook(name, exercises, "\n".join(imports))


def load_book(source: str | os.PathLike) -> dict[str, BookNotebook]:
    """The book's notebooks in folder ``source``, by file name."""
    book = {}
    for path in sorted(Path(source).glob("*.ipynb")):
        nb, why = _read_notebook(path)
        if nb is None:
            raise ValueError(f"--source: {path.name}: {why}")
        book[path.name] = read_book_notebook(nb, path.name)
    if not any(nb.automatic for nb in book.values()):
        raise ValueError(f"--source: no notebook in {str(source)!r} has an exercise with a check")
    return book


# --- Running one notebook -----------------------------------------------------------------------


def _kernel_manager(memory_mb: int):
    """An AsyncKernelManager that starts this interpreter's ipykernel under the limits."""
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager

    class _Specs(KernelSpecManager):
        def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
            argv = [sys.executable, "-c", _LAUNCHER, str(memory_mb), "-f", "{connection_file}"]
            return KernelSpec(argv=argv, display_name="Python 3 (grader)", language="python")

    return AsyncKernelManager(kernel_name="python3", kernel_spec_manager=_Specs())


def _errors_only_client(*args, **kwargs):
    """A NotebookClient that keeps only error outputs: all that grading reads, and a notebook
    that prints without end cannot fill the grader's memory."""
    from nbclient import NotebookClient

    class ErrorsOnly(NotebookClient):
        def output(self, outs, msg, display_id, cell_index):
            if msg["msg_type"] == "error":
                return super().output(outs, msg, display_id, cell_index)
            return None

    return ErrorsOnly(*args, **kwargs)


def _one_paragraph(text: str, limit: int = 600) -> str:
    text = " ".join(_ANSI.sub("", text).split())
    text = _ADDRESS.sub("0x...", text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _failing_statement(check: str, traceback: list[str], count: int | None) -> str:
    """The statement of the book's check that raised (the traceback's ``Cell In[n], line k``)."""
    lines = re.findall(r"Cell In\[(\d+)\], line (\d+)", _ANSI.sub("", "\n".join(traceback)))
    numbers = [int(k) for n, k in lines if count is None or int(n) == count]
    if not numbers:
        return ""
    try:
        tree = ast.parse(check)
    except SyntaxError:
        return ""
    line = numbers[-1]
    found = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.stmt) and node.lineno <= line <= (node.end_lineno or node.lineno)
    ]
    if not found:
        return ""
    node = min(found, key=lambda n: (n.end_lineno or n.lineno) - n.lineno)
    if isinstance(node, (ast.For, ast.While, ast.If, ast.With, ast.Try)):
        return ""  # the error is in its header; the body would mislead
    return _one_paragraph(ast.unparse(node), 200)


def _feedback(error: dict, check: str, count: int | None, memory_mb: int) -> str:
    """One paragraph for a failed check: the checker's hint, or the error and the statement."""
    ename, evalue = error.get("ename", "Error"), str(error.get("evalue", ""))
    if ename == "NotImplementedError":
        return "not answered yet: the code still raises NotImplementedError"
    if ename == "AssertionError" and _CHECKER_MESSAGE.match(evalue):
        return _one_paragraph(evalue)
    statement = _failing_statement(check, error.get("traceback", []), count)
    if ename == "AssertionError":
        text = f"the check `{statement}` failed" if statement else "the check failed"
        text += f": {evalue}" if evalue else ""
    else:
        text = f"{ename}: {evalue}" if evalue else ename
        text += f" (in the check `{statement}`)" if statement else ""
    if ename == "MemoryError" or any(
        words in evalue for words in ("can't allocate memory", "failed to map", "out of memory")
    ):
        text += f" (the grader limits each notebook to {memory_mb} MB)"
    return _one_paragraph(text)


def _death(km) -> str:
    process = getattr(getattr(km, "provisioner", None), "process", None)
    code = process.poll() if process is not None else None
    if code is None or code >= 0:
        return "the kernel died" if code is None else f"the kernel exited with status {code}"
    signals = {-s.value: s.name for s in signal.Signals}
    return f"the kernel was killed by signal {signals.get(code, -code)}"


@dataclass
class _Step:
    """A cell to execute: the student's (``index`` in their notebook) or a check (``label``)."""

    source: str
    index: int | None = None
    label: str | None = None
    prepare: bool = False


def _plan(cells: list, book: BookNotebook) -> list[_Step]:
    """The student's code cells with each exercise's preparation and check where it belongs."""
    located: dict[str, int] = {}
    boundaries = []
    for i, cell in enumerate(cells):
        if cell.get("cell_type") == "markdown":
            labels = markers.exercise_labels(cell.get("source", ""))
            boundaries += [i] if labels else []
            for label in labels:
                located.setdefault(label, i)
    n = len(cells)
    position: dict[str, int] = {}
    for k, ex in enumerate(book.exercises):
        if ex.label in located:
            start = located[ex.label]
            position[ex.label] = min((b for b in boundaries if b > start), default=n)
        else:  # before the next exercise of the book that is there, else at the end
            later = [located[e.label] for e in book.exercises[k + 1 :] if e.label in located]
            position[ex.label] = later[0] if later else n
    prepare = (
        "import importlib as __grader_importlib, sys as __grader_sys\n"
        "__grader_sys.modules.pop('resnet_utils.classroom.exercises', None)\n"
        "__grader_importlib.import_module('resnet_utils.classroom.exercises')\n"
        "del __grader_importlib, __grader_sys\n" + book.imports
    )
    steps: list[_Step] = []
    for i in range(n + 1):
        for ex in book.automatic:
            if position[ex.label] == i:
                steps += [
                    _Step(prepare, label=ex.label, prepare=True),
                    _Step(ex.check, label=ex.label),
                ]
        if i < n and cells[i].get("cell_type") == "code" and cells[i].get("source", "").strip():
            steps.append(_Step(cells[i]["source"], index=i))
    return steps


def _where(step: _Step) -> str:
    if step.index is None:
        return f"the check of {step.label}"
    first = next((ln.strip() for ln in step.source.splitlines() if ln.strip()), "")
    first = first if len(first) <= 60 else first[:57] + "..."
    return f"cell {step.index + 1} (`{first}`)"


def grade_notebook(
    nb,
    book: BookNotebook,
    *,
    timeout: int = DEFAULT_TIMEOUT,
    memory_mb: int = DEFAULT_MEMORY_MB,
    device: str = "auto",
) -> tuple[dict[str, tuple[bool, str]], str]:
    """Run student notebook ``nb`` with ``book``'s checks in a fresh, limited kernel.

    Returns the result of each automatically checked exercise (``label -> (passed,
    feedback)``) and a notebook-level problem ("" when none: a time limit reached, a kernel
    that died); the exercises it left unchecked say so in their feedback.
    """
    import nbformat
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    cells = list(nb.get("cells", []))
    steps = _plan(cells, book)
    located = _labels_in(nb)
    run_nb = nbformat.v4.new_notebook()
    run_nb.cells = [nbformat.v4.new_code_cell(step.source) for step in steps]
    results: dict[str, tuple[bool, str]] = {}
    problem = ""
    env = dict(os.environ, PYTHONHASHSEED="0", MPLBACKEND="Agg")
    if device == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""
    with tempfile.TemporaryDirectory(prefix="grade-") as workdir:
        km = _kernel_manager(memory_mb)
        client = _errors_only_client(run_nb, km=km, timeout=timeout, startup_timeout=60,
                                     allow_errors=True, shutdown_kernel="immediate")  # fmt: skip
        replies: list[dict] = []
        client.on_cell_executed = lambda execute_reply, **_: replies.append(execute_reply or {})
        start = dict(cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            with client.setup_kernel(cleanup_kc=True, **start):
                deadline = time.monotonic() + timeout
                for i, step in enumerate(steps):
                    where = _where(step)
                    remaining = math.ceil(deadline - time.monotonic())
                    if remaining <= 0:
                        problem = f"the time limit of {timeout} s was reached before {where}"
                        break
                    client.timeout = remaining
                    try:
                        cell = client.execute_cell(run_nb.cells[i], i)
                    except CellTimeoutError:
                        problem = f"the time limit of {timeout} s was reached in {where}"
                        break
                    except DeadKernelError:
                        problem = f"{_death(km)} in {where}"
                        break
                    payload = replies[-1].get("content", {}).get("payload", []) if replies else []
                    if any(p.get("source") == "ask_exit" for p in payload):
                        problem = f"the code asked the kernel to exit (`exit()`) in {where}"
                        break
                    if step.label and step.label not in results:
                        _record(results, step, cell, step.label in located, memory_mb)
        except (RuntimeError, TimeoutError) as err:  # the kernel did not start
            problem = problem or f"the kernel did not start ({_one_paragraph(str(err), 200)})"
            problem += f"; is --memory-mb {memory_mb} too small?" if memory_mb else ""
    problem = problem.replace(workdir, "<workdir>")
    missing = (False, f"not graded: {problem or 'no result'}")
    results = {e.label: results.get(e.label, missing) for e in book.automatic}
    return {
        k: (ok, text.replace(workdir, "<workdir>")) for k, (ok, text) in results.items()
    }, problem


def _record(results: dict, step: _Step, cell, located: bool, memory_mb: int) -> None:
    """Record the result of a check (or of its preparation, when that failed)."""
    error = next((o for o in cell.get("outputs", []) if o.get("output_type") == "error"), None)
    if step.prepare:
        if error:
            text = _feedback(error, "", None, memory_mb)
            results[step.label] = (False, f"the grader could not reload the checkers: {text}")
    elif error is None:
        results[step.label] = (True, "")
    else:
        text = _feedback(error, step.source, cell.get("execution_count"), memory_mb)
        if not located:
            text += f" (the exercise's text, `:label: {step.label}`, is not in the notebook)"
        results[step.label] = (False, text)


# --- Grading a class ----------------------------------------------------------------------------


def _read_notebook(path: Path):
    """The notebook in ``path``, as nbformat reads and validates it, or why it is not one."""
    import nbformat

    try:
        nb = nbformat.read(path, as_version=4, capture_validation_error={})
        nbformat.validate(nb, relax_add_props=True)  # keys another tool added do no harm
    except OSError as err:
        return None, f"cannot read the file: {err.strerror}"
    except Exception as err:  # noqa: BLE001 - any malformed notebook becomes a message
        why = err.__cause__ if isinstance(err.__cause__, json.JSONDecodeError) else err
        text = (str(why).splitlines() or [""])[0]
        return None, f"not a Jupyter notebook ({type(why).__name__}: {_one_paragraph(text, 150)})"
    return nb, ""


def _labels_in(nb) -> set[str]:
    markdown = [c.get("source", "") for c in nb["cells"] if c.get("cell_type") == "markdown"]
    return {label for text in markdown for label in markers.exercise_labels(text)}


def _match(readable: dict[Path, object], book: dict[str, BookNotebook], claimed: set[str]):
    """Pair each readable notebook with its book notebook: by name, else by exercise labels.

    Yields ``(path, book notebook or None, message)``; the message explains a renamed notebook
    (graded) or why one is not graded.
    """
    expected = ", ".join(name for name, b in book.items() if b.automatic)
    for path, nb in readable.items():
        if path.name in book:
            yield path, book[path.name], ""
            continue
        labels = _labels_in(nb)
        scores = sorted(((len(labels & b.labels), name) for name, b in book.items()), reverse=True)
        best, name = scores[0] if scores else (0, "")
        if best == 0 or (len(scores) > 1 and scores[1][0] == best):
            unknown = "this file name is not one of the book's notebooks, and its exercises do"
            yield path, None, f"{unknown} not identify one; expected: {expected}"
        elif name in claimed:
            yield path, None, f"a renamed copy of {name}: the file named {name} is graded instead"
        else:
            claimed.add(name)
            how = f"graded as {name} (matched by its exercise labels)"
            yield path, book[name], f"submitted as {path.name!r}: {how}; please keep the names"


def grade_student(
    folder: Path,
    book: dict[str, BookNotebook],
    progress: Callable[[str], None] | None = None,
    **limits,
) -> list[Row]:
    """The rows of one student's folder (see the module docstring); ``limits`` go to
    :func:`grade_notebook`."""
    student = folder.name
    rows: list[Row] = []

    def error(notebook: str, text: str) -> None:
        rows.append(Row(student, notebook, "error", None, text))

    expected = ", ".join(name for name, b in book.items() if b.automatic)
    entries = _entries(folder)
    if not entries:
        error("", "the folder is empty: no notebook was submitted")
    readable: dict[Path, object] = {}
    for path in entries:
        if path.is_dir():
            error(path.name + "/", "a folder, not a notebook: put the notebooks directly in it")
        elif path.suffix != ".ipynb":
            kind = f"a {path.suffix} file" if path.suffix else "a file without an extension"
            error(path.name, f"not a notebook ({kind}); expected the book's notebooks: {expected}")
        elif (read := _read_notebook(path))[0] is None:
            unreadable = "the notebook could not be read"
            error(path.name, read[1])
            for ex in book[path.name].automatic if path.name in book else ():
                rows.append(Row(student, path.name, ex.label, False, "not graded: " + unreadable))
        else:
            readable[path] = read[0]
    claimed = {p.name for p in entries if p.name in book}
    for path, target, message in _match(readable, book, claimed):
        if target is None:
            error(path.name, message)
            continue
        if message:
            rows.append(Row(student, target.name, "note", None, message))
        if not target.automatic:
            nothing = "no automatically checked exercise in this chapter: not run"
            rows.append(Row(student, target.name, "note", None, nothing))
            continue
        started = time.monotonic()
        try:
            results, problem = grade_notebook(readable[path], target, **limits)
        except Exception as err:  # noqa: BLE001 - one broken notebook must not stop the class
            problem = f"the grader could not run this notebook: {type(err).__name__}: {err}"
            results = {e.label: (False, "not graded: " + problem) for e in target.automatic}
        if problem:
            error(target.name, _one_paragraph(problem))
        rows += [Row(student, target.name, k, ok, text) for k, (ok, text) in results.items()]
        if progress:
            passed = sum(ok for ok, _ in results.values())
            status = f" ({problem})" if problem else ""
            seconds = time.monotonic() - started
            progress(
                f"{student}/{path.name}: {passed}/{len(results)} passed{status}, {seconds:.1f} s"
            )
    return _sorted(rows)


def _sorted(rows: list[Row]) -> list[Row]:
    return sorted(rows, key=lambda r: (r.student, r.notebook, r.exercise))


def _entries(folder: str | os.PathLike) -> list[Path]:
    """What ``folder`` holds, hidden files (``.ipynb_checkpoints``) left out, sorted."""
    return sorted(p for p in Path(folder).iterdir() if not p.name.startswith("."))


def grade_submissions(
    submissions: str | os.PathLike,
    book: dict[str, BookNotebook],
    progress: Callable[[str], None] | None = None,
    **limits,
) -> list[Row]:
    """Grade every student folder in ``submissions``; a file there gets an ``error`` row."""
    entries = _entries(submissions) if Path(submissions).is_dir() else []
    if not any(p.is_dir() for p in entries):
        raise ValueError(f"SUBMISSIONS: {str(submissions)!r} holds no folder (one per student)")
    rows: list[Row] = []
    for path in entries:
        if path.is_dir():
            rows += grade_student(path, book, progress, **limits)
        else:
            message = "a file, not a student's folder: SUBMISSIONS holds one folder per student"
            rows.append(Row(path.name, "", "error", None, message))
    return _sorted(rows)


def _score(rows: list[Row], student: str) -> str:
    graded = [r.passed for r in rows if r.student == student and r.passed is not None]
    return f"{sum(graded)} of {len(graded)}"


def feedback_markdown(student: str, rows: list[Row], book: dict[str, BookNotebook]) -> str:
    """The feedback file of ``student``: per notebook and exercise, passed or what went wrong."""
    mine = [r for r in rows if r.student == student]
    lines = [
        f"# Feedback for {student}",
        "",
        f"{_score(mine, student)} automatically checked exercises passed.",
        "",
    ]
    for notebook in sorted({r.notebook for r in mine}):
        lines += [f"## {notebook or '(the folder)'}", ""]
        for r in (r for r in mine if r.notebook == notebook):
            if r.passed is None:
                lines.append(f"- **{r.exercise}**: {r.feedback}")
            else:
                result = "passed" if r.passed else f"**not passed**: {r.feedback}"
                lines.append(f"- `{r.exercise}`: {result}")
        if notebook in book and book[notebook].open:
            labels = ", ".join(f"`{e.label}`" for e in book[notebook].open)
            lines.append(f"- not graded automatically (your teacher reads these): {labels}")
        lines.append("")
    return "\n".join(lines)


def csv_text(rows: list[Row]) -> str:
    """The gradebook as CSV text, in the order of ``rows``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in rows:
        flag = "" if r.passed is None else int(r.passed)
        writer.writerow([r.student, r.notebook, r.exercise, flag, r.feedback])
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    """``python -m resnet_utils.classroom.grade SUBMISSIONS --csv grades.csv [...]``."""
    p = cli.parser(  # no --json: the gradebook and the feedback files are the results
        "classroom.grade",
        "Grade a class's notebooks: one folder per student in SUBMISSIONS.",
        precision=False,
        seed=False,
        device="cpu hides the GPUs from the kernels; auto (default) leaves them visible",
        devices=("auto", "cpu"),
        json=False,
    )
    p.add_argument("submissions", metavar="SUBMISSIONS", help="one folder per student")
    p.add_argument("--csv", required=True, metavar="PATH", help="the gradebook to write")
    p.add_argument(
        "--feedback-dir",
        metavar="DIR",
        help="one Markdown file per student (default: feedback/ next to --csv)",
    )
    p.add_argument(
        "--timeout",
        type=int,
        default=DEFAULT_TIMEOUT,
        help=f"seconds for each notebook, its checks included (default {DEFAULT_TIMEOUT})",
    )
    p.add_argument(
        "--memory-mb",
        type=int,
        default=DEFAULT_MEMORY_MB,
        help=f"address-space limit of each kernel in MB, 0 for none (default "
        f"{DEFAULT_MEMORY_MB}; use 0 with CUDA)",
    )
    p.add_argument(
        "--source",
        default="notebooks",
        metavar="DIR",
        help="the book's notebooks, with solutions and checks (default notebooks)",
    )

    def body(args) -> int:
        check(timeout=args.timeout, memory_mb=args.memory_mb)
        try:
            import ipykernel  # noqa: F401 - the kernels run it
        except ImportError:
            raise ValueError("the grader needs ipykernel (the package's extra `teacher`)")
        book = load_book(args.source)
        progress = None if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
        limits = dict(timeout=args.timeout, memory_mb=args.memory_mb, device=args.device)
        rows = grade_submissions(args.submissions, book, progress, **limits)
        students = [p.name for p in _entries(args.submissions) if p.is_dir()]
        feedback_dir = Path(args.feedback_dir or Path(args.csv).parent / "feedback")
        for student in students:
            text = feedback_markdown(student, rows, book)
            atomic_write_bytes(feedback_dir / f"{student}.md", text.encode())
        atomic_write_bytes(args.csv, csv_text(rows).encode())
        for student in [] if args.quiet else students:
            print(f"{student}: {_score(rows, student)} exercises passed", file=sys.stderr)
        if not args.quiet:
            print(f"gradebook in {args.csv}, feedback in {feedback_dir}/", file=sys.stderr)
        return 0

    return cli.run(p, body, argv)


if __name__ == "__main__":
    sys.exit(main())
