"""tools/zh_book.py, the Chinese edition: translations keyed by cell id with the hash of the English
they translate; `check` names the notebook and the cell of every stale, missing, extra or wrong
translation; `build` writes the Chinese book from the English execution into _build/html/zh;
book/_ext/language_switch.py links each page to its counterpart. On tiny synthetic books."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import zh_book as zb  # noqa: E402
from language_switch import counterpart_url  # noqa: E402

NB = "notebooks/nb.ipynb"
PAGE = "book/page.md"
GLOSSARY = """# Glossary

```{glossary}
kernel
  卷积核. The small grid of weights a convolution slides over its input.

residual block
  残差块. Layers computing $F(x)$ plus a shortcut.

precision, recall, F1
  精确率, 召回率, F1 分数. Of the predicted positives, the share that are positive.

batch
  批量 (not 批次, 小批量). The group of examples processed together.

batch normalisation
  批量归一化 (BN). Normalises each channel.

im2col
  Copying every input window into a column.
```
"""
ZH = {
    "intro": "# 1. 小例子\n\n残差块把输入加回来：$y = x + F(x)$。",
    "value": "数值是 {glue:text}`x:.2f`，由 `glue` 计算。",
}
ZH_PAGE = "# 一页\n\n每个残差块都有大小为 3 的卷积核，见 `model`。\n"


def make_book(root: Path, cached: bool = True) -> zb.Book:
    """A tiny English book: a page, a glossary and a notebook of two markdown cells around a code
    cell that glues ``x``; with ``cached``, the notebook's execution is in the book's
    jupyter-cache, as `make test` leaves it (no kernel runs here)."""
    (root / "book").mkdir(parents=True)
    (root / "notebooks").mkdir()
    shutil.copytree(
        ROOT / "book" / "_ext",
        root / "book" / "_ext",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    (root / "_config.yml").write_text(
        "title: Tiny\nonly_build_toc_files: true\nexclude_patterns: [_build]\n"
        "execute:\n  execute_notebooks: cache\n"
        "sphinx:\n  local_extensions:\n    language_switch: book/_ext\n  config:\n"
        "    language_switch_root: zh/\n    language_switch_label: 中文\n"
        "    language_switch_lang: zh-CN\n",
        encoding="utf-8",
    )
    (root / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\nparts:\n  - caption: Basics\n    chapters:\n"
        f"      - file: {PAGE[:-3]}\n      - file: {NB[:-6]}\n",
        encoding="utf-8",
    )
    (root / "book" / "intro.md").write_text(
        "# Tiny book\n\nA book.\n\n```{tableofcontents}\n```\n", encoding="utf-8"
    )
    (root / PAGE).write_text(
        "# A page\n\nEach residual block has a kernel of size 3, as `model` shows.\n",
        encoding="utf-8",
    )
    (root / "book" / "glossary.md").write_text(GLOSSARY, encoding="utf-8")
    nb = new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [
        new_markdown_cell(
            "# 1. Tiny\n\nA residual block adds its input: $y = x + F(x)$.", id="intro"
        ),
        new_code_cell("from myst_nb import glue\nglue('x', 3.14159, display=False)", id="code"),
        new_markdown_cell("The value is {glue:text}`x:.2f`, computed by `glue`.", id="value"),
    ]
    nbformat.write(nb, root / NB)
    if cached:
        from jupyter_cache import get_cache
        from jupyter_cache.base import CacheBundleIn

        executed = nbformat.from_dict(json.loads(nbformat.writes(nb)))
        executed.cells[1].execution_count = 1
        executed.cells[1].outputs = [_glue_output()]
        get_cache(str(root / "_build" / ".jupyter_cache")).cache_notebook_bundle(
            CacheBundleIn(executed, str((root / NB).resolve())), check_validity=False
        )
    return zb.Book(root)


def _glue_output():
    return new_output(
        "display_data",
        data={"application/papermill.record/text/plain": "3.14159"},
        metadata={"scrapbook": {"name": "x", "mime_prefix": "application/papermill.record/"}},
    )


def translate(book: zb.Book, intro: str = ZH["intro"], value: str = ZH["value"]) -> None:
    """The whole tiny book in Chinese, recorded with today's hashes."""
    zb.record(book, NB, "intro", intro)
    zb.record(book, NB, "value", value)
    zb.record(book, PAGE, None, ZH_PAGE)
    zb.record(book, "book/intro.md", None, "# 小书\n\n一本书。\n\n```{tableofcontents}\n```\n")
    (book.store / "book.yml").write_text("title: 小书\ncaptions:\n  Basics: 基础\n", "utf-8")


