"""The rendered book in a real browser: every page, offline, with math, images and widgets.

Run by `make browser-test` after `make book`. Serves _build/html on 127.0.0.1,
opens each page in headless Chromium (the system's, through Playwright), and
asserts that no request leaves 127.0.0.1, that the console has no errors,
that math is typeset, that every image loads and that every saved widget
view is drawn, and that each chapter's Colab, Binder and download buttons lead to its
notebook. A full-page screenshot of each page goes to _build/screenshots/.
The explorers of chapters 1, 5 and 7 are driven on their pages and their numbers and pixels
compared with Python's (screenshots before and after: explorer_*.png).
The Chinese edition (_build/html/zh, tools/zh_book.py) is visited the same way; on every page
the language switcher must lead to the same page in the other edition, and no Chinese, Japanese
or Korean character may be drawn as a missing-glyph box (see MISSING_GLYPHS_JS at the end).
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
PAGES = sorted(
    p.relative_to(HTML).as_posix()
    for p in HTML.rglob("*.html")
    # the same folders of the Chinese edition, under zh/
    if not p.relative_to(HTML)
    .as_posix()
    .removeprefix("zh/")
    .startswith(("_static/", "_sources/", "_images/"))
)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

if not HTML.is_dir():
    pytest.skip("the book is not built: run `make book` first", allow_module_level=True)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest's output readable
        pass


@pytest.fixture(scope="module")
def base_url():
    handler = functools.partial(QuietHandler, directory=str(HTML))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    executable = (
        os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    )
    if not executable:
        pytest.fail(
            "no Chromium found: install Debian's `chromium` (the CI script does) or set CHROMIUM=/path"
        )
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield b
        b.close()


def test_there_are_pages():
    assert "book/intro.html" in PAGES and any(p.startswith("notebooks/") for p in PAGES)
    assert "zh/book/intro.html" in PAGES, "the Chinese edition is not built (make book builds it)"


def _offline_page(browser, base_url):
    """A 1280x900 page that blocks every request outside the book's server.

    Returns (page, outside, errors): the URLs it blocked, and the console errors and
    uncaught exceptions of its scripts, filled in as the page runs."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    outside, errors = [], []

    def route(r):
        if r.request.url.startswith(base_url) or r.request.url.startswith(("data:", "blob:")):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return page, outside, errors


@pytest.mark.parametrize("page_path", PAGES)
def test_page(page_path, base_url, browser):
    page, outside, errors = _offline_page(browser, base_url)
    page.on(
        "response",
        lambda r: errors.append(f"HTTP {r.status} for {r.url}") if r.status >= 400 else None,
    )
    page.goto(base_url + page_path, wait_until="networkidle")
    html = page.content()

    has_math = 'class="math' in html or "\\(" in page.inner_text("body")
    if has_math:
        page.wait_for_function(
            "() => window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=20000
        )
        page.evaluate("() => MathJax.startup.promise")
        assert page.locator("mjx-container").count() > 0, "math was not typeset"
        text = page.inner_text("body")
        assert "\\(" not in text and "\\[" not in text, "raw TeX left on the page"

    views = page.locator('script[type="application/vnd.jupyter.widget-view+json"]').count()
    if views:
        page.wait_for_function(
            f"() => document.querySelectorAll('.jupyter-widgets, .widget-container, .widget-inline-hbox').length >= {views}",
            timeout=20000,
        )

    page.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")
    page.wait_for_load_state("networkidle")
    broken = page.evaluate(
        "() => Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0)"
        ".map(i => i.src)"
    )
    glyphs = page.evaluate(MISSING_GLYPHS_JS)
    reprs = STRAY_REPR.findall(page.inner_text("body"))
    alts = page.evaluate(FIGURE_ALTS_JS)
    switch = _language_switch_problem(page, page_path, base_url)
    buttons = _launch_buttons_problem(page, page_path, base_url)
    page.screenshot(
        path=str(SHOTS / (page_path.replace("/", "__").removesuffix(".html") + ".png")),
        full_page=True,
    )
    page.close()
    assert not outside, f"requests left 127.0.0.1: {outside[:5]}"
    assert not errors, f"console errors: {errors[:5]}"
    assert not broken, f"images that did not load: {broken[:5]}"
    assert not glyphs["missing"], f"drawn as missing-glyph boxes: {glyphs['missing'][:5]}"
    assert switch is None, switch
    assert buttons is None, buttons
    assert not reprs, f"stray object reprs (a return value a cell should not show): {reprs[:3]}"
    bad_alts = [a for a in alts if not _describes(a)]
    assert not bad_alts, f"figures whose alt text says nothing (empty, a path, a hash): {bad_alts}"


