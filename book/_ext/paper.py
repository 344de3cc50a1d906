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
    # After sphinx-jupyterbook-latex has copied its class file (its handler: priority 500).
    app.connect("builder-inited", _fix_class, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