@pytest.fixture
def book(tmp_path):
    b = make_book(tmp_path / "tiny")
    translate(b)
    return b


def _entries(book):
    return json.loads(book.translation_path(NB).read_text(encoding="utf-8"))


def _write_entries(book, entries):
    book.translation_path(NB).write_text(json.dumps(entries, ensure_ascii=False), "utf-8")


@pytest.fixture
def cli(capsys):
    """Run tools/zh_book.py's command line in this process (as `make test` runs it)."""

    def run(book, *args):
        capsys.readouterr()
        code = zb.main(["--root", str(book.root), *args])
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(args, code, out, err)

    return run


# --- the store and the checks -------------------------------------------------------------------


def test_a_correct_translation_passes(book, cli):
    assert zb.all_problems(book) == []
    entries = _entries(book)
    assert list(entries) == ["intro", "value"]  # the English order, markdown cells only
    english = nbformat.read(book.root / NB, as_version=4).cells[0].source
    assert entries["intro"]["en_sha256"] == zb.sha256_text(english)
    page = book.translation_path(PAGE).read_text(encoding="utf-8")
    assert page.startswith("% en_sha256: " + zb.sha256_text((book.root / PAGE).read_text()))
    result = cli(book, "check")
    assert result.returncode == 0, result.stderr


def test_an_english_cell_that_changed_is_stale_and_named(book, cli):
    nb = nbformat.read(book.root / NB, as_version=4)
    nb.cells[2].source += " It is pi, rounded."
    nbformat.write(nb, book.root / NB)
    result = cli(book, "check")
    assert result.returncode == 1
    assert "stale: notebooks/nb.ipynb cell value: the English changed" in result.stderr
    assert cli(book, "check", "--allow-missing").returncode == 1  # stale is never allowed


def test_a_cell_without_translation_is_missing(book, cli):
    entries = _entries(book)
    del entries["value"]
    _write_entries(book, entries)
    result = cli(book, "check")
    assert result.returncode == 1
    assert "missing: notebooks/nb.ipynb cell value: no translation" in result.stderr
    assert cli(book, "check", "--allow-missing").returncode == 0


def test_a_new_english_cell_is_missing(book):
    nb = nbformat.read(book.root / NB, as_version=4)
    nb.cells.append(new_markdown_cell("A new paragraph.", id="new-cell"))
    nbformat.write(nb, book.root / NB)
    assert [str(p) for p in zb.all_problems(book)] == [
        "missing: notebooks/nb.ipynb cell new-cell: no translation"
    ]


def test_a_translation_of_a_cell_that_is_gone_or_code_is_an_orphan(book, cli):
    entries = _entries(book)
    entries["removed"] = {"en_sha256": "0" * 64, "zh": "旧的段落。"}
    entries["code"] = {"en_sha256": "0" * 64, "zh": "print('代码')"}
    _write_entries(book, entries)
    found = {str(p) for p in zb.all_problems(book)}
    assert found == {
        "orphan: notebooks/nb.ipynb cell removed: a translation of a cell that no longer exists",
        "orphan: notebooks/nb.ipynb cell code: a translation of a cell that is a code cell",
    }
    assert cli(book, "check", "--allow-missing").returncode == 1


def test_a_malformed_entry_is_reported(book):
    entries = _entries(book)
    entries["value"] = {"zh": "没有哈希"}
    _write_entries(book, entries)
    found = zb.all_problems(book)
    assert [(p.kind, p.source, p.cell) for p in found] == [
        ("invalid", NB, "value"),
        ("missing", NB, "value"),
    ]


def test_a_chinese_notebook_whose_code_differs_is_named_by_cell(book):
    en = nbformat.read(book.root / NB, as_version=4)
    zh = zb.zh_notebook(en, _entries(book))
    assert zb.code_differences(en, zh) == []
    assert zh.cells[0].source == ZH["intro"] and zh.cells[1].source == en.cells[1].source
    zh.cells[1].source = "glue('x', 2.71828, display=False)"
    assert zb.code_differences(en, zh) == [
        ("code", "the Chinese notebook's code differs from the English")
    ]
    zh.cells.insert(1, new_markdown_cell("多出来的", id="extra"))
    assert ("code", "is markdown cell extra in the Chinese notebook") in zb.code_differences(
        en, zh
    )