# A cell's stray return value, e.g. <torch._C.Generator at 0x7f12757fccd0>: its address changes
# with every build, and it tells the reader nothing.
STRAY_REPR = re.compile(r"<[\w.]+(?: object)? at 0x[0-9a-fA-F]+>")

# The alt text of every figure a notebook cell drew (myst-nb's <img> in a cell's output).
FIGURE_ALTS_JS = """() => Array.from(document.querySelectorAll('.cell_output img'))
  .map(i => i.getAttribute('alt') || '')"""


def _describes(alt):
    """True if an alt text says something: not empty, not a file path or a hash, and every
    glued value filled in (book/_ext/accessibility.py)."""
    alt = alt.strip()
    return (
        len(alt) >= 20
        and not re.search(r"\.(png|svg|jpe?g)\b|_images/|[0-9a-f]{32}", alt)
        and "{" not in alt
    )


def test_the_alt_check_rejects_what_says_nothing():
    assert _describes("Training loss against epoch: the residual network ends lower, at 0.12.")
    for alt in [
        "",
        "../_images/ce4e0f0b7a1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6.png",
        "ce4e0f0b7a1c2d3e4f5a6b7c8d9e0f1a",
        "figure",
        "Loss curves, final {loss:.2f}",
    ]:
        assert not _describes(alt), alt
    assert STRAY_REPR.findall(
        "seed <torch._C.Generator at 0x7f12757fccd0> and <Foo object at 0xAB>"
    )


def _launch_buttons_problem(page, page_path, base_url):
    """None unless ``page_path`` is an English chapter whose buttons are wrong: Colab and Binder
    must open this chapter's notebook in the repository of _config.yml (the links
    tools/setup_cell.py computes as sphinx-book-theme does), and the download button must serve
    it. Checked on the page test_page has open, instead of loading every chapter again."""
    import json
    import sys
    import urllib.request

    if not page_path.startswith("notebooks/"):
        return None
    sys.path.insert(0, str(ROOT / "tools"))
    from setup_cell import load_book

    book, notebook = load_book(), page_path.removesuffix(".html") + ".ipynb"

    def hrefs(selector, resolved=False):
        js = (
            "els => els.map(e => e.href)"
            if resolved
            else "els => els.map(e => e.getAttribute('href'))"
        )
        return page.eval_on_selector_all(selector, js)

    colab = hrefs('a[href^="https://colab.research.google.com/"]')
    binder = hrefs('a[href^="https://mybinder.org/"]')
    download = hrefs("a.btn-download-source-button", resolved=True)
    if colab != [book.colab_url(notebook)]:
        return f"Colab buttons {colab}, expected [{book.colab_url(notebook)}]"
    if binder != [book.binder_url(notebook)]:
        return f"Binder buttons {binder}, expected [{book.binder_url(notebook)}]"
    if download != [base_url + "_sources/" + notebook]:
        return f"download buttons {download}, expected the notebook under _sources/"
    served = json.loads(urllib.request.urlopen(download[0]).read())
    if served["cells"] != json.loads((ROOT / notebook).read_text())["cells"]:
        return f"the download button serves a notebook other than {notebook}"
    return None


# ---------------------------------------------------------------- the explorers respond on the page
# Each explorer's HTML twin (resnet_utils/widgets.py, static/explorers.js) computes in the browser.
# Drive its controls as a reader would, read the numbers and pixels back, and compare them with
# Python on the same data (read from the twin): F.conv2d, widgets.augment, scikit-learn.

EXPLORERS = {
    "conv": "notebooks/01_convolution.html",
    "augment": "notebooks/05_data.html",
    "threshold": "notebooks/07_evaluation.html",
}
EDITIONS = [""] + (
    ["zh/"] if (HTML / "zh").is_dir() else []
)  # the Chinese pages run the same twins


def test_every_explorer_kind_is_driven_here():
    from resnet_utils._twin import KINDS

    assert set(EXPLORERS) == set(KINDS), "a new explorer needs its test on its page below"


