"""The book on paper: a PDF of each edition, from the outputs the HTML book shows.

    python tools/pdf_book.py build [--edition en|zh ...]   # `make pdf`, after `make book`

writes ``_build/pdf/resnet-hands-on.pdf`` (English) and ``_build/pdf/resnet-hands-on-zh.pdf``
(中文版), and copies both into ``_build/html/pdf/``, where every page's header links to its
edition's PDF (book/_ext/pdf_link.py). Nothing is executed: the English notebooks get the
outputs of the English build from its jupyter-cache (``zh_book.executed_notebook``, as the
Chinese edition does), and the Chinese PDF from the Chinese edition's source tree, written by
tools/zh_book.py's own ``prepare_sources`` (the tree ``zh_book.py build`` writes to
``_build/zh_src``: the same outputs, the current translations).

Each edition's sources are copied into ``_build/pdf_src/<edition>/`` and made fit for paper:

- **Explorers** (resnet_utils/widgets.py: an ipywidgets view with an HTML twin that computes in
  the browser) become the picture the kernel drew for their initial state, taken from the
  notebook's saved widget state (no browser, nothing executed), with a caption that gives
  their settings and the address of the interactive page online.
- **Animations** (matplotlib's JavaScript player) become their first frame, with such a caption.
- **Progress bars** (tqdm's widgets) become the text of their final state.
- Any other output that only a browser can show (HTML, JavaScript, widgets) becomes a one-line
  note pointing to the online page, so that no output breaks the build or prints raw HTML.
- **Answers and solutions** go to an appendix: the self-check answers (``{dropdown}`` blocks)
  and the exercise solutions (``solution-start`` ... ``solution-end`` cells), per chapter, in
  a last part "Appendix"; each chapter says where its answers are (with the page number).
- An output tagged ``hide-output`` (folded on the web, one click away: chapter 6's source of
  ``fit``) is unfolded on paper, where nothing can be clicked. The cells the web book hides
  (``remove-cell``, ``remove-input``) stay hidden: myst-nb removes them in both builders.
- The preface's run-time table (``{nb-exec-table}``, which needs the execution data of a build
  that reads the cache) is written out as a Markdown table from the jupyter-cache's records.
- Inline HTML links (``<a href>``) become Markdown links to the online book.

Then Jupyter Book's LaTeX builder (sphinx-jupyterbook-latex) writes the LaTeX, with the settings
of ``latex_settings()`` (xelatex; for the Chinese edition ctex with the Noto CJK fonts of
Debian's fonts-noto-cjk; code and outputs in a smaller monospace font and wrapped at the
margin), and latexmk runs xelatex until every reference is resolved. The build fails on a
Sphinx warning, a LaTeX error, an undefined reference or citation in the LaTeX log, or a
character that no font has ("Missing character").
``pdf_tests/`` checks the PDFs as a reader would (``make pdf-test``).
"""

from __future__ import annotations

import argparse
import copy
import html
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import zh_book  # noqa: E402  (tools/ is not a package)
from setup_cell import load_book  # noqa: E402

OUT = ROOT / "_build" / "pdf"
SRC = ROOT / "_build" / "pdf_src"
HTML = ROOT / "_build" / "html"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
APPENDIX = "appendix/answers"  # the appendix's docname in each edition's source tree
MARGIN_CM = 2.2  # left and right, on A4 (pdf_tests/ checks that no text goes beyond them)


@dataclass(frozen=True)
class Edition:
    """One edition of the book on paper."""

    name: str  # "en", "zh"
    pdf: str  # the PDF's file name
    site: str  # where the edition's HTML sits in the published site ("" or "zh/")
    text: dict  # what the PDF adds, in the edition's language

    @property
    def stem(self) -> str:
        return self.pdf.removesuffix(".pdf")


