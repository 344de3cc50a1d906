"""Sphinx extension: what the book adds so that every reader can use it (issue 34).

- **Alt text from the data.** A code cell whose output is a figure carries its description in
  myst-nb's own cell metadata, ``{"mystnb": {"image": {"alt": "..."}}}``, which myst-nb puts on
  the ``<img>``. The description may name glued values, ``{key}`` or ``{key:.1f}`` (Python's
  format specification), which are filled in here from the same notebook's glue data: the text
  says what the figure shows with the numbers this run plotted. The Chinese edition
  (tools/zh_book.py) carries the Chinese description in the same place and takes ``key_zh``
  where the notebook glues one. An unknown key is a build warning (an error in ``make book``).
- **accessibility.css**: a visible focus ring on every control, and the colours the theme's
  defaults draw below WCAG AA contrast. (The header's buttons in one row, which brought the
  language switcher out from under the sticky header: pdf_link.py's header-buttons.css.)
- The theme's markup that axe-core flags and the theme cannot be configured out of, fixed in
  the rendered page (``_fix_theme_html``); what remains is listed with its upstream issue in
  browser_tests/test_book.py.
"""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

PLACEHOLDER_CHARS = "{}"


class AltTextError(ValueError):
    """A description names a glued value the notebook does not have."""


def _glued_value(glue_data: dict, key: str):
    """The Python value of a glued scalar or string (its text/plain repr)."""
    text = glue_data[key]["data"].get("text/plain")
    if text is None:
        raise AltTextError(f"the glued value {key!r} has no text/plain form")
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def fill_alt(template: str, glue_data: dict, zh: bool = False) -> str:
    """``template`` with each ``{key}`` / ``{key:spec}`` replaced by the glued value ``key``
    (``key_zh`` first when ``zh`` and the notebook glues one), formatted with ``spec``."""
    out = []
    for literal, field, spec, conversion in string.Formatter().parse(template):
        out.append(literal)
        if field is None:
            continue
        key = f"{field}_zh" if zh and f"{field}_zh" in glue_data else field
        if key not in glue_data:
            raise AltTextError(f"the alt text names {field!r}, which the notebook does not glue")
        value = _glued_value(glue_data, key)
        if conversion:
            raise AltTextError(f"the alt text's {{{field}!{conversion}}}: no conversions")
        out.append(format(value, spec or ""))
    return "".join(out)


def _patch_render_image(app):
    """Wrap myst-nb's image renderer: the ``alt`` myst-nb set from the cell's metadata is
    filled in from the notebook's glue data."""
    from myst_nb.core.render import NbElementRenderer

    original = NbElementRenderer.render_image
    if getattr(original, "_fills_alt", False):
        return
    zh = (app.config.language or "").startswith("zh")

    def render_image(self, data):
        nodes = original(self, data)
        for node in nodes:
            template = node.get("alt")
            if not template or not any(c in template for c in PLACEHOLDER_CHARS):
                continue
            try:
                node["alt"] = fill_alt(template, self.renderer.nb_client.glue_data, zh=zh)
            except (AltTextError, ValueError, KeyError) as err:
                self.logger.warning(f"alt text {template[:40]!r}...: {err}", subtype="image")
        return nodes

    render_image._fills_alt = True
    NbElementRenderer.render_image = render_image


# The bibliography (sphinxcontrib-bibtex through docutils) marks each entry
# role="doc-biblioentry", a role ARIA 1.2 deprecates (axe-core: aria-deprecated-role), inside
# a role="list" that then has no list items (aria-required-children): they become list items.
BIBLIOENTRY = re.compile(r'(<div class="citation" id="[^"]*") role="doc-biblioentry"')


# myst-nb's folded cell ("hide-output") names its toggle "Toggle hidden content", while the
# reader sees "Show code cell output" (label-content-name-mismatch): named by what it shows.
HIDDEN_TOGGLE = '<summary aria-label="Toggle hidden content">'


def _fix_theme_html(app, pagename, templatename, context, doctree):
    body = context.get("body")
    if isinstance(body, str):
        body = BIBLIOENTRY.sub(r'\1 role="listitem"', body)
        context["body"] = body.replace(HIDDEN_TOGGLE, "<summary>")


def _add_templates(app, config):
    templates = str(Path(__file__).parent / "templates")
    if templates not in config.templates_path:  # language_switch.py adds it too
        config.templates_path.append(templates)


def _add_static(app, config):
    static = str(Path(__file__).parent / "static")
    if static not in config.html_static_path:  # offline_book.py adds it too
        config.html_static_path.append(static)


def setup(app):
    app.connect("config-inited", _add_static)
    app.connect("config-inited", _add_templates)
    app.connect("html-page-context", _fix_theme_html)
    app.connect("builder-inited", _patch_render_image)
    app.add_css_file("accessibility.css", priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