def _explorer_page(browser, base_url, kind, edition):
    """Open the chapter, wait for its explorer; returns (page, root locator, data, outside, errors)."""
    import json

    path = edition + EXPLORERS[kind]
    assert (HTML / path).is_file(), f"{path} is not in the built book"
    page, outside, errors = _offline_page(browser, base_url)
    page.goto(base_url + path, wait_until="networkidle")
    root = page.locator(f'.resnet-explorer[data-explorer="{kind}"]')
    assert root.count() == 1, f"{path}: expected one {kind} explorer, found {root.count()}"
    root.and_(page.locator("[data-ready]")).wait_for(timeout=10000)
    data = json.loads(root.locator("script.rx-data").text_content())
    root.scroll_into_view_if_needed()
    return page, root, data, outside, errors


def _shot(root, name, edition):
    root.screenshot(path=str(SHOTS / f"explorer_{edition.replace('/', '_')}{name}.png"))


def _decode(b64, dtype):
    import base64

    import numpy as np

    return np.frombuffer(base64.b64decode(b64), dtype=np.dtype(dtype).newbyteorder("<"))


def _grey_pixels(root, selector):
    """The red channel of a canvas (the explorers draw grey), as an (H, W) array."""
    import numpy as np

    h, w, flat = root.locator(selector).evaluate(
        "c => [c.height, c.width,"
        " Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)"
        ".filter((_, i) => i % 4 === 0)]"
    )
    return np.array(flat, dtype=np.int64).reshape(h, w)


def _finish(page, outside, errors):
    page.close()
    assert not outside, f"requests left 127.0.0.1: {outside[:5]}"
    assert not errors, f"console errors: {errors[:5]}"


@pytest.mark.parametrize("edition", EDITIONS)
def test_convolution_explorer_responds(edition, base_url, browser):
    import html

    import numpy as np
    import torch
    import torch.nn.functional as F

    from resnet_utils.ops import conv_output_size
    from resnet_utils.widgets import ConvExplorer

    page, root, data, outside, errors = _explorer_page(browser, base_url, "conv", edition)
    h, w = data["height"], data["width"]
    image = torch.from_numpy(_decode(data["image"], "float32").copy()).view(h, w)
    python = ConvExplorer(image, kernel=data["kernel"])  # the Python explorer, for its label

    def check(stride, padding, weight):
        """The page shows Python's output for these settings: size, label, numbers, pixels."""
        state = root.evaluate("r => r.resnetExplorer.state")
        assert (state["stride"], state["padding"]) == (stride, padding)
        assert state["weight"] == weight.flatten().tolist()
        expected = F.conv2d(image[None, None], weight[None, None], stride=stride, padding=padding)
        expected = expected[0, 0].double()
        side = (conv_output_size(h, 3, stride, padding), conv_output_size(w, 3, stride, padding))
        assert tuple(expected.shape) == side
        python.stride.value, python.padding.value = stride, padding
        assert root.locator('[data-role="size"]').inner_text() == html.unescape(python.size_text)
        result = root.evaluate(
            "r => [r.resnetExplorer.result.height, r.resnetExplorer.result.width,"
            " Array.from(r.resnetExplorer.result.data)]"
        )
        assert tuple(result[:2]) == side
        got = torch.tensor(result[2], dtype=torch.float64).view(side)
        torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)
        lo, hi = expected.min(), expected.max()
        grey = np.rint(255 * ((expected - lo) / (hi - lo)).numpy())
        drawn = _grey_pixels(root, 'canvas[data-role="output"]')
        assert drawn.shape == side and np.abs(drawn - grey).max() <= 1
        return got

    kernels = data["kernels"]
    weight = torch.tensor(data["weight"]).view(3, 3)
    start = check(data["stride"], data["padding"], weight)
    _shot(root, "conv_before", edition)

    stride = root.get_by_role("slider", name="stride")
    stride.focus()
    stride.press("End")  # as far as it goes: stride 4, as the reader of issue 20 tried
    after_stride = check(4, data["padding"], weight)
    assert after_stride.shape != start.shape

    padding = root.get_by_role("slider", name="padding")
    padding.focus()
    for _ in range(2):
        padding.press("ArrowRight")
    check(4, data["padding"] + 2, weight)

    root.get_by_label("kernel", exact=True).select_option("box_blur")
    weight = torch.tensor(kernels["box_blur"]).view(3, 3)
    cells = root.locator("input.rx-cell")
    assert [float(v) for v in cells.evaluate_all("cs => cs.map(c => c.value)")] == pytest.approx(
        weight.flatten().tolist(), abs=1e-3
    )
    check(4, data["padding"] + 2, weight)

    cells.nth(4).fill("2")  # the centre weight: now a kernel of the reader's own
    assert root.get_by_label("kernel", exact=True).input_value() == "custom"
    weight = weight.clone()
    weight[1, 1] = 2.0
    check(4, data["padding"] + 2, weight)
    _shot(root, "conv_after", edition)
    _finish(page, outside, errors)