EDITIONS = {
    "en": Edition(
        "en",
        "resnet-hands-on.pdf",
        "",
        {
            "explorer": {
                "conv": "The convolution explorer",
                "augment": "The augmentation explorer",
                "threshold": "The threshold explorer",
            },
            "explorer_caption": "{name} as the page opens{settings}. Online it is interactive:",
            "animation_caption": "The first frame of the animation. Online it plays:",
            "html_only": "(An interactive output, shown only online: {url})",
            "appendix_part": "Appendix",
            "appendix_title": "Answers and solutions",
            "appendix_intro": (
                "The answers to each chapter's self-check and the solutions to its exercises. "
                "In the online book each sits in a fold under its question."
            ),
            "answers_note": "The answers are in the appendix, {ref}`{label}`.",
            "solutions_note": "The solutions are in the appendix, {ref}`{label}`.",
            "exec_table": ("Chapter", "Run time (s)", "Executed"),
        },
    ),
    "zh": Edition(
        "zh",
        "resnet-hands-on-zh.pdf",
        "zh/",
        {
            "explorer": {
                "conv": "卷积演示器",
                "augment": "数据增强演示器",
                "threshold": "阈值演示器",
            },
            "explorer_caption": "{name}在页面打开时的样子{settings}。在线版可以交互操作：",
            "animation_caption": "动画的第一帧。在线版会播放它：",
            "html_only": "（交互式输出，只在在线版中显示：{url}）",
            "appendix_part": "附录",
            "appendix_title": "答案与题解",
            "appendix_intro": (
                "各章自测题的答案和练习的题解。在线版中，它们折叠在各自的题目下面。"
            ),
            "answers_note": "答案在附录中：{ref}`{label}`。",
            "solutions_note": "题解在附录中：{ref}`{label}`。",
            "exec_table": ("章节", "运行时间（秒）", "执行于"),
        },
    ),
}


def site_url() -> str:
    """The published book's address: GitHub Pages of the repository in _config.yml
    (.github/workflows/book.yml publishes _build/html there)."""
    org, repo = load_book().github()
    return f"https://{org}.github.io/{repo}/"


def page_url(edition: Edition, docname: str) -> str:
    return f"{site_url()}{edition.site}{docname}.html"


# ---------------------------------------------------------------------------------------------
# Outputs that only a browser can show


def _widget_models(nb) -> dict:
    return nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})


def _descendants(models: dict, model_id: str) -> list[dict]:
    """The widget ``model_id`` and every widget inside it, depth first."""
    found, stack = [], [model_id]
    while stack:
        model = models.get(stack.pop(0).removeprefix("IPY_MODEL_"))
        if model is None:
            continue
        found.append(model)
        children = model.get("state", {}).get("children", [])
        stack[0:0] = [c for c in children if isinstance(c, str)]
    return found


def _model_png(model: dict) -> str | None:
    """The PNG (base64) an ipywidgets Image model holds, or None."""
    if model.get("model_name") != "ImageModel":
        return None
    state = model.get("state", {})
    if state.get("format", "png") != "png":
        return None
    for buffer in model.get("buffers", []):
        if buffer.get("path") == ["value"] and buffer.get("encoding") == "base64":
            return buffer["data"]
    value = state.get("value")
    return value if isinstance(value, str) and value else None


def _plain(markup: str) -> str:
    """Text of a bit of HTML: tags dropped, entities resolved, odd spaces made plain."""
    text = html.unescape(re.sub(r"<[^>]+>", " ", markup))
    return re.sub(r"[\u2007\u00a0\u2009\u202f ]+", " ", text).strip()


def _settings(models: list[dict]) -> str:
    """'kernel sobel_x, stride 2, padding 0': the controls' values, as a reader would read them."""
    parts = []
    for model in models:
        state = model.get("state", {})
        name = state.get("description")
        if not name or "value" not in state and "index" not in state:
            continue
        if "index" in state and state.get("_options_labels"):
            value = state["_options_labels"][state["index"]]
        else:
            value = state.get("value")
        if isinstance(value, float):
            value = f"{value:g}"
        if isinstance(value, bool):
            value = "on" if value else "off"
        parts.append(f"{_plain(str(name))} {value}")
    return ", ".join(parts)


