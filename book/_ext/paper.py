"""Sphinx extension: the LaTeX builds of the book on paper (tools/pdf_book.py adds it to the
PDF builds' _config.yml; the web book does not load it).

sphinx-jupyterbook-latex copies its document class, ``jupyterBook.cls``, next to the LaTeX
when the builder starts. Two things in it do not suit this book, and are taken out of the copy:

- ``\\RequirePackage{bbm}`` (and pgfplots): bbm is only in Debian's texlive-fonts-extra, a
  gigabyte, for ``\\mathbbm`` shorthands the book never uses; pgfplots is unused too;
- ``\\textwidth`` and ``\\textheight`` set after the page geometry: the text then ran past the
  right margin (17.5 cm on a 21 cm page with 2.5 cm margins). The margins come from
  ``sphinxsetup`` (``hmargin``, ``vmargin``) instead.

sphinx-exercise labels each exercise ``exercise:<label>`` in the LaTeX and rewrites a reference
to it within its own page to that label, but a reference from another page (the teacher
guide's tables) stays Sphinx's ``\\ref{<page>:<label>}``, which no label answers: "Exercise ??".
Such references become ``\\hyperref[exercise:<label>]{Exercise 4}``, with the number the web
book shows.

Sphinx sets a table without column widths with tabulary, which shares the line out in
proportion to each column's text: a column of short unbreakable words ("01_convolution.ipynb",
"passed") beside one of sentences got narrower than its words, which then ran into the next
column or were cut. A table with both kinds of column gets a column specification: the short
columns as wide as their widest entry (``l``, or ``r``, ``c`` as the table aligns them), the
long ones sharing the rest (tabulary's ``J``); a table of short columns only that is wider than
the line is set a size smaller.

Sphinx's LaTeX writer gathers every citation into one bibliography at the very end of the book,
under a chapter of its own, and leaves the page that holds the ``{bibliography}`` directive
(book/references.md) empty. The bibliography goes back to where that directive is, under
that page's title (the preamble of tools/pdf_book.py drops its second heading).
"""

from __future__ import annotations

import re
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util.nodes import NodeMatcher

DROPPED = re.compile(
    r"^\\(?:RequirePackage\{(?:bbm|pgfplots)\}|setlength\{\\text(?:width|height)\}\{[^}]*\})\s*$",
    re.M,
)


def _fix_class(app) -> None:
    if app.builder.name != "latex":
        return
    cls = Path(app.outdir) / "jupyterBook.cls"
    if cls.is_file():
        text = cls.read_text(encoding="utf-8")
        cls.write_text(DROPPED.sub("% (removed by book/_ext/paper.py)", text), encoding="utf-8")


class bibliography_place(nodes.General, nodes.Element):
    """Where the first citation was: where the bibliography goes."""


def _skip(self, node):
    raise nodes.SkipNode


class MarkBibliography(SphinxPostTransform):
    default_priority = 740  # before Sphinx's BibliographyTransform (750) gathers the citations
    formats = ("latex",)

    def run(self, **kwargs) -> None:
        first = next(iter(self.document.findall(nodes.citation)), None)
        if first is not None:
            first.parent.insert(first.parent.index(first), bibliography_place())


class PlaceBibliography(SphinxPostTransform):
    default_priority = 760
    formats = ("latex",)

    def run(self, **kwargs) -> None:
        from sphinx.builders.latex.nodes import thebibliography

        places = list(self.document.findall(bibliography_place))
        gathered = list(self.document.findall(thebibliography))
        if places and gathered:
            gathered[0].parent.remove(gathered[0])
            places[0].replace_self(gathered[0])
        for place in places[1:]:
            place.parent.remove(place)


