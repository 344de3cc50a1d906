"""The setup cell: the first code cell of every notebook, so that it runs anywhere.

A reader who presses a launch button lands in Colab or Kaggle, where torch is
installed but the book's package is not. The setup cell installs it there, at
the book's own version, and does nothing (instantly, silently) where
``resnet_utils`` already imports: ``make lab``, ``make test``, the book build.

The cell is generated, the same in every notebook, from two facts:

- the repository URL, ``repository.url`` in ``_config.yml`` (the one line to
  change for a fork; the launch buttons read it too), and
- the package version, ``[project].version`` in ``pyproject.toml``,

and installs ``resnet-hands-on[notebooks] @ git+<url>@v<version>``, the tag of
that version. The environment variable ``RESNET_HANDS_ON_SOURCE`` overrides
the source (a fork's git URL, or a local checkout) without editing the cell.

The README's launch badges follow the same URL; they live between two markers
in README.md and are written by this script too.

    python tools/setup_cell.py notebooks/*.ipynb          # insert or update (make setup-cells)
    python tools/setup_cell.py --check notebooks/*.ipynb  # exit 1 naming what differs (make test)

The cell goes right after the notebook's first cell (the title), so before the
``parameters`` cell, with the tag ``remove-cell``: the rendered page does not
show it. Notebooks are rewritten in their own JSON layout (indent 1), and only
when something changed.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import tomllib
import yaml

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "_config.yml"
PYPROJECT = ROOT / "pyproject.toml"
README = ROOT / "README.md"

MARKER = "# Setup: installs resnet_utils"  # how the setup cell is recognised: its first line
CELL_ID = "setup-resnet-utils"
TAG = "remove-cell"
ENV = "RESNET_HANDS_ON_SOURCE"
MAX_LINE = 79  # the notebooks' code column
BADGES_BEGIN = "<!-- launch badges: written by tools/setup_cell.py from _config.yml -->"
BADGES_END = "<!-- end of launch badges -->"
BADGE_NOTEBOOK = "notebooks/00_quickstart.ipynb"

TEMPLATE = """\
# Setup: installs resnet_utils, the book's package, where it is missing
# (Colab, Kaggle); does nothing where it imports. Written by
# tools/setup_cell.py from _config.yml, which holds the repository URL.
import importlib
import os
import subprocess
import sys

VERSION = "{version}"
{source_line}
source = os.environ.get("{env}", SOURCE)
if os.path.isdir(source):  # a local checkout
    source = "file://" + os.path.abspath(source)
spec = f"{distribution}[notebooks] @ {{source}}"


class SetupError(Exception):
    def _render_traceback_(self):  # Jupyter shows this one line
        return [f"SetupError: {{self}}"]


try:
    import resnet_utils
except ImportError:
    print(f"Installing resnet_utils {{VERSION}} from {{source}} ...")
    pip = [sys.executable, "-m", "pip", "install", "-q", spec]
    if subprocess.run(pip, capture_output=True).returncode != 0:
        raise SetupError(
            f"could not install resnet_utils {{VERSION}} from {{source}} (is "
            "the internet on? on Kaggle: Settings > Internet); install it "
            f"by hand with: pip install '{{spec}}'"
        ) from None
    importlib.invalidate_caches()
    import resnet_utils
