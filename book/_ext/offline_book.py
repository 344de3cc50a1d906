"""Sphinx extension: small fixes that let every page work offline without console errors.

- Jupyter Book 1 initialises sphinx-thebe's inline configuration twice, so each
  page declared ``const THEBE_JS_URL`` twice (a console error in every browser):
  keep the first copy of each script.
- The ipywidgets HTML manager (served from _static/offline, see
  tools/fetch_assets.py) loads its modules through RequireJS and its fonts from
  ``__jupyter_widgets_assets_path__``: point both at the local copy, relative
  to each page's content root.
- ipywidgets typesets labels with MathJax 2's ``MathJax.Hub.Queue``; the book
  loads MathJax 3. ``static/mathjax2-shim.js`` maps those calls onto MathJax 3.
"""

from pathlib import Path

ASSETS_PATH = (
    "(function () {"
    " var npm = new URL((document.documentElement.dataset.content_root || './') + '_static/offline/npm/',"
    " document.baseURI).href;"
    " window.__jupyter_widgets_assets_path__ = npm + '@jupyter-widgets/html-manager/dist/';"
    # RequireJS reads a global `require` object as its configuration if it exists before require.js loads:
    # the manager's modules (and their fonts) then resolve inside the local npm tree, not the page's folder.
    " if (typeof window.require === 'undefined') { window.require = {baseUrl: npm}; }"
    " })();"
)


def _dedup(app, pagename, templatename, context, doctree):
    seen, kept = set(), []
    for script in context.get("script_files", []):
        attributes = getattr(script, "attributes", {})
        # the two copies differ only in filename None vs "": compare filename or "" and the inline body
        key = (
            getattr(script, "filename", None) or "",
            attributes.get("body", ""),
            attributes.get("src", ""),
        )
        if key in seen:
            continue
        seen.add(key)
        kept.append(script)
    if "script_files" in context:
        context["script_files"][:] = kept


def _add_static(app, config):
    config.html_static_path.append(str(Path(__file__).parent / "static"))


def setup(app):
    app.connect("config-inited", _add_static)
    app.add_js_file(
        None, body=ASSETS_PATH, priority=100
    )  # before the widget manager (priority 500)
    app.add_js_file(
        "mathjax2-shim.js", defer="defer", priority=600
    )  # after MathJax (500), both deferred
    # Early: html-page-context stops at the first handler that returns a template name.
    app.connect("html-page-context", _dedup, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
