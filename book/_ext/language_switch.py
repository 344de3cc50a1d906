"""Sphinx extension: a link in every page's header to the same page in the book's other language.

The English book (``_build/html``) and the Chinese one (``_build/html/zh``, built by
tools/zh_book.py from the same notebooks) have the same pages at the same paths, so the
counterpart of a page is found without any lookup: a relative link computed at build time,
no JavaScript. Configuration (``sphinx: config:`` in _config.yml):

- ``language_switch_root``: the other book's root, relative to this book's root
  (``"zh/"`` in the English book, ``"../"`` in the Chinese one); empty: no link;
- ``language_switch_label``: the link's text, in the other language (``"中文"``, ``"English"``);
- ``language_switch_lang``: the other language's tag, for ``hreflang`` and ``lang``
  (``"zh-CN"``, ``"en"``);
- ``language_switch_title``: the tooltip (in this book's language).

The link (``<a class="language-switch">``) goes first among the article header's buttons of
sphinx-book-theme (``templates/language-switch.html``); the page's ``<head>`` gets a
``<link rel="alternate" hreflang=...>`` to the same address.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

TEMPLATE = "language-switch.html"


def counterpart_url(target_uri: str, other_root: str) -> str:
    """The URL of the page at ``target_uri`` (relative to this book's root, e.g.
    ``book/preface.html``) in the book whose root is ``other_root`` (relative to this
    book's root), relative to the page itself."""
    if not other_root.endswith("/"):
        other_root += "/"
    return "../" * target_uri.count("/") + other_root + target_uri


def _add_templates(app, config):
    config.templates_path.append(str(Path(__file__).parent / "templates"))


def _page_context(app, pagename, templatename, context, doctree):
    root = app.config.language_switch_root
    if not root or app.builder.format != "html":
        return
    url = counterpart_url(app.builder.get_target_uri(pagename), root)
    lang = app.config.language_switch_lang
    context["language_switch"] = {
        "url": url,
        "label": app.config.language_switch_label,
        "lang": lang,
        "title": app.config.language_switch_title,
    }
    context["metatags"] = context.get("metatags", "") + (
        f'\n    <link rel="alternate" hreflang="{escape(lang)}" href="{escape(url)}" />'
    )
    items = context.get("theme_article_header_end")
    if isinstance(items, list) and TEMPLATE not in items:
        items.insert(0, TEMPLATE)


def setup(app):
    app.add_config_value("language_switch_root", "", "html", types=[str])
    app.add_config_value("language_switch_label", "", "html", types=[str])
    app.add_config_value("language_switch_lang", "", "html", types=[str])
    app.add_config_value("language_switch_title", "", "html", types=[str])
    app.connect("config-inited", _add_templates)
    # After the theme has resolved its header templates (pydata-sphinx-theme, priority 500).
    app.connect("html-page-context", _page_context, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
