"""tools/pdf_book.py, the book on paper: what it does to the executed notebooks before LaTeX
sees them (explorers, animations, progress bars and other browser-only outputs; the answers and
solutions moved to an appendix; the preface's links), and book/_ext/paper.py's fix of the
LaTeX class. On tiny synthetic notebooks; `make pdf-test` checks the real PDFs."""

from __future__ import annotations

import base64
import io
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import paper  # noqa: E402
import pdf_book as pb  # noqa: E402

EN, ZH = pb.EDITIONS["en"], pb.EDITIONS["zh"]


def png(color: int = 0) -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (4, 3), color).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def model(name: str, **state) -> dict:
    return {"model_name": name, "model_module": "@jupyter-widgets/controls", "state": state}


def explorer_notebook(picture: str):
    """A notebook with an explorer's output (widget view + HTML twin) and its widget state."""
    models = {
        "box": model("VBoxModel", children=["IPY_MODEL_slider", "IPY_MODEL_image"]),
        "slider": model("IntSliderModel", description="stride", value=2),
        "image": {
            **model("ImageModel", format="png"),
            "buffers": [{"path": ["value"], "encoding": "base64", "data": picture}],
        },
    }
    output = new_output(
        "execute_result",
        data={
            pb.WIDGET_VIEW: {"model_id": "box", "version_major": 2, "version_minor": 0},
            "text/html": '<div class="resnet-explorer" data-explorer="conv"><script>x</script>',
            "text/plain": "VBox(children=(...))",
        },
        execution_count=1,
    )
    nb = new_notebook(cells=[new_code_cell("explorer", outputs=[output])])
    nb.metadata["widgets"] = {pb.WIDGET_STATE: {"state": models, "version_major": 2}}
    return nb


def test_an_explorer_becomes_its_picture_with_a_caption():
    picture = png(200)
    nb = explorer_notebook(picture)
    counts = pb.paper_outputs(nb, EN, "notebooks/01_convolution")
    assert counts["explorer"] == 1
    code, caption = nb.cells
    assert code.outputs[0]["data"] == {"image/png": picture, "text/plain": "explorer"}
    assert code.metadata["mystnb"]["image"]["width"] == "75%"
    assert caption.cell_type == "markdown"
    assert "The convolution explorer as the page opens (stride 2)" in caption.source
    assert "/notebooks/01_convolution.html>" in caption.source
    assert pb.site_url() in caption.source


def test_the_chinese_caption_is_chinese():
    nb = explorer_notebook(png())
    pb.paper_outputs(nb, ZH, "notebooks/01_convolution")
    assert "卷积演示器" in nb.cells[1].source
    assert "/zh/notebooks/01_convolution.html" in nb.cells[1].source


def test_a_progress_bar_becomes_its_last_text():
    models = {
        "bar": model("HBoxModel", children=["IPY_MODEL_a", "IPY_MODEL_b", "IPY_MODEL_c"]),
        "a": model("HTMLModel", value="epochs:\u2007100%"),
        "b": model("FloatProgressModel", value=15.0, max=15.0, min=0.0),
        "c": model("HTMLModel", value="\u200715/15\u2007[00:12&lt;00:00]"),
    }
    view = {"model_id": "bar", "version_major": 2, "version_minor": 0}
    out = new_output("display_data", data={pb.WIDGET_VIEW: view, "text/plain": "epochs: 0%"})
    nb = new_notebook(cells=[new_code_cell("fit()", outputs=[out])])
    nb.metadata["widgets"] = {pb.WIDGET_STATE: {"state": models}}
    assert pb.paper_outputs(nb, EN, "notebooks/06_training")["progress"] == 1
    (stream,) = nb.cells[0].outputs
    assert stream.output_type == "stream"
    assert stream.text == "epochs: 100%|##########| 15/15 [00:12<00:00]\n"