class TableColumns(SphinxPostTransform):
    """Short columns at their natural width, long ones wrapped; wide tables of short columns in
    a smaller font (see the module docstring)."""

    default_priority = 400
    formats = ("latex",)
    SHORT = 24  # characters: the widest entry of a short column...
    UNBREAKABLE = 40  # ...or of a column of single words ("check_confusion_matrix(fn)")
    SHORT_TOTAL = 60  # characters: all the short columns of a table beside long ones
    WIDE = 80  # characters: a table of short columns wider than this is set a size smaller

    def run(self, **kwargs) -> None:
        for table in list(self.document.findall(nodes.table)):
            widths = self.widths(table)
            if widths is None:
                continue
            short = [
                w <= self.SHORT or (word == w and w <= self.UNBREAKABLE) for w, word in widths
            ]
            parent, index = table.parent, table.parent.index(table)
            if all(short) and sum(w for w, _ in widths) > self.WIDE:
                parent.insert(index + 1, nodes.raw("", r"\endgroup", format="latex"))
                parent.insert(index, nodes.raw("", r"\begingroup\footnotesize", format="latex"))
            elif any(short) and not all(short):
                if sum(w for (w, _), s in zip(widths, short) if s) <= self.SHORT_TOTAL:
                    spec = "".join(self.align(table, i) if s else "J" for i, s in enumerate(short))
                    parent.insert(index, addnodes.tabular_col_spec(spec=spec))

    @staticmethod
    def rows(table) -> list[list]:
        return [
            [c for c in row.children if isinstance(c, nodes.entry)]
            for row in table.findall(nodes.row)
        ]

    def widths(self, table) -> list[tuple[int, int]] | None:
        """(widest entry, widest word) of each column, in characters; None for a table that
        Sphinx does not set with tabulary, or whose specification the author gave."""
        parent = table.parent
        index = parent.index(table)
        if index and isinstance(parent[index - 1], addnodes.tabular_col_spec):
            return None
        groups = list(table.findall(nodes.tgroup))
        if (
            len(groups) != 1
            or "longtable" in table.get("classes", [])
            or any(e.get("morecols") or e.get("morerows") for e in table.findall(nodes.entry))
            or any(True for _ in table.findall(nodes.literal_block))
        ):
            return None  # longtable, tabular: no J columns there
        cols, rows = int(groups[0]["cols"]), self.rows(table)
        if len(rows) > 30 or any(len(row) != cols for row in rows):
            return None
        widths = []
        for i in range(cols):
            lines = [line for row in rows for line in row[i].astext().splitlines()] or [""]
            words = [word for line in lines for word in line.split()] or [""]
            widths.append((max(map(len, lines)), max(map(len, words))))
        return widths

    def align(self, table, i: int) -> str:
        classes = {c for row in self.rows(table)[1:] for c in row[i].get("classes", [])}
        return "r" if "text-right" in classes else "c" if "text-center" in classes else "l"


class ExerciseReferences(SphinxPostTransform):
    """References to another page's exercise, written as links to sphinx-exercise's label."""

    default_priority = 25  # after sphinx-exercise's own (22)
    formats = ("latex",)

    def run(self, **kwargs) -> None:
        registry = getattr(self.env, "sphinx_exercise_registry", {})
        for node in list(self.document.findall(NodeMatcher(addnodes.number_reference))):
            uri = node.get("refuri", "")
            label = uri.partition("#")[2] if uri.startswith("%") else ""
            if label not in registry:
                continue
            text = node.astext().replace("\\", r"\textbackslash{}")
            text = re.sub(r"([{}#%&$_^~])", r"\\\1", text)
            node.replace_self(
                nodes.raw("", rf"\hyperref[exercise:{label}]{{{text}}}", format="latex")
            )


def setup(app):
    app.add_node(bibliography_place, latex=(_skip, None), html=(_skip, None))
    app.add_post_transform(MarkBibliography)
    app.add_post_transform(PlaceBibliography)
    app.add_post_transform(ExerciseReferences)
    app.add_post_transform(TableColumns)
    # After sphinx-jupyterbook-latex has copied its class file (its handler: priority 500).
    app.connect("builder-inited", _fix_class, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