def _progress_text(models: list[dict]) -> str | None:
    """tqdm's notebook bar as tqdm prints it in a terminal: 'epochs: 100%|##########| 15/15 [..]'."""
    kinds = [m.get("model_name") for m in models]
    if kinds[:1] != ["HBoxModel"] or "FloatProgressModel" not in kinds:
        return None
    left = right = ""
    bar = ""
    for model in models[1:]:
        state = model.get("state", {})
        if model.get("model_name") == "HTMLModel":
            if bar:
                right = _plain(state.get("value", ""))
            else:
                left = _plain(state.get("value", ""))
        elif model.get("model_name") == "FloatProgressModel":
            span = (state.get("max") or 1) - (state.get("min") or 0)
            done = round(10 * ((state.get("value") or 0) - (state.get("min") or 0)) / span)
            bar = "#" * max(0, min(10, done))
            bar = bar.ljust(10)
    return f"{left}|{bar}| {right}".strip()


def _first_frame(markup: str) -> str | None:
    """The first frame (PNG, base64) of matplotlib's JavaScript animation player, whose frames
    are JavaScript strings continued over lines with backslashes."""
    match = re.search(r"data:image/png;base64,([A-Za-z0-9+/=\\\s]+)", markup)
    return re.sub(r"[\\\s]", "", match.group(1)) if match else None


def _caption_cell(text: str, url: str):
    """A caption under a picture: an italic paragraph, the address on a line of its own."""
    cell = nbformat.v4.new_markdown_cell(f"*{text}*\\\n<{url}>")
    cell.metadata["tags"] = ["pdf-caption"]
    return cell


def paper_outputs(nb, edition: Edition, docname: str) -> dict[str, int]:
    """Replace every output only a browser can show (see the module docstring), in place.

    Returns how many of each kind were replaced."""
    models = _widget_models(nb)
    url = page_url(edition, docname)
    text = edition.text
    counts = {"explorer": 0, "animation": 0, "progress": 0, "html_only": 0, "unfolded": 0}
    cells = []
    for cell in nb.cells:
        cells.append(cell)
        if cell.cell_type != "code":
            continue
        tags = cell.metadata.get("tags", [])
        if "hide-output" in tags:  # folded on the web, one click away: unfolded on paper
            counts["unfolded"] += bool(cell.outputs)
            cell.metadata["tags"] = [t for t in tags if t != "hide-output"]
        kept = []
        for output in cell.get("outputs", []):
            data = output.get("data")
            if data is None or output.get("output_type") not in ("display_data", "execute_result"):
                kept.append(output)
                continue
            markup = data.get("text/html", "")
            if isinstance(markup, list):
                markup = "".join(markup)
            view = data.get(WIDGET_VIEW)
            tree = _descendants(models, view["model_id"]) if view else []
            explorer = re.search(r'class="resnet-explorer" data-explorer="(\w+)"', markup)
            if explorer:
                png = next((p for p in map(_model_png, tree) if p), None)
                if png is None:
                    raise ValueError(
                        f"{docname}: an explorer without its picture in the widget state"
                    )
                output["data"] = {"image/png": png, "text/plain": "explorer"}
                kept.append(output)
                settings = _settings(tree)
                name = text["explorer"].get(explorer.group(1), explorer.group(1))
                caption = text["explorer_caption"].format(
                    name=name, settings=f" ({settings})" if settings else ""
                )
                cells.append(_caption_cell(caption, url))
                cell.metadata.setdefault("mystnb", {})["image"] = {"width": "75%"}
                counts["explorer"] += 1
                continue
            if "_anim_img" in markup and (frame := _first_frame(markup)):
                output["data"] = {"image/png": frame, "text/plain": "animation"}
                kept.append(output)
                cells.append(_caption_cell(text["animation_caption"], url))
                counts["animation"] += 1
                continue
            if view and (progress := _progress_text(tree)):
                kept.append(nbformat.v4.new_output("stream", name="stdout", text=progress + "\n"))
                counts["progress"] += 1
                continue
            paper = {"image/png", "image/jpeg", "application/pdf", "text/latex", "text/markdown"}
            if (view or markup or "application/javascript" in data) and not paper & set(data):
                png = next((p for p in map(_model_png, tree) if p), None)
                if png:
                    output["data"] = {"image/png": png, "text/plain": "widget"}
                else:
                    output["data"] = {
                        "text/markdown": text["html_only"].format(url=f"<{url}>"),
                        "text/plain": "",
                    }
                kept.append(output)
                counts["html_only"] += 1
                continue
            kept.append(output)
        cell.outputs = kept
    nb.cells = cells
    return counts