def test_an_animation_becomes_its_first_frame():
    frame = png(9)
    markup = (
        '<img id="_anim_imgabc"><script>frames[0] = "data:image/png;base64,'
        + frame
        + '";\nframes[1] = "data:image/png;base64,'
        + png(50)
        + '";</script>'
    )
    out = new_output("execute_result", data={"text/html": markup, "text/plain": "<HTML>"})
    nb = new_notebook(cells=[new_code_cell("HTML(animation_html(a))", outputs=[out])])
    assert pb.paper_outputs(nb, EN, "notebooks/01_convolution")["animation"] == 1
    assert nb.cells[0].outputs[0]["data"]["image/png"] == frame
    assert "first frame" in nb.cells[1].source


def test_any_other_browser_only_output_becomes_a_note():
    outputs = [
        new_output("display_data", data={"text/html": "<b>x</b>", "text/plain": "<HTML>"}),
        new_output("display_data", data={"application/javascript": "alert(1)"}),
        new_output("display_data", data={"text/html": "<table/>", "text/markdown": "| a |"}),
        new_output("stream", name="stdout", text="kept\n"),
    ]
    nb = new_notebook(cells=[new_code_cell("show()", outputs=outputs)])
    assert pb.paper_outputs(nb, EN, "book/x")["html_only"] == 2
    first, second, markdown, stream = nb.cells[0].outputs
    assert "shown only online" in first["data"]["text/markdown"]
    assert "shown only online" in second["data"]["text/markdown"]
    assert "text/markdown" in markdown["data"] and "text/html" in markdown["data"]
    assert stream.text == "kept\n"


def test_a_folded_output_is_unfolded_and_removed_cells_stay_tagged():
    folded = new_code_cell("show()", metadata={"tags": ["hide-output", "x"]})
    folded.outputs = [new_output("stream", name="stdout", text="source\n")]
    removed = new_code_cell("check()", metadata={"tags": ["remove-cell"]})
    nb = new_notebook(cells=[folded, removed])
    assert pb.paper_outputs(nb, EN, "notebooks/06_training")["unfolded"] == 1
    assert nb.cells[0].metadata["tags"] == ["x"] and nb.cells[0].outputs
    assert nb.cells[1].metadata["tags"] == ["remove-cell"]


def chapter():
    return new_notebook(
        cells=[
            new_markdown_cell("# 2. Residual connections\n\nText."),
            new_markdown_cell(
                "## Self-check\n\n**1.** Which?\n\n- (a) x\n\n```{dropdown} Answer\n(a): because.\n```"
                "\n\n**2.** And?\n\n```{dropdown} Answer\n:open:\n(b).\n```\n"
            ),
            new_markdown_cell("## Exercises"),
            new_markdown_cell("```{exercise}\n:label: ex-a\n\nDo A.\n```"),
            new_markdown_cell("```{solution-start} ex-a\n:class: dropdown\n```", id="30"),
            new_code_cell("def a():\n    return 1", metadata={"tags": ["solution"]}, id="31"),
            new_markdown_cell("```{solution-end}\n```", id="32"),
            new_code_cell("check(a)", id="33"),
            new_markdown_cell("```{exercise}\n:label: ex-b\n\nDiscuss B.\n```"),
            new_markdown_cell(
                "```{solution-start} ex-b\n:class: dropdown\n```\n\nA model answer.\n\n"
                "```{solution-end}\n```",
                id="35",
            ),
            new_markdown_cell("---"),
        ]
    )


def test_answers_and_solutions_leave_the_chapter():
    nb = chapter()
    answers = pb.take_answers(nb, "notebooks/02_residual_connections", EN)
    assert answers.title == "2. Residual connections"
    assert answers.checks == [("Self-check", "1", "(a): because."), ("Self-check", "2", "(b).")]
    assert [pb._directive_name(c) for c in answers.solutions] == [
        "solution-start",
        None,
        "solution-end",
        "solution-start",
    ]
    text = "\n".join(c.source for c in nb.cells)
    assert "dropdown" not in text and "{solution" not in text and "def a()" not in text
    assert "check(a)" in text and "Do A." in text and "Discuss B." in text
    label = "pdf-answers-notebooks-02-residual-connections"
    assert f"The answers are in the appendix, {{ref}}`{label}`." in nb.cells[1].source
    # the note on the solutions comes under the exercises' heading, before the first exercise
    sources = [c.source for c in nb.cells]
    note = sources.index(f"The solutions are in the appendix, {{ref}}`{label}`.")
    assert sources[note - 1] == "## Exercises" and "ex-a" in sources[note + 1]


