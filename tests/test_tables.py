"""resnet_utils.tables: the Markdown table the notebooks display."""

import pytest
from markdown_it import MarkdownIt

from resnet_utils.tables import markdown_table


def test_table_parses_as_a_table_with_the_given_cells():
    md = markdown_table(["model", "accuracy"], [("ResNet-20", "99.1 %"), ("a|b", 3)])
    tokens = MarkdownIt().enable("table").parse(md.data)
    cells = [t.content for t in tokens if t.type == "inline"]
    assert cells == [
        "model",
        "accuracy",
        "ResNet-20",
        "99.1 %",
        "a|b",
        "3",
    ]  # the escaped pipe stays in its cell
    assert [t.type for t in tokens].count("tr_open") == 3


def test_rows_may_be_any_iterable_of_sequences():
    md = markdown_table(["k", "v"], {"a": 1, "b": 2}.items())
    assert md.data.splitlines()[2:] == ["| a | 1 |", "| b | 2 |"]


def test_a_bad_row_is_rejected_with_its_position():
    with pytest.raises(ValueError, match=r"rows\[1\] has 1 cells but the header has 2"):
        markdown_table(["a", "b"], [(1, 2), (3,)])
