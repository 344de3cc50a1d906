"""The book on paper: both PDFs, checked as a reader would read them.

Run by `make pdf-test` after `make pdf` (tools/pdf_book.py), with poppler's command-line tools
(Debian's poppler-utils: pdfinfo, pdftotext, pdffonts, pdfimages). For each edition it checks
the page count, that every chapter and page of _toc.yml is there under its title and in the
toc's order, that every font is embedded (a CJK one included), that the PDF has as many
pictures as the web book has figures (plus one per explorer and animation, which the web book
draws in the browser), that no reference is left unresolved ("??", or undefined in the LaTeX
log), that no word runs into the left or right margin and no line is overfull in the LaTeX log
(a word wider than its table column), that hidden cells stay hidden and no raw HTML or widget
text is printed, that the answers and solutions are in the appendix, and that the web book's
pages link to the PDFs. The web book (`make book`) is needed for the checks
that compare with it; they are skipped without it.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import pdf_book  # noqa: E402
import zh_book  # noqa: E402

HTML = ROOT / "_build" / "html"
EDITIONS = list(pdf_book.EDITIONS.values())
BUILT = [e for e in EDITIONS if (pdf_book.OUT / e.pdf).is_file()]
POINTS_PER_CM = 72 / 2.54
SLACK = 1.5  # points: what a glyph's outline may pass a margin by, as pdftotext measures it
OVERFULL = 5.0  # points: what a line (a table's column) may be wider than its box by
# Chinese punctuation at the end (start) of a line is set in half its width, but pdftotext's box
# for it is a full em wide: up to an em past the margin with its ink inside it.
CJK_CLOSING, CJK_OPENING = "，。、；：！？）》」』”’】", "（《「『“‘【"

if not BUILT:
    pytest.skip("the PDFs are not built: run `make pdf` first", allow_module_level=True)
for tool in ("pdfinfo", "pdftotext", "pdffonts", "pdfimages"):
    if shutil.which(tool) is None:
        pytest.fail(f"{tool} is missing: install Debian's poppler-utils (.ci/run does)")


@pytest.fixture(params=EDITIONS, ids=[e.name for e in EDITIONS])
def edition(request):
    if request.param not in BUILT:
        pytest.fail(f"{pdf_book.OUT / request.param.pdf} is missing: `make pdf` builds both")
    return request.param


def run(*command: str) -> str:
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def pdf(edition) -> str:
    return str(pdf_book.OUT / edition.pdf)


@functools.cache
def pages(path: str) -> list[str]:
    """The text of each page (pdftotext, pages split at form feeds)."""
    return run("pdftotext", "-enc", "UTF-8", path, "-").split("\f")[:-1]


def squeeze(text: str) -> str:
    """Text without its spaces and line breaks (and the marks of a wrapped code line), quotes
    made straight, case folded: how titles and code are compared with what pdftotext reads (it
    breaks lines, LaTeX sets quotes, chapter titles are in capitals)."""
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    return re.sub(r"[\s↪␣]+", "", text).casefold()


def info(path: str) -> dict[str, str]:
    return dict(line.split(":", 1) for line in run("pdfinfo", path).splitlines() if ":" in line)


def title(path: Path) -> str:
    """The first level-1 heading of a page or notebook."""
    if path.suffix == ".ipynb":
        nb = nbformat.read(path, as_version=4)
        text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    else:
        text = path.read_text(encoding="utf-8")
    match = re.search(r"^# (.+?)\s*$", text, re.M)
    assert match, f"{path} has no title"
    return match.group(1)


def chapters(edition) -> list[tuple[str, str]]:
    """(source, title) of every entry of _toc.yml but the root, then the appendix, in order,
    the titles from the edition's sources for paper (_build/pdf_src/<edition>)."""
    src = pdf_book.SRC / edition.name
    if not src.is_dir():
        pytest.skip(f"{src} is missing (make pdf writes it)")
    sources = zh_book.Book().sources()[1:] + [pdf_book.APPENDIX + ".ipynb"]
    return [(s, title(src / s)) for s in sources]


# ---------------------------------------------------------------------------------------------


def test_both_editions_are_built():
    missing = [e.pdf for e in EDITIONS if e not in BUILT]
    assert not missing, f"not built: {missing} (make pdf)"


