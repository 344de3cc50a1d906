"""Markdown tables for the notebooks' results.

Every chapter shows measured numbers as a table: :func:`markdown_table` turns a
header and rows into an ``IPython.display.Markdown`` object, which a notebook
displays as a real table (the book renders Markdown outputs with MyST).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["markdown_table"]


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[Any]]):
    """A Markdown table with ``header`` and one line per row of ``rows``.

    Cells are converted with ``str`` (format numbers before passing them);
    a ``|`` inside a cell is escaped. Raises ``ValueError`` when a row does
    not have one cell per header column.
    """
    from IPython.display import Markdown

    lines = ["| " + " | ".join(_cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    for i, row in enumerate(rows):
        row = list(row)
        if len(row) != len(header):
            raise ValueError(
                f"rows[{i}] has {len(row)} cells but the header has {len(header)} columns"
            )
        lines.append("| " + " | ".join(_cell(c) for c in row) + " |")
    return Markdown("\n".join(lines))