def test_the_appendix_holds_them_under_each_chapter():
    answers = [pb.take_answers(chapter(), f"notebooks/0{i}_x", EN) for i in (2, 3)]
    nb = pb.appendix_notebook(
        answers, EN, {"kernelspec": {"name": "python3", "display_name": "Python 3"}}
    )
    sources = [c.source for c in nb.cells]
    assert sources[0].startswith("# Answers and solutions")
    assert "(pdf-answers-notebooks-02-x)=\n## 2. Residual connections" in sources
    assert "### Self-check\n\n**1.** (a): because.\n\n**2.** (b)." in sources
    assert sources.count("### Exercises") == 2
    assert not any(":class: dropdown" in s for s in sources)
    assert sum("{solution-start}" in s for s in sources) == 4
    ids = [c.id for c in nb.cells]
    assert len(ids) == len(set(ids)), "cell ids repeat"
    nbformat.validate(nb)


def test_a_page_link_in_html_becomes_a_link_to_the_online_book():
    page = 'see <a href="../../book/preface.html#timing">the preface</a>.'
    out = pb.paper_page(page, ZH, "book/preface", None)
    assert out == f"see [the preface]({pb.site_url()}book/preface.html#timing)."


def test_the_latex_log_problems():
    log = (
        "LaTeX Warning: Reference `notebooks/05_data:ex' on page 3 undefined on input line 9.\n"
        "Missing character: There is no ⁹ (U+2079) in font TeXGyrePagella!\n"
        "LaTeX Font Warning: Font shape `TU/x/m/it' undefined\n"
    )
    problems = pb.latex_problems(log)
    assert len(problems) == 2 and all("Font shape" not in p for p in problems)


def test_the_class_file_loses_bbm_and_its_text_width():
    cls = (
        "\\RequirePackage{pgf}\n\\RequirePackage{pgfplots}\n\\RequirePackage{bbm}\n"
        "\\LoadClass{sphinxmanual}\n\\setlength{\\textwidth}{17.5cm}\n"
        "\\setlength{\\textheight}{22cm}\n\\setlength{\\fboxsep}{5pt}\n"
    )
    fixed = paper.DROPPED.sub("%", cls)
    assert "bbm" not in fixed and "pgfplots" not in fixed and "17.5cm" not in fixed
    assert "\\RequirePackage{pgf}" in fixed and "fboxsep" in fixed and "22cm" not in fixed


def test_the_header_links_each_edition_to_its_pdf():
    import pdf_link
    import yaml

    links = yaml.safe_load((ROOT / "_config.yml").read_text("utf-8"))["sphinx"]["config"]
    links = links["pdf_link"]

    class App:
        def __init__(self, language):
            self.config = type("Config", (), {"pdf_link": links, "language": language})
            self.builder = type(
                "Builder", (), {"format": "html", "get_target_uri": staticmethod(lambda p: p)}
            )

    for language, edition in ((None, EN), ("zh_CN", ZH)):
        root = ROOT / "_build" / "html" / edition.site
        context = {"theme_article_header_end": ["language-switch.html", "other.html"]}
        pdf_link._page_context(App(language), "notebooks/x", "page.html", context, None)
        assert context["theme_article_header_end"][1] == "pdf-link.html"
        # the page notebooks/x.html of the edition, whose root is _build/html/<site>
        target = (root / "notebooks" / context["pdf_link"]["url"]).resolve()
        assert target == (ROOT / "_build" / "html" / "pdf" / edition.pdf).resolve()