# ---------------------------------------------------------------------------------------------
# Answers and solutions: into the appendix

DROPDOWN = re.compile(r"^```+\{dropdown\}[^\n]*\n(?P<body>.*?)^```+[ \t]*\n?", re.M | re.S)
QUESTION = re.compile(r"\*\*(\d+)\.\*\*")
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*$", re.M)


def _directive_name(cell) -> str | None:
    match = re.match(r"\s*```+\{([\w-]+)\}", cell.source) if cell.cell_type == "markdown" else None
    return match.group(1) if match else None


def _strip_options(body: str) -> str:
    lines = body.splitlines()
    while lines and re.match(r"\s*:[\w-]+:", lines[0]):
        lines.pop(0)
    return "\n".join(lines).strip()


@dataclass
class Answers:
    """What a chapter gives the appendix: its title, self-check answers and solution cells."""

    docname: str
    title: str
    checks: list[tuple[str, str, str]]  # (the self-check's heading, question number, answer)
    solutions: list  # cells, solution-start to solution-end, in order
    exercises_heading: str | None = None

    @property
    def label(self) -> str:
        return "pdf-answers-" + self.docname.replace("/", "-").replace("_", "-")


def take_answers(nb, docname: str, edition: Edition) -> Answers:
    """Move the notebook's self-check answers and exercise solutions out (in place)."""
    title = next(
        (
            m.group(2)
            for c in nb.cells
            if c.cell_type == "markdown"
            for m in HEADING.finditer(c.source)
            if m.group(1) == "#"
        ),
        docname,
    )
    answers = Answers(docname, title, [], [])
    label = answers.label
    cells, inside, first_exercise = [], False, True
    for cell in nb.cells:
        name = _directive_name(cell)
        if name == "solution-start":
            inside = True
        if inside:  # (one markdown cell may hold a whole solution, its end included)
            answers.solutions.append(cell)
            if cell.cell_type == "markdown" and "{solution-end}" in cell.source:
                inside = False
            continue
        if name == "exercise" and first_exercise:
            first_exercise = False
            previous = cells[-1] if cells else None
            heads = (
                HEADING.findall(previous.source)
                if previous is not None and previous.cell_type == "markdown"
                else []
            )
            answers.exercises_heading = heads[-1][1] if heads else None
            cells.append(
                nbformat.v4.new_markdown_cell(
                    edition.text["solutions_note"].format(ref="{ref}", label=label)
                )
            )
        if cell.cell_type == "markdown" and DROPDOWN.search(cell.source):
            heads = HEADING.findall(cell.source)
            heading = heads[0][1] if heads else ""
            source, matches = cell.source, list(DROPDOWN.finditer(cell.source))
            for number, match in enumerate(matches, 1):
                asked = QUESTION.findall(source[: match.start()])
                answers.checks.append(
                    (
                        heading,
                        asked[-1] if asked else str(number),
                        _strip_options(match.group("body")),
                    )
                )
            note = edition.text["answers_note"].format(ref="{ref}", label=label)
            pieces, last = [], 0
            for i, match in enumerate(matches):
                pieces.append(source[last : match.start()])
                last = match.end()
            pieces.append(source[last:])
            cell.source = re.sub(r"\n{3,}", "\n\n", "".join(pieces)).rstrip() + "\n\n" + note
        cells.append(cell)
    if inside:
        raise ValueError(f"{docname}: a solution-start without its solution-end")
    nb.cells = cells
    return answers


