"""Sphinx extension: a link in every page's header to the book's PDF, in the page's language.

`make pdf` (tools/pdf_book.py) builds a PDF of each edition and copies both into
``_build/html/pdf/``, next to the web book. Configuration (``sphinx: config:`` in _config.yml,
which the Chinese edition inherits): ``pdf_link``, a map from the edition's Sphinx ``language``
(``en`` for the English book, whose ``language`` is unset, ``zh_CN``) to
``{href, label, title}``, ``href`` relative to that edition's root. An edition without an entry
gets no link.

The link (``<a class="pdf-link">``, ``templates/pdf-link.html``) goes among the article
header's buttons of sphinx-book-theme, after the language switch; ``static/header-buttons.css``
sets those buttons in one row. It is written whether or not the PDF is built yet (`make book`
alone does not build it).
"""

from __future__ import annotations

from pathlib import Path

TEMPLATE = "pdf-link.html"


def _add_templates(app, config):
    config.templates_path.append(str(Path(__file__).parent / "templates"))
    static = str(Path(__file__).parent / "static")  # (offline_book.py may have added it)
    if static not in config.html_static_path:
        config.html_static_path.append(static)


def _page_context(app, pagename, templatename, context, doctree):
    entry = (app.config.pdf_link or {}).get(app.config.language or "en")
    if not entry or app.builder.format != "html":
        return
    depth = app.builder.get_target_uri(pagename).count("/")
    context["pdf_link"] = {
        "url": "../" * depth + entry["href"],
        "label": entry.get("label", "PDF"),
        "title": entry.get("title", ""),
    }
    items = context.get("theme_article_header_end")
    if isinstance(items, list) and TEMPLATE not in items:
        after = items.index("language-switch.html") + 1 if "language-switch.html" in items else 0
        items.insert(after, TEMPLATE)


def setup(app):
    app.add_config_value("pdf_link", {}, "html", types=[dict])
    app.connect("config-inited", _add_templates)
    app.add_css_file("header-buttons.css")  # the header's buttons in one row
    # After the theme (500) and the language switch (900) have set the header's templates.
    app.connect("html-page-context", _page_context, priority=910)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