def test_zh_notebook_keeps_the_english_of_an_untranslated_or_stale_cell(book):
    en = nbformat.read(book.root / NB, as_version=4)
    entries = _entries(book)
    del entries["value"]
    entries["intro"]["en_sha256"] = "0" * 64  # translated from another English
    zh = zb.zh_notebook(en, entries)
    assert [c.source for c in zh.cells] == [c.source for c in en.cells]


def test_a_glossary_term_without_its_chinese_fails_naming_the_cell(book):
    translate(book, intro="# 1. 小例子\n\n这种块把输入加回来：$y = x + F(x)$。")
    found = [str(p) for p in zb.all_problems(book)]
    assert len(found) == 1
    assert found[0].startswith(
        "glossary: notebooks/nb.ipynb cell intro: the English uses the glossary term "
        "'residual block'; the translation has none of ['残差块']"
    )
    entries = _entries(book)
    entries["intro"]["glossary_exempt"] = ["residual block"]
    _write_entries(book, entries)
    assert zb.all_problems(book) == []


def test_the_glossary_check_covers_pages(book):
    zb.record(book, PAGE, None, "# 一页\n\n每个残差块都有大小为 3 的核，见 `model`。\n")
    found = [str(p) for p in zb.all_problems(book)]
    assert len(found) == 1 and found[0].startswith(
        "glossary: book/page.md: the English uses the glossary term 'kernel'"
    )


def test_a_rejected_rendering_fails_naming_the_cell_the_word_and_the_preferred_one(book, cli):
    translate(book, intro="# 1. 小例子\n\n每个批次里，残差块都把输入加回来：$y = x + F(x)$。")
    result = cli(book, "check")
    assert result.returncode == 1
    assert (
        "rendering: notebooks/nb.ipynb cell intro: '批次' is not the book's word: write 批量 "
        "(book/glossary.md, batch)"
    ) in result.stderr
    translate(book, intro="# 1. 小例子\n\n每个批量里，残差块都把输入加回来：$y = x + F(x)$。")
    assert zb.all_problems(book) == []


def test_rejected_renderings_are_looked_for_in_pages_and_captions(book):
    zb.record(
        book, PAGE, None, "# 一页\n\n每个残差块都有大小为 3 的卷积核，见 `model`；小批量也一样。\n"
    )
    (book.store / "book.yml").write_text("title: 小书\ncaptions:\n  Basics: 批次基础\n", "utf-8")
    assert [str(p) for p in zb.all_problems(book)] == [
        "rendering: _toc.yml: '批次基础': '批次' is not the book's word: write 批量 "
        "(book/glossary.md, batch)",
        "rendering: book/page.md: '小批量' is not the book's word: write 批量 "
        "(book/glossary.md, batch)",
    ]


@pytest.mark.parametrize(
    ("zh", "bad"),
    [
        ("He et al. 的残差块", "'et al.'"),
        ("用 one-cycle 调度训练残差块", "'one-cycle'"),
        ("残差块的 state dict", "'state dict'"),
        ("残差块的参考答案（评分标准）", "'评分标准'"),
        ("先在心里作答，再打开答案。残差块", "'打开答案'"),
        ("He 等人的残差块", None),
        ("用单周期调度训练残差块", None),
        ("用单周期（one-cycle）调度训练残差块", None),  # a gloss after the Chinese word
        ("用单周期调度（one-cycle，Smith, 2018）训练残差块", None),
        ("残差块的 `state dict`，即 `model.state_dict()`", None),  # code
        ("残差块 {cite}`he2016et`，见 [论文](https://example.org/et-al/one-cycle)", None),
        ("残差块的状态字典，$x_{state dict}$", None),  # math
        ("批量（本书不用“批次”“小批量”）。残差块", None),  # the glossary page's own note
    ],
)
def test_english_left_in_chinese_prose_is_rejected_outside_code_math_links_and_glosses(
    book, zh, bad
):
    translate(book, intro=f"# 1. 小例子\n\n{zh}：$y = x + F(x)$。")
    found = [p.message for p in zb.all_problems(book)]
    if bad is None:
        assert found == []
    else:
        assert len(found) == 1 and found[0].startswith(f"{bad} is not the book's word"), found