def appendix_notebook(chapters: list[Answers], edition: Edition, metadata: dict):
    """The appendix: per chapter, its self-check answers, then its exercise solutions."""
    text = edition.text
    cells = [
        nbformat.v4.new_markdown_cell(f"# {text['appendix_title']}\n\n{text['appendix_intro']}")
    ]
    for chapter in chapters:
        if not chapter.checks and not chapter.solutions:
            continue
        cells.append(nbformat.v4.new_markdown_cell(f"({chapter.label})=\n## {chapter.title}"))
        heading = None
        lines = []
        for head, number, answer in chapter.checks:
            if head != heading:
                if lines:
                    cells.append(nbformat.v4.new_markdown_cell("\n\n".join(lines)))
                heading, lines = head, [f"### {head}"] if head else []
            lines.append(f"**{number}.** {answer}")
        if lines:
            cells.append(nbformat.v4.new_markdown_cell("\n\n".join(lines)))
        if chapter.solutions:
            if chapter.exercises_heading:
                cells.append(nbformat.v4.new_markdown_cell(f"### {chapter.exercises_heading}"))
            for cell in chapter.solutions:
                cell = copy.deepcopy(cell)
                # ids unique in the appendix (the chapters' ids repeat across notebooks)
                cell["id"] = f"{Path(chapter.docname).name[:2]}-{cell.get('id', '')}"
                if _directive_name(cell) == "solution-start":
                    cell.source = re.sub(r"^:class:.*\n?", "", cell.source, flags=re.M)
                cells.append(cell)
    nb = nbformat.v4.new_notebook(cells=cells, metadata=copy.deepcopy(metadata))
    nb.metadata.pop("widgets", None)
    return nb


# ---------------------------------------------------------------------------------------------
# Pages


def exec_table(book: zh_book.Book, edition: Edition) -> str:
    """The preface's run-time table as Markdown, from the jupyter-cache's records."""
    from jupyter_cache import get_cache

    cache = get_cache(str(book.root / "_build" / ".jupyter_cache"))
    head = edition.text["exec_table"]
    rows = [f"| {head[0]} | {head[1]} | {head[2]} |", "|---|--:|---|"]
    for source in book.notebooks():
        try:
            record = cache.match_cache_notebook(book.english(source))
        except KeyError:
            continue
        seconds = (record.data or {}).get("execution_seconds")
        when = record.created.strftime("%Y-%m-%d %H:%M")
        rows.append(f"| `{Path(source).stem}` | {seconds:.1f} | {when} |")
    return "\n".join(rows)


def paper_page(text: str, edition: Edition, docname: str, book: zh_book.Book) -> str:
    """A Markdown page made fit for paper: the run-time table written out, inline links to
    the online book."""
    text = re.sub(r"```+\{nb-exec-table\}[^\n]*\n```+", lambda _: exec_table(book, edition), text)

    def link(match):
        target = match.group(1)
        if re.match(r"[a-z]+:", target):
            return f"[{match.group(2)}]({target})"
        base = page_url(edition, docname)
        from urllib.parse import urljoin

        return f"[{match.group(2)}]({urljoin(base, target)})"

    return re.sub(r'<a\s+href="([^"]+)"\s*>(.*?)</a>', link, text, flags=re.S)


# ---------------------------------------------------------------------------------------------
# The source tree of each edition


def check_outputs_fresh(book: zh_book.Book) -> None:
    """Fail where the jupyter-cache holds outputs of an older resnet_utils/ (or pyproject.toml,
    requirements.txt) than the sources now: `make book` clears and refills it first
    (tools/book_cache.py); the PDF takes the outputs as they are and executes nothing."""
    import book_cache

    cache = book.root / "_build" / ".jupyter_cache"
    if not (cache / "global.db").is_file():
        return  # zh_book.executed_notebook then says why there are no outputs
    if book_cache.recorded_hash(cache) != book_cache.sources_hash(book.root):
        raise ValueError(
            f"the outputs in {cache} are older than resnet_utils/, pyproject.toml or "
            "requirements.txt: run `make book` first (it executes what changed)"
        )