@pytest.mark.parametrize("edition", EDITIONS)
def test_augmentation_explorer_responds(edition, base_url, browser):
    import numpy as np
    import torch

    from resnet_utils.widgets import augment

    page, root, data, outside, errors = _explorer_page(browser, base_url, "augment", edition)
    shape = (data["channels"], data["height"], data["width"])
    image = torch.from_numpy(_decode(data["image"], "float32").copy()).view(shape)
    canvases = root.locator("canvas.rx-sample")
    assert canvases.count() == data["num_samples"]

    def samples():
        """Each sample on the page equals augment(image, the parameters it shows)."""
        import json

        params = [
            json.loads(p) for p in canvases.evaluate_all("cs => cs.map(c => c.dataset.params)")
        ]
        numbers = root.evaluate("r => r.resnetExplorer.samples")
        drawn = []
        for k, (p, x) in enumerate(zip(params, numbers)):
            expected = augment(image, p).clamp(0, 1)
            got = torch.tensor(x).view(shape)
            torch.testing.assert_close(got, expected, atol=1e-4, rtol=0, msg=lambda m: f"{p}: {m}")
            pixels = _grey_pixels(root, f'canvas.rx-sample[data-index="{k}"]')
            if shape[0] == 1:  # grey, drawn ink-dark (matplotlib's gray_r)
                assert np.abs(pixels - np.rint(255 * (1 - expected[0].numpy()))).max() <= 1
            drawn.append(pixels)
        return params, np.stack(drawn)

    params, before = samples()
    settings = root.evaluate("r => r.resnetExplorer.settings")
    assert settings == data["settings"]
    _shot(root, "augment_before", edition)

    def move(name, key, times=1):
        slider = root.get_by_role("slider", name=name)
        slider.focus()
        for _ in range(times):
            slider.press(key)

    last = [before]

    def changed(what):
        params, pixels = samples()
        assert not np.array_equal(pixels, last[0]), f"{what}: the grid did not change"
        last[0] = pixels
        return params

    move("rotation (deg)", "Home")  # no rotation
    params = changed("rotation")
    assert all(p["angle"] == 0 for p in params)
    move("rotation (deg)", "ArrowRight", 6)  # 30 degrees
    params = changed("rotation")
    assert all(abs(p["angle"]) <= 30 for p in params) and any(p["angle"] for p in params)
    move("shift (frac)", "ArrowRight", 4)  # 0.2 of each side
    params = changed("shift")
    assert any(p["translate"] != [0, 0] for p in params)
    move("scale (+-)", "ArrowRight", 4)  # 0.8..1.2
    params = changed("scale")
    assert all(0.8 - 1e-9 <= p["scale"] <= 1.2 + 1e-9 for p in params)
    root.get_by_label("horizontal flip (p=0.5)").check()
    params = changed("flip")
    assert any(p["flip"] for p in params)
    move("crop padding", "ArrowRight", 3)
    params = changed("crop padding")
    assert all(p["padding"] == 3 for p in params)
    move("brightness", "ArrowRight", 4)
    params = changed("brightness")
    assert any(p["brightness"] != 1 for p in params)
    _shot(root, "augment_after", edition)
    _finish(page, outside, errors)