def test_directive_bodies_are_prose_but_a_glossarys_english_term_lines_are_not(book):
    (book.root / PAGE).write_text(
        "# A page\n\nEach residual block has a kernel of size 3, as `model` shows.\n\n"
        "```{note}\nOne batch at a time.\n```\n",
        encoding="utf-8",
    )
    zb.record(book, PAGE, None, ZH_PAGE + "\n```{note}\n一次一个批次。\n```\n")
    assert [p.message.split(";")[0] for p in zb.all_problems(book)] == [
        "the English uses the glossary term 'batch'",
        "'批次' is not the book's word: write 批量 (book/glossary.md, batch)",
    ]
    glossary = "```{glossary}\nstate dict\n  状态字典。一个字典。\n```\n"
    zb.record(book, PAGE, None, ZH_PAGE + "\n```{note}\n一次一个批量。\n```\n\n" + glossary)
    assert zb.all_problems(book) == []


def test_formulas_glue_and_code_spans_stay_untouched(book):
    translate(book, intro="# 1. 小例子\n\n残差块把输入加回来：$y = x + G(x)$。")
    assert [p.message for p in zb.all_problems(book)] == [
        "the formula(s) ['$y = x + F(x)$'] of the English are not in the translation"
    ]
    translate(book, value="数值是 3.14，由 `胶水` 计算。")
    messages = [p.message for p in zb.all_problems(book)]
    assert "the translation lost the glue reference(s) ['x:.2f']" in messages
    assert "the code span(s) ['glue'] of the English are not in the translation" in messages


def test_a_page_changed_missing_or_without_hash_line(book):
    (book.root / PAGE).write_text("# A page\n\nChanged.\n", encoding="utf-8")
    assert [(p.kind, p.source) for p in zb.all_problems(book)] == [("stale", PAGE)]
    book.translation_path(PAGE).write_text(ZH_PAGE, encoding="utf-8")
    assert [(p.kind, p.source) for p in zb.all_problems(book)] == [("invalid", PAGE)]
    book.translation_path(PAGE).unlink()
    assert [str(p) for p in zb.all_problems(book)] == [
        "missing: book/page.md: no translation (translations/zh/book/page.md)"
    ]


def test_captions_title_and_orphan_files(book):
    (book.store / "book.yml").write_text("captions:\n  Old part: 旧的\n", "utf-8")
    (book.store / "notebooks" / "gone.json").write_text("{}", "utf-8")
    assert {str(p) for p in zb.all_problems(book)} == {
        "missing: _toc.yml: the book's Chinese title",
        "missing: _toc.yml: caption 'Basics'",
        "orphan: _toc.yml: a translated caption 'Old part' not in the toc",
        "orphan: translations/zh/notebooks/gone.json: translates nothing the toc lists",
    }


def test_status_lists_what_to_translate_with_a_count(tmp_path, cli):
    book = make_book(tmp_path / "tiny")
    zb.record(book, NB, "intro", ZH["intro"])
    result = cli(book, "status", "--show")
    assert result.returncode == 1
    out = result.stdout
    assert "notebooks/nb.ipynb: 1 to do (1 missing)" in out
    assert "missing  cell value: no translation" in out
    assert "| The value is {glue:text}`x:.2f`" in out  # --show: the English to translate
    assert "book/page.md: 1 to do (1 missing)" in out
    assert out.rstrip().endswith("5 to translate: 1 notebook cells, 2 pages, 2 toc captions/title")
    translate(book)
    result = cli(book, "status")
    assert result.returncode == 0 and "up to date" in result.stdout


def test_set_records_a_translation_with_the_current_hash(tmp_path, monkeypatch, capsys):
    book = make_book(tmp_path / "tiny")
    monkeypatch.setattr(sys, "stdin", io.StringIO(ZH["value"]))
    assert zb.main(["--root", str(book.root), "set", NB, "value"]) == 0
    assert "recorded in translations/zh/notebooks/nb.json" in capsys.readouterr().out
    assert _entries(book) == {
        "value": {
            "en_sha256": zb.sha256_text(nbformat.read(book.root / NB, 4).cells[2].source),
            "zh": ZH["value"],
        }
    }
    with pytest.raises(ValueError, match="no non-empty markdown cell with id 'code'"):
        zb.record(book, NB, "code", "代码")