def english_tree(book: zh_book.Book, out: Path) -> None:
    """The English book's sources with the English execution's outputs, as tools/zh_book.py
    writes the Chinese ones (its _config.yml made to work from ``out``)."""
    ignore = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "_build", ".pytest_cache")
    for top in sorted({s.split("/")[0] for s in book.sources() if "/" in s}):
        shutil.copytree(book.root / top, out / top, ignore=ignore, dirs_exist_ok=True)
    for source in book.notebooks():
        nbformat.write(zh_book.executed_notebook(book, source), out / source)
    config = book.config()
    sphinx = config.setdefault("sphinx", {})
    sphinx["local_extensions"] = {
        k: str((book.root / v).resolve())
        for k, v in (sphinx.get("local_extensions") or {}).items()
    }
    (out / "_config.yml").write_text(
        yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    shutil.copy2(book.root / "_toc.yml", out / "_toc.yml")


def chinese_tree(book: zh_book.Book, out: Path) -> None:
    """The Chinese edition's sources, written by tools/zh_book.py's own ``prepare_sources``
    (what ``zh_book.py build`` writes to ``_build/zh_src``), after the same checks."""
    bad = zh_book.failures(zh_book.all_problems(book), allow_missing=False)
    if bad:
        raise ValueError(
            "the Chinese edition has translation problems (tools/zh_book.py check): "
            + "; ".join(map(str, bad[:3]))
        )
    zh_book.prepare_sources(book, out)


PREAMBLE = r"""
% Superscript digits that TeX Gyre lacks ("1.8×10⁹" in the Chinese prose), as superscripts
% (at the start of the document: after unicode-math, which sphinx-jupyterbook-latex loads last).
\usepackage{newunicodechar}
\AtBeginDocument{%
\newunicodechar{⁰}{\textsuperscript{0}}\newunicodechar{⁴}{\textsuperscript{4}}%
\newunicodechar{⁵}{\textsuperscript{5}}\newunicodechar{⁶}{\textsuperscript{6}}%
\newunicodechar{⁷}{\textsuperscript{7}}\newunicodechar{⁸}{\textsuperscript{8}}%
\newunicodechar{⁹}{\textsuperscript{9}}\newunicodechar{⁻}{\textsuperscript{-}}}
% Chapters and sections carry their numbers in their titles ("2.3 ..."), as on the web.
\setcounter{secnumdepth}{-1}
% The bibliography sits under the title of the references page (book/_ext/paper.py puts it
% there): no heading of its own.
\makeatletter
% Figures at most 40 % of the text's height (a square plot at the full width took most of a page;
% Sphinx scales an image down to the width, then to this height).
\AtBeginDocument{\spx@image@maxheight=0.4\textheight}
\renewenvironment{sphinxthebibliography}[1]
  {\let\chapter\@gobbletwo\let\@mkboth\@gobbletwo\begin{thebibliography}{#1}}
  {\end{thebibliography}}
\makeatother
"""


def latex_settings(edition: Edition) -> dict:
    """The Sphinx LaTeX settings (``sphinx: config:``) of an edition."""
    # Latin text in TeX Gyre (TeX Live's own fonts), code in DejaVu Sans Mono (fonts-dejavu-core:
    # box drawing, arrows and the other symbols code prints), Chinese in Noto CJK SC
    # (fonts-noto-cjk), in both editions: the English one has Chinese too (the glossary).
    fonts = r"""
\setmainfont{TeX Gyre Pagella}
\setsansfont{TeX Gyre Heros}
\setmonofont{DejaVu Sans Mono}[Scale=0.88]
\setCJKmainfont{Noto Serif CJK SC}[BoldFont=Noto Sans CJK SC Bold]
\setCJKsansfont{Noto Sans CJK SC}[BoldFont=Noto Sans CJK SC Bold]
\setCJKmonofont{Noto Sans Mono CJK SC}[Scale=0.88]
"""
    if edition.name == "zh":
        # ctex: Chinese line breaking and spacing (through xeCJK), and the Chinese names of
        # chapters, contents, figures and tables; fontset=none: the fonts are the ones above.
        passopts = r"\PassOptionsToPackage{fontset=none,scheme=plain}{ctex}"
        # (scheme=plain keeps LaTeX's English names: the Chinese ones are set here.)
        fontpkg = (
            r"\usepackage{ctex}"
            + fonts
            + r'\xeCJKDeclareCharClass{Default}{"2013}'  # "English – 中文": an en dash is Latin
            + r"\AtBeginDocument{\renewcommand{\contentsname}{目录}\renewcommand{\bibname}{参考文献}"
            + r"\renewcommand{\figurename}{图}\renewcommand{\tablename}{表}"
            # "第八部分", not "Part VIII" (in the contents too)
            + r"\renewcommand{\partname}{}\renewcommand{\thepart}{第\chinese{part}部分}}"
        )
    else:
        passopts = ""
        # xeCJK draws Chinese in the CJK font; quotes, dashes and ellipses stay in the Latin
        # font (xeCJK counts them as CJK punctuation, full width: "task’ s", "“plain”networks").
        fontpkg = (
            r"\usepackage{xeCJK}"
            + fonts
            + r'\xeCJKDeclareCharClass{Default}{"2013, "2014, "2018, "2019, "201C, "201D, "2026, "00B7}'
        )
    return {
        "latex_elements": {
            "papersize": "a4paper",
            "pointsize": "10pt",
            # A chapter starts on the next page, not the next right-hand one: no blank pages in
            # a book read on a screen as often as printed.
            "extraclassoptions": "openany,oneside",
            "passoptionstopackages": passopts,
            "fontpkg": fontpkg,
            # Code and outputs a size smaller, wrapped at the margin (never beyond it).
            "fvset": r"\fvset{fontsize=\small}",
            "sphinxsetup": (
                f"hmargin={{{MARGIN_CM}cm,{MARGIN_CM}cm}}, vmargin={{2.5cm,2.5cm}}, "
                "verbatimwrapslines=true, verbatimforcewraps=true, verbatimmaxoverfull=0, "
                "TitleColor={rgb}{0,0,0}, InnerLinkColor={rgb}{0.1,0.2,0.6}, "
                "OuterLinkColor={rgb}{0.1,0.2,0.6}"
            ),
            # Chapters and sections carry their numbers in their titles ("2.3 ..."), as on the web.
            "preamble": PREAMBLE,
            "figure_align": "H",
            # No index: its only entries would be the glossary's terms, and the glossary is a
            # chapter (Sphinx's xelatex index needs xindy, one more Debian package).
            "makeindex": "",
            "printindex": "",
        },
        # The introduction's {tableofcontents} repeats the table of contents: not on paper.
        "jblatex_show_tocs": False,
        "latex_show_urls": "footnote",
        "latex_show_pagerefs": True,
    }


def paper_tree(book: zh_book.Book, edition: Edition, out: Path) -> dict:
    """Write the edition's sources for paper into ``out``; return what was changed."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    check_outputs_fresh(book)
    (english_tree if edition.name == "en" else chinese_tree)(book, out)
    counts: dict[str, int] = {}
    chapters, metadata = [], {}
    for source in book.sources():
        path = out / source
        docname = source.rsplit(".", 1)[0]
        if source.endswith(".ipynb"):
            nb = nbformat.read(path, as_version=4)
            for key, n in paper_outputs(nb, edition, docname).items():
                counts[key] = counts.get(key, 0) + n
            chapters.append(take_answers(nb, docname, edition))
            metadata = metadata or {
                k: v for k, v in nb.metadata.items() if k in ("kernelspec", "language_info")
            }
            nbformat.write(nb, path)
        else:
            path.write_text(
                paper_page(path.read_text(encoding="utf-8"), edition, docname, book),
                encoding="utf-8",
            )
    appendix = out / (APPENDIX + ".ipynb")
    appendix.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(appendix_notebook(chapters, edition, metadata), appendix)
    counts["answers"] = sum(len(c.checks) for c in chapters)
    counts["solutions"] = sum(
        1 for c in chapters for cell in c.solutions if _directive_name(cell) == "solution-start"
    )

    toc = yaml.safe_load((out / "_toc.yml").read_text(encoding="utf-8"))
    toc["parts"].append(
        {"caption": edition.text["appendix_part"], "chapters": [{"file": APPENDIX}]}
    )
    (out / "_toc.yml").write_text(
        yaml.safe_dump(toc, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )

    config = yaml.safe_load((out / "_config.yml").read_text(encoding="utf-8"))
    config.setdefault("execute", {})["execute_notebooks"] = "off"  # nothing runs again
    config["latex"] = {
        "latex_engine": "xelatex",
        "use_jupyterbook_latex": True,
        "latex_documents": {"targetname": edition.stem + ".tex"},
    }
    sphinx = config.setdefault("sphinx", {})
    sphinx.setdefault("local_extensions", {})["paper"] = str(ROOT / "book" / "_ext")
    settings = sphinx.setdefault("config", {})
    for key in (
        "html_static_path",
        "mathjax_path",
        "nb_ipywidgets_js",
        "html_search_options",
        "html_context",
    ):
        settings.pop(key, None)
    settings.update(latex_settings(edition))
    (out / "_config.yml").write_text(
        "# Written by tools/pdf_book.py: do not edit.\n"
        + yaml.safe_dump(config, allow_unicode=True, sort_keys=False),
        encoding="utf-8",
    )
    return counts


# ---------------------------------------------------------------------------------------------
# Building

LOG_PROBLEMS = re.compile(
    r"^(?:LaTeX Warning: (?:Reference|Citation|Hyper reference) .* undefined"
    r"|LaTeX Warning: There were undefined references"
    r"|Missing character: There is no .*)",
    re.M,
)


def latex_problems(log: str) -> list[str]:
    """Undefined references and citations, and characters no font has, from a LaTeX log."""
    return sorted(set(LOG_PROBLEMS.findall(log)))


def build_edition(book: zh_book.Book, edition: Edition, strict: bool = True) -> int:
    start = time.perf_counter()
    src = SRC / edition.name
    try:
        counts = paper_tree(book, edition, src)
    except (FileNotFoundError, ValueError) as err:
        print(f"pdf_book: {err}", file=sys.stderr)
        return 1
    flags = ["--all", "--builder", "latex"]
    if strict:
        flags += ["--warningiserror", "--nitpick", "--keep-going"]
    # The builders' logs are shown only when they fail: on success `make pdf` prints one line
    # per edition.
    returncode = zh_book.run_jupyter_book(src, flags)
    if returncode != 0:
        print(f"pdf_book: Jupyter Book's LaTeX builder failed on {src}", file=sys.stderr)
        return returncode
    latex = src / "_build" / "latex"
    result = subprocess.run(
        [
            "latexmk",
            "-xelatex",
            "-interaction=nonstopmode",
            "-halt-on-error",
            "-file-line-error",
            edition.stem + ".tex",
        ],
        cwd=latex,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,  # latexmk's own chatter; the errors are read from the log
    )
    log = (latex / (edition.stem + ".log")).read_text(encoding="utf-8", errors="replace")
    if result.returncode != 0:
        print(
            f"pdf_book: xelatex failed on {latex / edition.stem}.tex; the log's errors:",
            file=sys.stderr,
        )
        for line in re.findall(r"^(?:\S+:\d+: .*|! .*)$", log, re.M)[:20]:
            print("  " + line, file=sys.stderr)
        return result.returncode
    problems = latex_problems(log)
    if problems:
        print(f"pdf_book: {latex / edition.stem}.log:", *problems, sep="\n  ", file=sys.stderr)
        return 1
    OUT.mkdir(parents=True, exist_ok=True)
    pdf = OUT / edition.pdf
    shutil.copy2(latex / edition.pdf, pdf)
    if HTML.is_dir():  # next to the web book, which links to it
        (HTML / "pdf").mkdir(exist_ok=True)
        shutil.copy2(pdf, HTML / "pdf" / edition.pdf)
    print(
        f"{pdf.relative_to(ROOT)}: {pdf.stat().st_size / 1e6:.1f} MB in {time.perf_counter() - start:.0f} s; "
        + ", ".join(f"{k} {v}" for k, v in counts.items())
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="build the PDFs into _build/pdf (after make book)")
    build.add_argument("--edition", choices=sorted(EDITIONS), action="append", help="default: all")
    build.add_argument("--no-strict", action="store_true", help="Sphinx warnings are not errors")
    args = parser.parse_args(argv)
    book = zh_book.Book()
    for name in args.edition or list(EDITIONS):
        status = build_edition(book, EDITIONS[name], strict=not args.no_strict)
        if status:
            return status
    return 0


if __name__ == "__main__":
    sys.exit(main())