@pytest.mark.parametrize("edition", EDITIONS)
def test_threshold_explorer_responds(edition, base_url, browser):
    import html

    import numpy as np
    from sklearn.metrics import confusion_matrix, precision_score, recall_score

    from resnet_utils.widgets import ThresholdExplorer

    page, root, data, outside, errors = _explorer_page(browser, base_url, "threshold", edition)
    y = _decode(data["labels"], "int32")
    prob = _decode(data["probs"], "float64").reshape(len(y), data["num_classes"])
    python = ThresholdExplorer(y, prob, class_names=data["class_names"])

    def check(cls, t):
        """The label and the markers equal scikit-learn's numbers for this class and threshold."""
        state = root.evaluate("r => r.resnetExplorer.state")
        assert state == {"cls": cls, "threshold": t}  # k / 100 on both sides: the same double
        actual, predicted = y == cls, prob[:, cls] >= t
        tn, fp, fn, tp = confusion_matrix(actual, predicted, labels=[False, True]).ravel()
        recall = recall_score(actual, predicted, zero_division=np.nan)
        precision = precision_score(actual, predicted, zero_division=np.nan)
        python.positive.value, python.threshold.value = cls, t
        text = root.locator('[data-role="stats"]').inner_text()
        assert text == html.unescape(python.label.value)
        assert f"TP {tp}, FP {fp}, FN {fn}, TN {tn}" in text
        roc = root.locator('svg[data-role="roc"] circle.rx-marker')
        x, yv = (float(roc.get_attribute(a)) for a in ("data-x", "data-y"))
        assert (x, yv) == (fp / (fp + tn), recall)
        pr = root.locator('svg[data-role="pr"] circle.rx-marker')
        if tp + fp:
            assert (float(pr.get_attribute("data-x")), float(pr.get_attribute("data-y"))) == (
                recall,
                precision,
            )
        else:
            assert pr.count() == 0
        return text, roc.get_attribute("cx"), roc.get_attribute("cy")

    cls, t = data["positive_class"], data["threshold"]
    before = check(cls, t)
    _shot(root, "threshold_before", edition)
    slider = root.get_by_role("slider", name="threshold")
    slider.focus()
    for _ in range(30):
        slider.press("ArrowLeft")  # lower the threshold by 0.30
    k = round(100 * t) - 30
    lower = check(cls, k / 100)
    assert lower[0] != before[0] and lower[1:] != before[1:], (
        "the label or the marker did not move"
    )
    _shot(root, "threshold_after", edition)
    other = (cls + 1) % data["num_classes"]
    root.get_by_label("class", exact=True).select_option(str(other))
    check(other, k / 100)
    _finish(page, outside, errors)


# ------------------------------------------------------- the Chinese edition: switcher and glyphs
# A character no installed font has is drawn as the .notdef glyph (a box, "tofu") of the first font,
# the same box for every such character. So, per font the page uses, each distinct CJK character of
# the page is drawn on a canvas and compared with a codepoint no font has (U+10FFFD, private use):
# identical pixels mean a missing glyph. A second such codepoint (U+0378, unassigned) must give the
# same box, or the browser draws missing glyphs some other way and the check cannot work.

MISSING_GLYPHS_JS = r"""
async () => {
  await document.fonts.ready;
  const cjk = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\u3001-\u303f\uff01-\uffee]/u;
  const byFont = new Map();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || ["SCRIPT", "STYLE", "TEMPLATE", "NOSCRIPT"].includes(parent.tagName)) continue;
    const chars = Array.from(node.data).filter(c => cjk.test(c));
    if (!chars.length) continue;
    const s = getComputedStyle(parent);
    const font = `${s.fontStyle} ${s.fontWeight} 32px ${s.fontFamily}`;
    if (!byFont.has(font)) byFont.set(font, new Set());
    chars.forEach(c => byFont.get(font).add(c));
  }
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 48;
  const ctx = canvas.getContext("2d", {willReadFrequently: true});
  const draw = (font, ch) => {
    ctx.clearRect(0, 0, 48, 48);
    ctx.font = font;
    ctx.textBaseline = "top";
    ctx.fillStyle = "#000";
    ctx.fillText(ch, 4, 4);
    return ctx.getImageData(0, 0, 48, 48).data;
  };
  const same = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);
  const missing = [], checked = new Set();
  for (const [font, chars] of byFont) {
    const tofu = draw(font, "\u{10FFFD}");
    if (!same(tofu, draw(font, "\u0378"))) {
      throw new Error(`missing glyphs are not drawn as one box in ${font}: cannot check`);
    }
    for (const ch of chars) {
      checked.add(ch);
      if (same(draw(font, ch), tofu)) {
        const code = ch.codePointAt(0).toString(16).toUpperCase();
        missing.push(`${ch} (U+${code}) in ${font}`);
      }
    }
  }
  return {checked: checked.size, missing};
}
"""