def test_parse_glossary_maps_english_terms_to_chinese(tmp_path):
    path = tmp_path / "glossary.md"
    path.write_text(GLOSSARY, encoding="utf-8")
    terms = {t.english: t.chinese for t in zb.parse_glossary(path)}
    assert terms["kernel"] == ("卷积核",)
    assert terms["precision"] == ("精确率",) and terms["recall"] == ("召回率",)
    assert terms["F1"] == ("F1 分数", "F1")  # the English name is itself accepted
    assert terms["batch"] == ("批量",)  # "(not ...)": the renderings the edition does not use
    rejected = {t.english: t.rejected for t in zb.parse_glossary(path)}
    assert rejected["batch"] == ("批次", "小批量") and rejected["kernel"] == ()
    assert terms["batch normalisation"] == ("批量归一化 (BN)", "批量归一化")
    assert "im2col" not in terms  # no Chinese term
    # the book's own glossary parses, with its Chinese
    real = {t.english: t.chinese for t in zb.parse_glossary(ROOT / "book" / "glossary.md")}
    assert "残差块" in real["residual block"] and "梯度消失" in real["vanishing gradient"]


def test_term_matching_ignores_code_math_and_accepts_plurals_and_hyphens():
    term = zb.Term("learning-rate schedule", ("学习率调度",))
    assert term.pattern().search("two learning rate\nschedules")
    kernel = zb.Term("kernel", ("卷积核",))
    assert not kernel.pattern().search(zb.prose("the `kernel` and $kernel$ and kernel_size"))
    assert kernel.pattern().search(zb.prose("each kernel slides"))


# --- the English execution's outputs --------------------------------------------------------------


def test_outputs_come_from_the_books_jupyter_cache(tmp_path):
    book = make_book(tmp_path / "tiny")
    nb = zb.executed_notebook(book, NB)
    assert nb.cells[1].outputs[0]["metadata"]["scrapbook"]["name"] == "x"
    assert nb.cells[1].execution_count == 1


def test_without_the_cache_the_build_asks_for_the_english_build(tmp_path):
    book = make_book(tmp_path / "tiny", cached=False)
    with pytest.raises(FileNotFoundError, match="build the English book first"):
        zb.executed_notebook(book, NB)


def test_counterpart_urls_are_relative_to_the_page():
    assert counterpart_url("book/preface.html", "zh/") == "../zh/book/preface.html"
    assert counterpart_url("book/preface.html", "../") == "../../book/preface.html"
    assert counterpart_url("index.html", "zh") == "zh/index.html"
    assert counterpart_url("search.html", "../") == "../search.html"


# --- the build ------------------------------------------------------------------------------------


def _links(html: Path) -> list[str]:
    return re.findall(
        r'<a href="([^"]+)" class="btn btn-sm language-switch"', html.read_text("utf-8")
    )