if resnet_utils.__version__ != VERSION:
    print(
        f"Note: resnet_utils {{resnet_utils.__version__}} is installed, but "
        f"this notebook is written for {{VERSION}}; to switch: pip install "
        f"--force-reinstall '{{spec}}', then restart the kernel"
    )"""


@dataclass(frozen=True)
class Book:
    """What the setup cell and the launch links are made from."""

    url: str  # the repository, e.g. https://github.com/org/repo
    branch: str  # the branch the launch buttons open
    path_to_book: str  # the book's folder inside the repository ("" at the root)
    version: str  # the package version; the setup cell installs the tag v<version>
    distribution: str  # the package's name on pip (its import name is resnet_utils)

    @property
    def default_source(self) -> str:
        """What the setup cell installs unless ``RESNET_HANDS_ON_SOURCE`` says otherwise."""
        return f"git+{self.url}@v{self.version}"

    def github(self) -> tuple[str, str]:
        """``(org, repo)`` of a GitHub URL; ValueError for another host."""
        parsed = urlparse(self.url)
        parts = parsed.path.strip("/").removesuffix(".git").split("/")
        if parsed.netloc != "github.com" or len(parts) != 2:
            raise ValueError(
                f"repository.url must be https://github.com/<org>/<repo> for the Colab, Kaggle "
                f"and Binder links, got {self.url!r}"
            )
        return parts[0], parts[1]

    def notebook_path(self, notebook: str) -> str:
        """A notebook's path inside the repository, e.g. ``notebooks/00_quickstart.ipynb``."""
        prefix = self.path_to_book.strip("/")
        return f"{prefix}/{notebook}" if prefix else notebook

    def colab_url(self, notebook: str) -> str:
        """Where the Colab launch button of a notebook's page goes (sphinx-book-theme's form)."""
        org, repo = self.github()
        return (
            f"https://colab.research.google.com/github/{org}/{repo}/blob/{self.branch}/"
            f"{self.notebook_path(notebook)}"
        )

    def binder_url(self, notebook: str) -> str:
        """Binder, opening JupyterLab on the notebook (sphinx-book-theme's form)."""
        org, repo = self.github()
        return (
            f"https://mybinder.org/v2/gh/{org}/{repo}/{self.branch}"
            f"?urlpath=lab/tree/{self.notebook_path(notebook)}"
        )

    def kaggle_url(self, notebook: str) -> str:
        """Kaggle's "open a notebook from GitHub" link."""
        org, repo = self.github()
        return (
            f"https://kaggle.com/kernels/welcome?src=https://github.com/{org}/{repo}/blob/"
            f"{self.branch}/{self.notebook_path(notebook)}"
        )


def load_book(config: Path = CONFIG, pyproject: Path = PYPROJECT) -> Book:
    """Read the repository from ``_config.yml`` and the version from ``pyproject.toml``."""
    repository = (yaml.safe_load(config.read_text()) or {}).get("repository") or {}
    url = str(repository.get("url") or "").rstrip("/")
    if not re.match(r"^https://[^\s/]+/\S+$", url):
        raise ValueError(f"{config}: repository.url must be an https URL, got {url!r}")
    project = tomllib.loads(pyproject.read_text())["project"]
    return Book(
        url=url,
        branch=str(repository.get("branch") or "main"),
        path_to_book=str(repository.get("path_to_book") or ""),
        version=str(project["version"]),
        distribution=str(project["name"]),
    )


def _source_line(source: str) -> str:
    line = f'SOURCE = "{source}"'
    if len(line) <= MAX_LINE:
        return line
    if len(source) + 6 <= MAX_LINE:
        return f'SOURCE = (\n    "{source}"\n)'
    raise ValueError(
        f"the default source {source!r} does not fit in a {MAX_LINE}-column cell: "
        "use a shorter repository URL"
    )


def cell_source(book: Book) -> str:
    """The setup cell's code, the same for every notebook."""
    for value in (book.default_source, book.version, book.distribution):
        if re.search(r"[\"'\\{}\s]", value):
            raise ValueError(f"cannot put {value!r} in the setup cell: no quotes, braces, spaces")
    return TEMPLATE.format(
        version=book.version,
        source_line=_source_line(book.default_source),
        env=ENV,
        distribution=book.distribution,
    )


def make_cell(source: str) -> dict:
    """The notebook cell (nbformat 4.5) holding ``source``, hidden on the rendered page."""
    lines = source.splitlines(keepends=True)
    return {
        "cell_type": "code",
        "execution_count": None,
        "id": CELL_ID,
        "metadata": {"tags": [TAG]},
        "outputs": [],
        "source": lines,
    }