def _language_switch_problem(page, page_path, base_url):
    """None if the page's header links to the same page in the other edition and that page is
    in the build; else what is wrong. (Jupyter Book's redirecting index.html has no header.)"""
    if 'http-equiv="Refresh"' in (HTML / page_path).read_text(encoding="utf-8"):
        return None
    other = page_path.removeprefix("zh/") if page_path.startswith("zh/") else "zh/" + page_path
    links = page.eval_on_selector_all("a.language-switch", "els => els.map(e => e.href)")
    if links != [base_url + other]:
        return f"{page_path}: the language switcher links to {links}, not to {other}"
    if not (HTML / other).is_file():
        return f"{page_path}: the language switcher's page {other} is not in the build"
    return None


def _chromium():
    return (
        os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    )


def test_the_switcher_goes_to_the_chinese_page_and_back(base_url, browser):
    page = browser.new_page()
    page.route(
        "**/*", lambda r: r.continue_() if r.request.url.startswith(base_url) else r.abort()
    )
    page.goto(base_url + "book/preface.html")
    page.locator("a.language-switch").click()
    page.wait_for_url(base_url + "zh/book/preface.html")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert "前言" in page.locator("h1").first.inner_text()
    page.locator("a.language-switch").click()
    page.wait_for_url(base_url + "book/preface.html")
    assert page.locator("html").get_attribute("lang") == "en"
    page.close()


def test_the_chinese_search_finds_chinese_words(base_url, browser):
    """Sphinx's Chinese search, its index split by jieba (tools/zh_book.py): 残差 (residual) is in
    the Chinese preface."""
    page = browser.new_page()
    page.route(
        "**/*", lambda r: r.continue_() if r.request.url.startswith(base_url) else r.abort()
    )
    page.goto(base_url + "zh/search.html?q=残差", wait_until="networkidle")
    page.wait_for_selector("#search-results ul.search li", timeout=10000)
    found = page.eval_on_selector_all(
        "#search-results ul.search li a", "as => as.map(a => a.href)"
    )
    page.close()
    assert base_url + "zh/book/preface.html" in [f.split("?")[0].split("#")[0] for f in found]


def test_the_glyph_check_finds_a_character_no_font_has(browser):
    """U+30000 (CJK Extension G) is in no installed font, Noto CJK included; 残差 and ， are."""
    page = browser.new_page()
    page.set_content("<p style='font-family: sans-serif'>残差，\U00030000</p><code>卷积核</code>")
    result = page.evaluate(MISSING_GLYPHS_JS)
    page.close()
    assert result["checked"] == 7
    assert [m.split(" in ")[0] for m in result["missing"]] == ["\U00030000 (U+30000)"]


def test_the_glyph_check_fails_a_chinese_page_without_a_cjk_font(base_url, browser, tmp_path):
    """The same check, on the Chinese preface, in a Chromium whose fontconfig sees only DejaVu
    (as the test machine was before `.ci/run` installed fonts-noto-cjk): every character fails."""
    import subprocess

    dejavu = subprocess.run(
        ["fc-match", "-f", "%{file}", "DejaVu Sans"], capture_output=True, text=True
    ).stdout
    if "DejaVu" not in dejavu:
        pytest.skip("no DejaVu font to build a fontconfig without CJK fonts from")
    conf = tmp_path / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
        f"<dir>{Path(dejavu).parent}</dir><cachedir>{tmp_path / 'cache'}</cachedir></fontconfig>"
    )
    env = {**os.environ, "FONTCONFIG_FILE": str(conf)}
    bare = browser.browser_type.launch(executable_path=_chromium(), args=CHROMIUM_ARGS, env=env)
    try:
        page = bare.new_page()
        page.route(
            "**/*", lambda r: r.continue_() if r.request.url.startswith(base_url) else r.abort()
        )
        page.goto(base_url + "zh/book/preface.html", wait_until="networkidle")
        result = page.evaluate(MISSING_GLYPHS_JS)
    finally:
        bare.close()
    assert result["checked"] > 100  # distinct characters: the text and the theme's Chinese
    assert len({m.split(" ")[0] for m in result["missing"]}) == result["checked"]