@pytest.mark.slow
def test_build_writes_the_chinese_book_next_to_the_english(book, capsys):
    jb = [*zb.jupyter_book_command(), "build", str(book.root), "--all", "-W", "-n", "--keep-going"]
    english = subprocess.run(jb, capture_output=True, text=True, timeout=300)
    assert english.returncode == 0, english.stdout[-3000:] + english.stderr[-3000:]
    assert zb.build(book) == 0
    # one line, pointing at the Chinese book; not Jupyter Book's log with its internal folder
    out = capsys.readouterr().out
    assert "中文版" in out and "zh_src/_build/html" not in out, out[-2000:]

    html = book.root / "_build" / "html"
    src = book.root / "_build" / "zh_src"
    zh_page = html / "zh" / "notebooks" / "nb.html"
    text = zh_page.read_text(encoding="utf-8")
    assert '<html lang="zh-CN"' in text  # the interface: Sphinx and the theme in Chinese
    assert "搜索" in text  # "Search"
    assert "残差块把输入加回来" in text and "A residual block adds" not in text
    assert "3.14" in text  # the glue of the English execution resolved, nothing executed
    assert not (src / "_build" / ".jupyter_cache").exists()
    config = (src / "_config.yml").read_text(encoding="utf-8")
    assert "language: zh_CN" in config and "execute_notebooks: 'off'" in config
    assert "title: 小书" in config and "caption: 基础" in (src / "_toc.yml").read_text("utf-8")
    assert "基础" in (html / "zh" / "book" / "intro.html").read_text("utf-8")
    assert zb.search_has_chinese(html / "zh") and not zb.search_has_chinese(html)
    index = (html / "zh" / "searchindex.js").read_text(encoding="utf-8")
    terms = json.loads(index[index.index("(") + 1 : index.rindex(")")])["terms"]
    assert {"残差", "残差块"} <= set(terms)  # jieba, with the glossary's terms as words

    # the switcher, both ways, on every page of both books
    for page in ("book/intro.html", "book/page.html", "notebooks/nb.html"):
        (to_zh,) = _links(html / page)
        assert (html / page).parent.joinpath(to_zh).resolve() == (html / "zh" / page).resolve()
        (to_en,) = _links(html / "zh" / page)
        assert (html / "zh" / page).parent.joinpath(to_en).resolve() == (html / page).resolve()
    # the English book is where it was
    assert "A residual block adds" in (html / "notebooks" / "nb.html").read_text("utf-8")


# --- the real book --------------------------------------------------------------------------------


def _zh_objectives(text: str) -> str | None:
    match = re.search(r"学完本章，你将能够：\n\n((?:- .*\n?(?:  .*\n?)*)+)", text)
    return match.group(1).strip() if match else None


def test_the_chinese_teacher_guide_collects_the_chapters_chinese_objectives():
    """The Chinese pair of tests/test_notebooks.py's check: each chapter's objectives, as the
    translation of its first cell lists them, are in the Chinese teacher guide word for word."""
    book = zb.Book(ROOT)
    _, guide = zb.read_page_translation(book, "book/teacher_guide.md")
    for source in book.notebooks():
        first = str(book.english(source).cells[0].get("id"))
        entries, _ = zb.load_entries(book, source)
        objectives = _zh_objectives(entries[first]["zh"])
        assert objectives and objectives in guide, (
            f"{source}: the Chinese teacher guide's objectives differ from the chapter's "
            f"(translations/zh/book/teacher_guide.md; the chapter's cell {first}: {objectives!r})"
        )


def test_a_figure_description_is_translated_like_a_cell():
    """A code cell's alt text (myst-nb's mystnb.image.alt, book/_ext/accessibility.py) is a
    piece to translate, keyed "<cell id>/alt"; the Chinese notebook carries the Chinese in the
    same place and keeps the code; a translation must name the same glued values."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("Loss curves.", id="m"),
        nbformat.v4.new_code_cell(
            "plt.plot(x)",
            id="f",
            metadata={"mystnb": {"image": {"alt": "Loss falls to {loss:.2f}."}}, "tags": []},
        ),
        nbformat.v4.new_code_cell("x = 1", id="c"),
    ]
    assert zb.markdown_cells(nb) == [("m", "Loss curves."), ("f/alt", "Loss falls to {loss:.2f}.")]
    entries = {
        "m": {"en_sha256": zb.sha256_text("Loss curves."), "zh": "损失曲线。"},
        "f/alt": {
            "en_sha256": zb.sha256_text("Loss falls to {loss:.2f}."),
            "zh": "损失降到 {loss:.2f}。",
        },
    }
    zh = zb.zh_notebook(nb, entries)
    assert zh.cells[1].metadata["mystnb"]["image"]["alt"] == "损失降到 {loss:.2f}。"
    assert zh.cells[1].source == "plt.plot(x)" and zb.code_differences(nb, zh) == []
    assert nb.cells[1].metadata["mystnb"]["image"]["alt"] == "Loss falls to {loss:.2f}."
    # a stale description is not used: the English stays
    entries["f/alt"]["en_sha256"] = "0" * 64
    alt = zb.zh_notebook(nb, entries).cells[1].metadata["mystnb"]["image"]["alt"]
    assert alt == "Loss falls to {loss:.2f}."
    assert zb.alt_fields("降到 {loss_zh}，{acc:.1%}") == zb.alt_fields("to {loss}, {acc:.0%}")
    assert zb.alt_fields("降到 {acc}") != zb.alt_fields("to {loss}")