def is_setup_cell(cell: dict) -> bool:
    """A code cell with the setup cell's id or first line (so an older template is replaced too)."""
    text = "".join(cell.get("source", []))
    return cell.get("cell_type") == "code" and (
        cell.get("id") == CELL_ID or text.startswith(MARKER)
    )


def _with_setup_cell(nb: dict, source: str) -> dict:
    cells = [c for c in nb["cells"] if not is_setup_cell(c)]
    if any(c.get("id") == CELL_ID for c in cells):
        raise ValueError(f"a markdown cell has the setup cell's id {CELL_ID!r}")
    at = 1 if cells and cells[0]["cell_type"] == "markdown" else 0  # after the title
    return {**nb, "cells": cells[:at] + [make_cell(source)] + cells[at:]}


def _dumps(nb: dict) -> str:
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def update_notebook(path: Path, source: str) -> bool:
    """Insert or update the setup cell of one notebook; True when the file changed."""
    text = path.read_text(encoding="utf-8")
    new = _dumps(_with_setup_cell(json.loads(text), source))
    if new == text:
        return False
    path.write_text(new, encoding="utf-8")
    return True


def notebook_problem(path: Path, source: str) -> str | None:
    """Why a notebook's setup cell is not the expected one, or None when it is."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    found = [i for i, c in enumerate(nb["cells"]) if is_setup_cell(c)]
    if not found:
        return "has no setup cell"
    if len(found) > 1:
        return f"has {len(found)} setup cells"
    if nb != _with_setup_cell(nb, source):
        cell = nb["cells"][found[0]]
        if "".join(cell["source"]) != source:
            return "has an outdated setup cell (other URL, version or code)"
        return "has its setup cell in the wrong place, with other tags, id or outputs"
    return None


def readme_badges(book: Book) -> str:
    """The README's generated block: launch badges, and the pip command the setup cell runs."""
    badges = [
        (
            "Open in Colab",
            "https://colab.research.google.com/assets/colab-badge.svg",
            book.colab_url,
        ),
        ("Open in Kaggle", "https://kaggle.com/static/images/open-in-kaggle.svg", book.kaggle_url),
        ("Launch Binder", "https://mybinder.org/badge_logo.svg", book.binder_url),
    ]
    lines = [f"[![{alt}]({image})]({link(BADGE_NOTEBOOK)})" for alt, image, link in badges]
    pip = f'pip install "{book.distribution}[notebooks] @ {book.default_source}"'
    return "\n".join([BADGES_BEGIN, *lines, "", "```bash", pip, "```", BADGES_END])


def _readme_with_badges(text: str, book: Book) -> str:
    pattern = re.compile(re.escape(BADGES_BEGIN) + r".*?" + re.escape(BADGES_END), re.S)
    if not pattern.search(text):
        raise ValueError(f"README.md has no launch badges between {BADGES_BEGIN!r} and its end")
    return pattern.sub(lambda _: readme_badges(book), text, count=1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 naming what differs"
    )
    parser.add_argument("--readme", type=Path, default=README, help="README with the badges")
    args = parser.parse_args(argv)
    try:
        book = load_book()
        source = cell_source(book)
    except (ValueError, KeyError, OSError) as e:
        print(f"setup_cell: {e}", file=sys.stderr)
        return 1
    problems = []
    for path in args.notebooks:
        if not path.is_file():
            problems.append(f"{path}: no such notebook")
        elif args.check:
            problem = notebook_problem(path, source)
            if problem:
                problems.append(f"{path} {problem}")
        elif update_notebook(path, source):
            print(f"setup cell written: {path}")
    readme = args.readme.read_text(encoding="utf-8")
    try:
        badges = _readme_with_badges(readme, book)
    except ValueError as e:
        problems.append(f"{args.readme}: {e}")
    else:
        if badges != readme and args.check:
            problems.append(f"{args.readme}: the launch badges do not follow _config.yml")
        elif badges != readme:
            args.readme.write_text(badges, encoding="utf-8")
            print(f"launch badges written: {args.readme}")
    if problems:
        print("\n".join(problems), file=sys.stderr)
        if args.check:
            print("run `make setup-cells` to update them", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
