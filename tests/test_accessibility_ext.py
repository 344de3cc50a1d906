"""book/_ext/accessibility.py: a figure's alt text filled in from the notebook's glued values."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "book" / "_ext"))
from accessibility import BIBLIOENTRY, AltTextError, fill_alt  # noqa: E402


def _glued(**values):
    """Glue data as myst-nb keeps it: each value's text/plain repr (glue() of a Python value)."""
    return {k: {"data": {"text/plain": repr(v)}, "metadata": {}} for k, v in values.items()}


def test_fill_alt_formats_the_glued_values():
    glue = _glued(loss=0.123456, acc=0.9871, n=16, word="lower", word_zh="更低")
    text = "Residual ends {word}, at {loss:.2f}; {n} errors, {acc:.1%} right."
    assert fill_alt(text, glue) == "Residual ends lower, at 0.12; 16 errors, 98.7% right."
    # the Chinese edition takes the _zh twin where there is one, the number otherwise
    assert fill_alt("残差网络{word}，{loss:.2f}", glue, zh=True) == "残差网络更低，0.12"
    assert fill_alt("{{literal}} braces", glue) == "{literal} braces"


def test_fill_alt_names_what_is_missing():
    with pytest.raises(AltTextError, match="'accuracy'"):
        fill_alt("at {accuracy:.1%}", _glued(acc=0.9))
    with pytest.raises(ValueError):
        fill_alt("unbalanced {acc", _glued(acc=0.9))


def test_bibliography_entries_become_list_items():
    html = '<div class="citation" id="id25" role="doc-biblioentry">'
    assert BIBLIOENTRY.sub(r'\1 role="listitem"', html) == (
        '<div class="citation" id="id25" role="listitem">'
    )