def test_page_count(edition):
    count = int(info(pdf(edition))["Pages"])
    assert 120 <= count <= 400, f"{count} pages"
    assert len(pages(pdf(edition))) == count


def test_the_editions_have_about_as_many_pages():
    counts = [int(info(pdf(e))["Pages"]) for e in BUILT]
    assert max(counts) <= 1.25 * min(counts), counts


def test_every_chapter_in_toc_order(edition):
    """Every title is in the table of contents, and every chapter opens on a page of its own
    that starts with its title (no running head there), after the chapter before it."""
    text = [squeeze(p) for p in pages(pdf(edition))]
    entries = chapters(edition)
    # the table of contents: up to the first page that lists the last entry
    toc_end = next((i for i, p in enumerate(text) if squeeze(entries[-1][1]) in p), None)
    assert toc_end is not None, f"{entries[-1][1]!r} is not in the table of contents"
    contents = "".join(text[: toc_end + 1])
    missing = [name for _, name in entries if squeeze(name) not in contents]
    assert not missing, f"not in the table of contents: {missing}"
    opens = []
    for source, name in entries:
        found = [i for i, p in enumerate(text) if i > toc_end and p.startswith(squeeze(name))]
        assert len(found) == 1, f"{source} ({name!r}) opens on pages {[i + 1 for i in found]}"
        opens.append((found[0], source))
    assert opens == sorted(opens), f"chapters out of the toc's order: {opens}"


def test_fonts_are_embedded_with_a_cjk_font(edition):
    rows = run("pdffonts", pdf(edition)).splitlines()[2:]
    fonts = [(row.split()[0], row.split()[-5]) for row in rows]
    assert fonts, "no fonts"
    assert all(emb == "yes" for _, emb in fonts), [f for f, emb in fonts if emb != "yes"]
    # both editions have Chinese (the English glossary gives each term's Chinese)
    assert any("CJK" in name for name, _ in fonts), [f for f, _ in fonts]


def test_the_figures_are_those_of_the_web_book(edition):
    web = HTML / edition.site
    if not (web / "index.html").is_file():
        pytest.skip(f"the web book is not built in {web} (make book)")
    figures = explorers = animations = 0
    for page in web.glob("**/*.html"):
        if page.relative_to(web).parts[0] not in ("book", "notebooks"):
            continue
        markup = page.read_text(encoding="utf-8")
        figures += len(re.findall(r'<img\b[^>]*\bsrc="(?:\.\./)*_images/', markup))
        explorers += markup.count('<div class="resnet-explorer"')
        animations += len(re.findall(r'<img id="_anim_img', markup))
    rows = run("pdfimages", "-list", pdf(edition)).splitlines()[2:]
    images = sum(1 for row in rows if row.split()[2] == "image")
    assert images == figures + explorers + animations, (
        f"{images} pictures in the PDF; the web book: {figures} figures, {explorers} explorers, "
        f"{animations} animations"
    )


def test_no_unresolved_reference(edition):
    where = [i + 1 for i, p in enumerate(pages(pdf(edition))) if "??" in p]
    assert not where, f'"??" on pages {where}'
    log = pdf_book.SRC / edition.name / "_build" / "latex" / (edition.stem + ".log")
    if log.is_file():
        problems = pdf_book.latex_problems(log.read_text(encoding="utf-8", errors="replace"))
        assert not problems, problems


def test_no_text_in_the_margins(edition):
    """No word beyond the left or right margin (pdftotext -bbox): code is wrapped, tables and
    long words fit."""
    markup = run("pdftotext", "-bbox", pdf(edition), "-")
    margin = pdf_book.MARGIN_CM * POINTS_PER_CM
    outside = []
    for number, page in enumerate(markup.split("<page ")[1:], 1):
        width = float(re.search(r'width="([\d.]+)"', page).group(1))
        for x0, y0, x1, y1, word in re.findall(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>',
            page,
        ):
            x0, y0, x1, y1 = map(float, (x0, y0, x1, y1))
            left = SLACK + (y1 - y0 if word[0] in CJK_OPENING else 0)
            right = SLACK + (y1 - y0 if word[-1] in CJK_CLOSING else 0)
            if x0 < margin - left or x1 > width - margin + right:
                outside.append((number, word, round(x0), round(x1)))
    assert not outside, f"words in the margins (page, word, x from, to): {outside[:10]}"


