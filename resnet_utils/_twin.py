"""HTML twins of the explorers: the same controls, computed in the browser.

The rendered book runs no kernel, so a widget there is a picture of its saved
state. Each explorer in :mod:`resnet_utils.widgets` therefore displays one
output with two views: the live ipywidgets view, which Jupyter shows, and a
``text/html`` twin, which the book shows (``_config.yml`` gives ``text/html``
priority over the widget view for the HTML builder). The twin is a
self-contained ``<div>``: the explorer's data as JSON (arrays as base64
little-endian bytes), and ``static/explorers.js`` inlined, which draws the
controls and computes the output. Nothing is loaded from the network.
"""

from __future__ import annotations

import base64
import html
import json
from functools import lru_cache
from importlib import resources

import numpy as np

KINDS = ("conv", "augment", "threshold")

STYLE = """
.resnet-explorer{margin:.5em 0 1em;font-size:.9rem}
.resnet-explorer .rx-controls{display:flex;flex-wrap:wrap;gap:.3em 2em;align-items:flex-start}
.resnet-explorer .rx-column{flex-direction:column;gap:0}
.resnet-explorer .rx-row{display:flex;align-items:center;gap:.6em;margin:.15em 0;font-weight:400}
.resnet-explorer .rx-row>span:first-child{min-width:8.5em}
.resnet-explorer .rx-row output{min-width:2.5em}
.resnet-explorer .rx-grid{display:grid;grid-template-columns:repeat(3,5.2em);gap:3px}
.resnet-explorer .rx-cell{width:5.2em;color:#000;border:1px solid #888;text-align:right;
-moz-appearance:textfield;appearance:textfield}
.resnet-explorer .rx-cell::-webkit-inner-spin-button{display:none}
.resnet-explorer .rx-pixels{image-rendering:pixelated;border:1px solid #888;height:auto}
.resnet-explorer .rx-pictures{display:flex;flex-wrap:wrap;gap:1.5em;align-items:flex-end}
.resnet-explorer figure{margin:.5em 0}
.resnet-explorer .rx-caption{text-align:center;font-size:.85em}
.resnet-explorer .rx-samples{display:grid;gap:6px;margin-top:.6em}
.resnet-explorer .rx-plot{width:320px;max-width:100%;height:auto;font-size:11px;fill:currentColor}
.resnet-explorer .rx-plot polyline,.resnet-explorer .rx-plot rect{fill:none}
.resnet-explorer .rx-title{font-size:12px}
.resnet-explorer .rx-label{margin:.5em 0}
"""


@lru_cache(maxsize=1)
def script() -> str:
    """The source of ``static/explorers.js`` (shipped as package data)."""
    # inlined in a <script> element: tests/test_widgets_js.py checks it holds no "</script"
    return (resources.files("resnet_utils") / "static" / "explorers.js").read_text("utf-8")


def encode(array, dtype: str) -> str:
    """Base64 of ``array`` as little-endian ``dtype`` bytes (``float32``, ``float64``, ``int32``)."""
    data = np.ascontiguousarray(np.asarray(array), dtype=np.dtype(dtype).newbyteorder("<"))
    return base64.b64encode(data.tobytes()).decode("ascii")


def twin_html(kind: str, data: dict, title: str) -> str:
    """The twin of one explorer: ``<div class="resnet-explorer">`` with its data and script.

    ``kind`` names the JavaScript explorer that draws it; ``data`` is what it
    gets (JSON-serialisable); ``title`` is shown where JavaScript is off.
    """
    payload = json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)
    # inside <script>: no '</' or '<!--' can end or confuse the element
    payload = payload.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return (
        f'<div class="resnet-explorer" data-explorer="{kind}">'
        f"<style>{STYLE.strip()}</style>"
        f'<script type="application/json" class="rx-data">{payload}</script>'
        f'<div class="rx-body"><p><em>{html.escape(title)}: this explorer needs '
        "JavaScript (or run the notebook).</em></p></div>"
        f"<script>{script()}\nwindow.ResnetExplorers.mountAll();</script>"
        "</div>"
    )
