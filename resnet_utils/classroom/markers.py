"""The exercise markers of the book's notebooks, read in one place.

An exercise is a markdown ``{exercise}`` directive with a ``:label:``. Its
solution lies between a markdown cell with ``{solution-start} LABEL`` and
one with ``{solution-end}``: the code cells tagged ``solution`` there are
what a student writes; the other cells there (model answers, rubrics) are
the teacher's. Its check is the code cells after ``{solution-end}`` up to
the next markdown cell. The student edition tags its stubs ``exercise-stub``.

:func:`parts` gives each cell its role; the student edition
(:mod:`.student`), the grader (:mod:`.grade`) and ``tools/run_notebooks.py``
all read the markers through it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = ["SOLUTION", "STUB", "Part", "tags", "exercise_labels", "parts", "first"]

SOLUTION = "solution"  # the tag of a code cell holding an exercise's solution
STUB = "exercise-stub"  # the tag the student edition gives the stub that replaces it

_DIRECTIVE = re.compile(r"^\s*(`{3,}|:{3,})\{exercise(?:-start)?\}")
_LABEL = re.compile(r"^\s*:label:\s*(\S+)")
_SOLUTION_START = re.compile(r"\{solution-start\}\s*(\S+)?")


def tags(cell: Any) -> list[str]:
    """The cell's tags (``metadata.tags``), a list even when there are none."""
    return list(cell.get("metadata", {}).get("tags", []))


def exercise_labels(markdown: str) -> list[str]:
    """The labels of the ``{exercise}`` directives in a markdown cell, in order."""
    labels, inside = [], False
    for line in markdown.splitlines():
        if _DIRECTIVE.match(line):
            inside = True
        elif inside and (m := _LABEL.match(line)):
            labels.append(m.group(1))
            inside = False
    return labels


@dataclass(frozen=True)
class Part:
    """A cell of a notebook and its role among the exercise markers.

    ``role`` is one of ``"solution-start"`` and ``"solution-end"`` (the
    markdown around a solution), ``"solution"`` (a code cell tagged
    ``solution``), ``"answer"`` (any other cell inside a solution: the
    teacher's), ``"check"`` (a code cell after ``{solution-end}``, before the
    next markdown) or ``"other"``. ``label`` is the exercise a solution,
    answer or check belongs to (None where the markers do not say).
    """

    index: int
    cell: Any
    role: str
    label: str | None = None


def parts(cells: list[Any]) -> list[Part]:
    """Every cell of ``cells`` (notebook cells, dicts or nbformat nodes) with its role."""
    out: list[Part] = []
    solving = checking = None  # the label whose solution / check cells come next
    inside = False
    for i, cell in enumerate(cells):
        source = cell.get("source", "")
        if cell.get("cell_type") == "markdown":
            checking = None
            if m := _SOLUTION_START.search(source):
                solving, inside = m.group(1), True
                role, label = "solution-start", solving
                if "{solution-end}" in source:
                    checking, solving, inside = solving, None, False
            elif "{solution-end}" in source:
                role, label = "solution-end", solving
                checking, solving, inside = solving, None, False
            else:
                role, label = ("answer", solving) if inside else ("other", None)
        elif SOLUTION in tags(cell):
            role, label = "solution", solving
        elif inside:
            role, label = "answer", solving
        elif checking and cell.get("cell_type") == "code":
            role, label = "check", checking
        else:
            role, label = "other", None
        out.append(Part(i, cell, role, label))
    return out


def first(cells: list[Any], tag: str) -> int | None:
    """The index of the first code cell tagged ``tag``, None when there is none."""
    return next(
        (i for i, c in enumerate(cells) if c.get("cell_type") == "code" and tag in tags(c)), None
    )