def test_nothing_overfull_in_the_latex_log(edition):
    """No line wider than its box by more than OVERFULL points: a word wider than its table
    column overlaps the next one or is cut, inside the margins, where pdftotext cannot tell."""
    log = pdf_book.SRC / edition.name / "_build" / "latex" / (edition.stem + ".log")
    if not log.is_file():
        pytest.skip(f"{log} is missing (make pdf writes it)")
    text = log.read_text(encoding="utf-8", errors="replace")
    over = [float(x) for x in re.findall(r"^Overfull \\hbox \(([\d.]+)pt too wide\)", text, re.M)]
    assert not [x for x in over if x > OVERFULL], f"overfull lines (pt): {sorted(over)[-5:]}"


def test_hidden_cells_stay_hidden(edition):
    """No line of a cell the web book removes (remove-cell, remove-input: the setup cell, the
    checks) is printed, unless a shown cell has the same line."""
    text = squeeze("".join(pages(pdf(edition))))
    hidden, shown = set(), []
    for source in zh_book.Book().notebooks():
        for cell in nbformat.read(ROOT / source, as_version=4).cells:
            tags = set(cell.metadata.get("tags", []))
            if cell.cell_type == "code" and tags & {"remove-cell", "remove-input"}:
                hidden.update(line.strip() for line in cell.source.splitlines())
            else:
                shown.append(cell.source)
    shown_text = squeeze("\n".join(shown))  # a hidden line may be part of a shown one
    printed = sorted(
        line
        for line in hidden
        if len(line) > 25 and squeeze(line) in text and squeeze(line) not in shown_text
    )
    assert not printed, f"lines of hidden cells in the PDF: {printed[:5]}"


def test_no_raw_html_or_widget_text(edition):
    text = "".join(pages(pdf(edition)))
    for raw in ("<div", "<script", "<IPython", "VBox(children", "HBox(children", "</a>"):
        assert raw not in text, f"{raw!r} is printed"


def test_the_answers_are_in_the_appendix(edition):
    """Every solution and self-check answer is in the appendix, after the last chapter."""
    src = pdf_book.SRC / edition.name
    appendix = nbformat.read(src / (pdf_book.APPENDIX + ".ipynb"), as_version=4)
    solutions = sum("{solution-start}" in c.source for c in appendix.cells)
    expected = sum(
        "{solution-start}" in c.source
        for s in zh_book.Book().notebooks()
        for c in nbformat.read(ROOT / s, as_version=4).cells
    )
    assert solutions == expected > 0
    text = [squeeze(p) for p in pages(pdf(edition))]
    name = squeeze(edition.text["appendix_title"])
    start = [i for i, p in enumerate(text) if name in p][1]  # the first is the contents
    label = squeeze("Solution to Exercise" if edition.name == "en" else "解答练习")
    found = [i for i, p in enumerate(text) for _ in range(p.count(label))]
    assert len(found) == solutions, f"{len(found)} solutions printed, {solutions} expected"
    assert min(found) >= start, f"a solution before the appendix (page {min(found) + 1})"


def test_the_chinese_edition_has_the_glossarys_terms():
    zh = pdf_book.EDITIONS["zh"]
    if zh not in BUILT:
        pytest.fail("the Chinese PDF is not built")
    text = squeeze("".join(pages(pdf(zh))))
    terms = zh_book.parse_glossary(ROOT / "book" / "glossary.md")
    missing = [t.english for t in terms if not any(squeeze(form) in text for form in t.chinese)]
    assert not missing, f"glossary terms without their Chinese in the PDF: {missing[:10]}"


def test_the_web_pages_link_to_the_pdfs(edition):
    web = HTML / edition.site
    page = web / "notebooks" / "01_convolution.html"
    if not page.is_file():
        pytest.skip(f"the web book is not built in {web} (make book)")
    links = re.findall(r'<a href="([^"]+)" class="btn btn-sm pdf-link"', page.read_text("utf-8"))
    assert len(links) == 1, f"{page}: {len(links)} PDF links in the header"
    target = (page.parent / links[0]).resolve()
    assert target == (HTML / "pdf" / edition.pdf).resolve(), target
    assert target.is_file(), f"{target} is missing (make pdf copies the PDFs there)"
    assert target.read_bytes() == (pdf_book.OUT / edition.pdf).read_bytes()