# ---------------------------------------------------------------- every reader (issue 34)
# axe-core (browser_tests/package.json, installed by `make browser-test`; nothing is fetched at
# test time) audits every page of both editions in the light and the dark theme against the
# WCAG 2.1 A and AA rules, as pydata-sphinx-theme's own CI does: no violation passes. A rule the
# book could not fix without forking the theme would be listed here with its upstream issue;
# there is none.
AXE = ROOT / "browser_tests" / "node_modules" / "axe-core" / "axe.min.js"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
UPSTREAM: dict[str, str] = {}  # rule id -> the upstream issue that tracks it
AUDITED = [p for p in PAGES if 'http-equiv="Refresh"' not in (HTML / p).read_text("utf-8")]
THEMES = ["light", "dark"]


@pytest.fixture(scope="module")
def axe_source():
    if not AXE.is_file():
        pytest.fail("axe-core is not installed: `make browser-test` runs npm ci in browser_tests/")
    return AXE.read_text(encoding="utf-8")


def _themed_page(browser, base_url, theme, width=1280, height=900):
    """A page in ``theme`` (the theme's own setting, kept in localStorage), offline."""
    context = browser.new_context(viewport={"width": width, "height": height})
    context.add_init_script(
        f"localStorage.setItem('mode', '{theme}'); localStorage.setItem('theme', '{theme}');"
    )
    page = context.new_page()
    page.route(
        "**/*", lambda r: r.continue_() if r.request.url.startswith(base_url) else r.abort()
    )
    return context, page


def _ready(page):
    """Wait for what scripts add to the page: typeset math and mounted explorers."""
    if page.evaluate("() => !!window.MathJax"):
        page.wait_for_function("() => MathJax.startup && MathJax.startup.promise", timeout=20000)
        page.evaluate("() => MathJax.startup.promise")
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('.resnet-explorer'))"
        ".every(e => e.hasAttribute('data-ready'))",
        timeout=20000,
    )


def _axe(page, axe_source):
    page.add_script_tag(content=axe_source)
    return page.evaluate(
        """async tags => (await axe.run(document, {runOnly: {type: 'tag', values: tags}}))
        .violations.map(v => ({id: v.id, help: v.help,
          nodes: v.nodes.map(n => n.target.join(' ') + ': ' + n.failureSummary.split('\\n')[1])}))""",
        WCAG,
    )


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("page_path", AUDITED)
def test_accessibility(page_path, theme, base_url, browser, axe_source):
    context, page = _themed_page(browser, base_url, theme)
    page.goto(base_url + page_path, wait_until="networkidle")
    _ready(page)
    assert page.evaluate("() => document.documentElement.dataset.theme") == theme
    violations = [v for v in _axe(page, axe_source) if v["id"] not in UPSTREAM]
    context.close()
    assert not violations, "\n".join(
        f"{v['id']} ({v['help']}), {len(v['nodes'])} element(s): {v['nodes'][:3]}"
        for v in violations
    )


def test_the_audit_finds_a_violation(base_url, browser, axe_source, tmp_path):
    """The audit can fail: a page with an unlabelled input, an image without alt text and
    grey-on-white text gives those three rules."""
    context, page = _themed_page(browser, base_url, "light")
    page.set_content(
        '<html lang="en"><head><title>t</title></head><body><main><h1>t</h1>'
        '<input type="range"><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">'
        '<p style="color:#bbb;background:#fff">faint</p></main></body></html>'
    )
    found = {v["id"] for v in _axe(page, axe_source)}
    context.close()
    assert {"label", "image-alt", "color-contrast"} <= found, found


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("edition", EDITIONS)
def test_the_switcher_is_whole_and_clickable(edition, width, base_url, browser):
    """The language switcher sits inside the sticky header, not under it, at a desktop and a
    phone width, at the top of the page and scrolled down; a click there reaches it."""
    context, page = _themed_page(browser, base_url, "light", width=width, height=800)
    for path in ["book/preface.html", "notebooks/02_residual_connections.html"]:
        page.goto(base_url + edition + path, wait_until="networkidle")
        for scroll in (0, 1500):
            page.evaluate(f"() => window.scrollTo(0, {scroll})")
            page.wait_for_timeout(200)
            link = page.locator("a.language-switch")
            box = link.bounding_box()
            header = page.locator(".bd-header-article").bounding_box()
            where = f"{edition}{path} at {width} px, scrolled {scroll}"
            assert box and header, f"{where}: no switcher or no header"
            assert header["y"] - 0.5 <= box["y"], f"{where}: the switcher sticks out above"
            assert box["y"] + box["height"] <= header["y"] + header["height"] + 0.5, where
            assert box["y"] >= -0.5, f"{where}: the switcher is cut off at the top"
            # what a click at the switcher's middle hits is the switcher
            hit = page.evaluate(
                "([x, y]) => !!document.elementFromPoint(x, y)?.closest('a.language-switch')",
                [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2],
            )
            assert hit, f"{where}: something covers the switcher"
        if width == 1280:
            page.screenshot(path=str(SHOTS / f"first_screen_{edition.replace('/', '_')}.png"))
    context.close()


