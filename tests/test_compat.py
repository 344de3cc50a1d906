"""tools/compat.py: the pairs it tests and the table it writes (no install here)."""

import re
from pathlib import Path

from conftest import load_tool

ROOT = Path(__file__).resolve().parents[1]


def test_the_floor_is_pyprojects_and_the_pin_is_requirements():
    compat = load_tool("compat")
    text = (ROOT / "pyproject.toml").read_text()
    torch, vision = compat.declared_floor()
    assert torch.startswith(re.search(r'"torch>=([\d.]+)"', text).group(1))
    assert vision.startswith(re.search(r'"torchvision>=([\d.]+)"', text).group(1))
    req = (ROOT / "requirements.txt").read_text()
    assert f"torch=={compat.pinned()[0]}" in req and f"torchvision=={compat.pinned()[1]}" in req


def test_table_goes_between_the_readme_markers(tmp_path, monkeypatch):
    compat = load_tool("compat")
    readme = tmp_path / "README.md"
    readme.write_text(f"before\n{compat.START}\nold\n{compat.END}\nafter\n")
    monkeypatch.setattr(compat, "README", readme)
    monkeypatch.setattr(compat, "TABLE", tmp_path / "_verified_with.md")
    rows = [
        {
            "torch": "2.14.1",
            "torchvision": "0.29.1",
            "python": "3.11",
            "pinned": True,
            "unit_tests": "`make test`",
            "chapters_text": "`make test`",
        },
        {
            "torch": "2.4.1",
            "torchvision": "0.19.1",
            "python": "3.11",
            "unit_tests": "passed",
            "chapters_ok": 10,
            "chapters": 11,
        },
    ]
    compat.write_table(rows, "the newest installable pair is the pin")
    text = readme.read_text()
    assert text.startswith("before\n") and text.endswith("after\n") and "old" not in text
    assert "| 2.4.1 | 0.19.1 | 3.11 |" in text and "| passed | 10 of 11 |" in text
    assert "2.14.1 (pinned)" in text and "Newest pair: the newest installable pair" in text
    assert "| 2.4.1 | 0.19.1 |" in (tmp_path / "_verified_with.md").read_text()


def test_versions_compare_as_numbers():
    compat = load_tool("compat")
    assert compat._key("2.15.0") > compat._key("2.14.1") > compat._key("2.4.1")
    assert compat._key("0.29.10") > compat._key("0.29.2")