KEYBOARD_CONTROLS = "input, select, button, textarea"


@pytest.mark.parametrize("kind", list(EXPLORERS))
def test_explorers_work_by_keyboard(kind, base_url, browser):
    """Tab reaches every control of the explorer, in order, each with a visible focus ring;
    the arrow keys change a slider, a number or a menu, and the explorer follows."""
    page, root, data, outside, errors = _explorer_page(browser, base_url, kind, "")
    controls = root.locator(KEYBOARD_CONTROLS)
    n = controls.count()
    assert n >= 2, f"{kind}: {n} controls"
    # start just before the explorer, as a reader tabbing down the page would
    root.evaluate(
        "r => { const a = document.createElement('a'); a.href = '#'; a.id = 'kbd-start';"
        " a.textContent = 'start'; r.before(a); a.focus(); }"
    )
    reached = []
    for _ in range(n):
        page.keyboard.press("Tab")
        reached.append(
            page.evaluate(
                """r => { const e = document.activeElement, s = getComputedStyle(e);
                const inside = r.contains(e);
                return {inside, index: Array.from(r.querySelectorAll('%s'))
                  .indexOf(e), ring: s.outlineStyle !== 'none' &&
                  parseFloat(s.outlineWidth) >= 2, tag: e.tagName, type: e.type || ''}; }"""
                % KEYBOARD_CONTROLS,
                root.element_handle(),
            )
        )
    assert [r["index"] for r in reached] == list(range(n)), f"{kind}: tab order {reached}"
    no_ring = [f"{r['tag']}[{r['type']}]" for r in reached if not r["ring"]]
    assert not no_ring, f"{kind}: no visible focus ring on {no_ring}"

    # what the explorer shows: its state where it keeps one, its numbers and its pictures
    state = (
        "r => JSON.stringify(r.resnetExplorer.state ?? null) + r.innerText"
        " + Array.from(r.querySelectorAll('canvas')).map(c => c.toDataURL()).join()"
    )
    for i in range(n):
        control = controls.nth(i)
        tag, kind_of = control.evaluate("e => [e.tagName, e.type || '']")
        if tag == "BUTTON" or kind_of in ("checkbox", "radio"):
            continue
        control.focus()
        before, value = root.evaluate(state), control.input_value()
        keys = ["ArrowRight", "ArrowUp", "ArrowDown", "ArrowLeft"]
        for key in keys:  # one of them moves it, whichever end it starts at
            page.keyboard.press(key)
            if control.input_value() != value:
                break
        assert control.input_value() != value, f"{kind}: the arrow keys leave {tag} {i} as is"
        assert root.evaluate(state) != before, f"{kind}: {tag} {i} changed, the explorer did not"
    _shot(root, f"{kind}_keyboard", "")
    _finish(page, outside, errors)


@pytest.mark.parametrize("edition", EDITIONS)
def test_a_figure_is_read_out_in_the_pages_language(edition, base_url, browser):
    """What a screen reader announces for chapter 2's degradation figure: its description,
    with this run's numbers, in the edition's language (saved next to the screenshots)."""
    context, page = _themed_page(browser, base_url, "light")
    page.goto(base_url + edition + "notebooks/02_residual_connections.html")
    figures = page.locator(".cell_output img")
    assert figures.count() >= 2
    spoken = figures.last.aria_snapshot()
    (SHOTS / f"figure_alt_{edition.replace('/', '_') or 'en_'}.txt").write_text(
        spoken + "\n", encoding="utf-8"
    )
    context.close()
    # (the snapshot is YAML: a line with a colon in it is quoted as a whole)
    line = spoken.removeprefix("- ").strip("'")
    assert line.startswith('img "') and _describes(line[len("img ") :].strip('"')), spoken
    has_chinese = re.search(r"[\u4e00-\u9fff]", spoken) is not None
    assert has_chinese == edition.startswith("zh"), spoken
