"""tools/setup_cell.py: the cell that installs resnet_utils where it is missing, and its generator.

The cell's logic is run here in this interpreter, with ``pip`` replaced by a
recorder (where it would install), and once with the real pip on a bogus
source (where it must fail with one sentence). tests/test_colab_user.py runs
it for real, in a fresh environment and a Jupyter kernel.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest
import tomllib

import resnet_utils

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import setup_cell  # noqa: E402

BOOK = setup_cell.load_book()
SOURCE = setup_cell.cell_source(BOOK)
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _run_cell(monkeypatch, installed=None, pip_returncode=0, version=None):
    """Execute the setup cell here. ``installed``: what ``import resnet_utils`` finds first
    (None: nothing; "real": this checkout's package; a version string: a fake package).
    The pip call is recorded, not run; when it "succeeds", a package of ``version``
    (the book's by default) becomes importable. Returns the recorded pip commands."""
    calls = []
    if installed is None:
        monkeypatch.setitem(sys.modules, "resnet_utils", None)  # import raises ImportError
    elif installed != "real":
        monkeypatch.setitem(sys.modules, "resnet_utils", _fake_package(installed))

    def fake_run(cmd, **kwargs):
        calls.append(cmd)
        if pip_returncode == 0:
            monkeypatch.setitem(
                sys.modules, "resnet_utils", _fake_package(version or BOOK.version)
            )
        pip_says = "Traceback (most recent call last):\n  ...\nERROR: No matching distribution"
        return subprocess.CompletedProcess(cmd, pip_returncode, b"", pip_says.encode())

    monkeypatch.setattr(subprocess, "run", fake_run)
    exec(compile(SOURCE, "<setup cell>", "exec"), {"__name__": "__main__"})
    return calls


def _fake_package(version):
    module = types.ModuleType("resnet_utils")
    module.__version__ = version
    return module


def test_does_nothing_where_resnet_utils_imports_at_the_books_version(monkeypatch, capsys):
    assert resnet_utils.__version__ == BOOK.version
    assert _run_cell(monkeypatch, installed="real") == []
    assert capsys.readouterr() == ("", "")


def test_silent_and_quick_in_a_fresh_interpreter(tmp_path):
    """As in the book build: a new python where resnet_utils is installed (editable here)."""
    (tmp_path / "cell.py").write_text(SOURCE)
    code = (
        "import time; t = time.perf_counter(); exec(open('cell.py').read()); "
        "print(time.perf_counter() - t)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    seconds = float(done.stdout)  # the only output: no line from the cell itself
    assert seconds < 1.0


def test_installs_from_the_repository_at_the_books_tag(monkeypatch, capsys):
    monkeypatch.delenv(setup_cell.ENV, raising=False)
    [cmd] = _run_cell(monkeypatch, installed=None)
    source = f"git+{BOOK.url}@v{BOOK.version}"
    assert cmd == [
        sys.executable,
        "-m",
        "pip",
        "install",
        "-q",
        f"resnet-hands-on[notebooks] @ {source}",
    ]
    assert capsys.readouterr().out == f"Installing resnet_utils {BOOK.version} from {source} ...\n"


def test_the_environment_variable_overrides_the_source(monkeypatch, tmp_path, capsys):
    fork = "git+https://github.com/someone/fork@main"
    monkeypatch.setenv(setup_cell.ENV, fork)
    [cmd] = _run_cell(monkeypatch, installed=None)
    assert cmd[-1] == f"resnet-hands-on[notebooks] @ {fork}"
    # a local checkout becomes a file:// URL, which pip accepts after "name @"
    monkeypatch.setenv(setup_cell.ENV, str(tmp_path))
    [cmd] = _run_cell(monkeypatch, installed=None)
    assert cmd[-1] == f"resnet-hands-on[notebooks] @ file://{tmp_path}"


def test_a_failed_install_is_one_sentence_without_pips_output(monkeypatch, capsys):
    monkeypatch.delenv(setup_cell.ENV, raising=False)
    with pytest.raises(Exception) as failed:
        _run_cell(monkeypatch, installed=None, pip_returncode=1)
    error = failed.value
    assert type(error).__name__ == "SetupError" and error.__suppress_context__
    [line] = error._render_traceback_()  # what Jupyter shows: this line, no traceback
    source = BOOK.default_source
    assert line.startswith(f"SetupError: could not install resnet_utils {BOOK.version} from ")
    assert source in line and f"pip install 'resnet-hands-on[notebooks] @ {source}'" in line
    assert "\n" not in line and "Traceback" not in line and "ERROR" not in line


def test_a_bogus_source_fails_with_the_sentence_through_real_pip(tmp_path):
    """The real pip on a folder that is no Python project: it fails, offline, changing nothing."""
    bogus = tmp_path / "not-a-project"
    bogus.mkdir()
    (tmp_path / "cell.py").write_text(SOURCE)
    code = "import sys; sys.modules['resnet_utils'] = None; exec(open('cell.py').read())"
    env = {**_clean_env(), setup_cell.ENV: str(bogus), "PIP_NO_INDEX": "1"}
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stdout == f"Installing resnet_utils {BOOK.version} from file://{bogus} ...\n"
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("SetupError: could not install resnet_utils")
    assert "ERROR:" not in done.stderr and "pip._internal" not in done.stderr  # pip said nothing


def _clean_env():
    return {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}


def test_another_installed_version_is_said_in_one_line(monkeypatch, capsys):
    assert _run_cell(monkeypatch, installed="0.0.1") == []  # it does not reinstall by itself
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert (
        f"resnet_utils 0.0.1 is installed, but this notebook is written for {BOOK.version}" in out
    )


def test_an_install_that_brings_another_version_is_said_too(monkeypatch, capsys):
    monkeypatch.setenv(setup_cell.ENV, "git+https://github.com/someone/fork@main")
    _run_cell(monkeypatch, installed=None, version="9.9.9")
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[1].startswith("Note: resnet_utils 9.9.9 is installed")


# The generator.


def test_the_cell_comes_from_the_config_and_the_version():
    config = ROOT / "_config.yml"
    assert f"url: {BOOK.url}\n" in config.read_text()  # one line holds the URL
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert BOOK.version == project["version"] == resnet_utils.__version__
    assert BOOK.distribution == project["name"] == "resnet-hands-on"
    assert f'VERSION = "{BOOK.version}"' in SOURCE and BOOK.default_source in SOURCE
    assert "notebooks" in project["optional-dependencies"]


def test_a_fork_changes_one_line_of_the_config(tmp_path):
    config = (ROOT / "_config.yml").read_text()
    fork = tmp_path / "_config.yml"
    fork.write_text(config.replace(BOOK.url, "https://github.com/someone/fork"))
    book = setup_cell.load_book(config=fork)
    assert 'SOURCE = "git+https://github.com/someone/fork@v' in setup_cell.cell_source(book)
    assert book.colab_url("notebooks/x.ipynb") == (
        f"https://colab.research.google.com/github/someone/fork/blob/{book.branch}/notebooks/x.ipynb"
    )
    fork.write_text(config.replace(BOOK.url, "not a url"))
    with pytest.raises(ValueError, match="repository.url"):
        setup_cell.load_book(config=fork)
    other = setup_cell.Book("https://gitlab.com/a/b", "main", "", "1.0", "resnet-hands-on")
    with pytest.raises(ValueError, match="github.com"):
        other.colab_url("x.ipynb")


def test_a_long_url_wraps_and_a_too_long_one_is_refused():
    long = setup_cell.Book(
        "https://github.com/" + "o" * 20 + "/" + "r" * 20, "main", "", "1.0", "resnet-hands-on"
    )
    assert 'SOURCE = (\n    "git+' in setup_cell.cell_source(long)
    huge = setup_cell.Book("https://github.com/" + "o" * 60 + "/r", "main", "", "1.0", "x")
    with pytest.raises(ValueError, match="79"):
        setup_cell.cell_source(huge)


def test_the_cell_fits_the_page_and_is_valid_python():
    assert all(len(line) <= 79 for line in SOURCE.splitlines())
    ast.parse(SOURCE)
    assert len(SOURCE.splitlines()) <= 40


def test_the_cell_is_as_ruff_formats_it(tmp_path):
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    if not Path(ruff).exists():
        pytest.skip("ruff is not installed")
    (tmp_path / "cell.py").write_text(SOURCE + "\n")
    done = subprocess.run(
        [ruff, "format", "--isolated", "--line-length", "79", "--diff", "cell.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout  # `make lint` leaves the cell as generated
    done = subprocess.run(
        [ruff, "check", "--isolated", "--line-length", "79", "--select", "E,F,W,I", "cell.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout


def _notebook(tmp_path, name="01_x.ipynb"):
    nb = {
        "cells": [
            {"cell_type": "markdown", "id": "0", "metadata": {}, "source": ["# 1. Title"]},
            {"cell_type": "markdown", "id": "1", "metadata": {}, "source": ["The parameters."]},
            {
                "cell_type": "code",
                "execution_count": None,
                "id": "2",
                "metadata": {"tags": ["parameters"]},
                "outputs": [],
                "source": ["seed = 0"],
            },
            {
                "cell_type": "code",
                "execution_count": None,
                "id": "3",
                "metadata": {},
                "outputs": [],
                "source": ["print(seed)"],
            },
        ],
        "metadata": {"kernelspec": {"name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path = tmp_path / name
    path.write_text(json.dumps(nb, indent=1) + "\n")
    return path, nb


def _readme(tmp_path, badges=""):
    path = tmp_path / "README.md"
    path.write_text(f"# Book\n\n{setup_cell.BADGES_BEGIN}\n{badges}{setup_cell.BADGES_END}\n")
    return path


def test_inserts_the_cell_after_the_title_before_the_parameters(tmp_path):
    path, before = _notebook(tmp_path)
    readme = _readme(tmp_path)
    assert setup_cell.main([str(path), "--readme", str(readme)]) == 0
    cells = json.loads(path.read_text())["cells"]
    assert [c["id"] for c in cells] == ["0", setup_cell.CELL_ID, "1", "2", "3"]
    setup = cells[1]
    assert "".join(setup["source"]) == SOURCE
    assert setup["metadata"] == {"tags": ["remove-cell"]}
    assert setup["outputs"] == [] and setup["execution_count"] is None
    assert cells[:1] + cells[2:] == before["cells"]  # nothing else changed
    first_code = next(c for c in cells if c["cell_type"] == "code")
    assert first_code is setup
    assert setup_cell.readme_badges(BOOK) in readme.read_text()


def test_running_it_again_changes_nothing(tmp_path):
    path, _ = _notebook(tmp_path)
    readme = _readme(tmp_path)
    setup_cell.main([str(path), "--readme", str(readme)])
    text, readme_text = path.read_text(), readme.read_text()
    assert setup_cell.main([str(path), "--readme", str(readme)]) == 0
    assert not setup_cell.update_notebook(path, SOURCE)
    assert path.read_text() == text and readme.read_text() == readme_text
    assert setup_cell.main(["--check", str(path), "--readme", str(readme)]) == 0


def test_check_names_what_differs_and_an_update_fixes_it(tmp_path, capsys):
    fresh, _ = _notebook(tmp_path, "00_fresh.ipynb")
    old, _ = _notebook(tmp_path, "01_old.ipynb")
    readme = _readme(tmp_path)
    setup_cell.main([str(old), "--readme", str(readme)])
    nb = json.loads(old.read_text())
    nb["cells"][1]["source"] = [
        line.replace(f'"{BOOK.version}"', '"0.0.1"') for line in nb["cells"][1]["source"]
    ]
    old.write_text(json.dumps(nb, indent=1) + "\n")
    readme.write_text(readme.read_text().replace("colab", "c0lab"))
    capsys.readouterr()

    assert setup_cell.main(["--check", str(fresh), str(old), "--readme", str(readme)]) == 1
    err = capsys.readouterr().err
    assert f"{fresh} has no setup cell" in err
    assert f"{old} has an outdated setup cell" in err
    assert f"{readme}: the launch badges do not follow _config.yml" in err

    assert setup_cell.main([str(fresh), str(old), "--readme", str(readme)]) == 0
    assert setup_cell.main(["--check", str(fresh), str(old), "--readme", str(readme)]) == 0
    cells = json.loads(old.read_text())["cells"]
    assert sum(setup_cell.is_setup_cell(c) for c in cells) == 1


def test_check_sees_a_moved_or_retagged_cell(tmp_path):
    path, _ = _notebook(tmp_path)
    setup_cell.update_notebook(path, SOURCE)
    nb = json.loads(path.read_text())
    nb["cells"][1]["metadata"]["tags"] = []
    path.write_text(json.dumps(nb))
    assert "wrong place, with other tags" in setup_cell.notebook_problem(path, SOURCE)
    nb["cells"][1]["metadata"]["tags"] = ["remove-cell"]
    nb["cells"].insert(4, nb["cells"].pop(1))
    path.write_text(json.dumps(nb))
    assert "wrong place" in setup_cell.notebook_problem(path, SOURCE)


def test_an_older_template_is_replaced_not_duplicated(tmp_path):
    path, _ = _notebook(tmp_path)
    setup_cell.update_notebook(path, SOURCE)
    nb = json.loads(path.read_text())
    nb["cells"][1]["source"] = ["# an older setup cell\n", "pass"]  # same id, other text
    path.write_text(json.dumps(nb, indent=1) + "\n")
    assert "outdated" in setup_cell.notebook_problem(path, SOURCE)
    assert setup_cell.update_notebook(path, SOURCE)
    cells = json.loads(path.read_text())["cells"]
    assert [c["id"] for c in cells] == ["0", setup_cell.CELL_ID, "1", "2", "3"]
    assert "".join(cells[1]["source"]) == SOURCE


def test_a_missing_notebook_or_badge_markers_fail(tmp_path, capsys):
    readme = tmp_path / "README.md"
    readme.write_text("# no markers\n")
    assert setup_cell.main([str(tmp_path / "nope.ipynb"), "--readme", str(readme)]) == 1
    err = capsys.readouterr().err
    assert "nope.ipynb: no such notebook" in err and "no launch badges" in err


# The book itself: the lead writes the cells with `make setup-cells`.


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_notebook_has_the_identical_hidden_setup_cell(path):
    problem = setup_cell.notebook_problem(path, SOURCE)
    assert problem is None, f"{path.name} {problem}: run `make setup-cells`"
    cells = json.loads(path.read_text())["cells"]
    setup = next(c for c in cells if c["cell_type"] == "code")
    assert setup_cell.is_setup_cell(setup) and "remove-cell" in setup["metadata"]["tags"]


def test_the_readme_badges_follow_the_config():
    text = (ROOT / "README.md").read_text()
    assert setup_cell.readme_badges(BOOK) in text, "run `make setup-cells`"


def _third_party_imports(code: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module)
    return {n for n in names if n.split(".")[0] not in sys.stdlib_module_names}


def test_the_setup_cell_installs_what_the_notebooks_import():
    """resnet-hands-on[notebooks] is exactly what the chapters need besides the package."""
    pypi = {
        "sklearn": "scikit-learn",
        "skimage": "scikit-image",
        "IPython": "ipython",
        "myst_nb": "myst-nb",
    }
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

    def names(requirements):
        return {re.split(r"[<>=!~\[ ;]", r, maxsplit=1)[0].lower() for r in requirements}

    needed, modules = set(), set()
    for path in NOTEBOOKS:
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "code" and not setup_cell.is_setup_cell(cell):
                code = "\n".join(
                    line
                    for line in "".join(cell["source"]).splitlines()
                    if not line.lstrip().startswith(("%", "!"))
                )
                modules |= _third_party_imports(code)
    for module in modules:
        top = module.split(".")[0]
        if module == "resnet_utils.widgets":
            needed |= names(project["optional-dependencies"]["widgets"])
        elif top != "resnet_utils":
            needed.add(pypi.get(top, top).lower())
    core = names(project["dependencies"])
    assert names(project["optional-dependencies"]["notebooks"]) == needed - core


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line and not line.startswith("-"):
            name, version = line.split("==")
            pins[name.strip().lower()] = version.strip()
    return pins


def test_binder_installs_cpu_torch_at_the_books_versions():
    binder = _pins(ROOT / "binder" / "requirements.txt")
    book = _pins(ROOT / "requirements.txt")
    assert binder["torch"].endswith("+cpu") and binder["torchvision"].endswith("+cpu")
    assert "download.pytorch.org/whl/cpu" in (ROOT / "binder" / "requirements.txt").read_text()
    assert {name: v.removesuffix("+cpu") for name, v in binder.items()} == {
        name: book[name] for name in binder
    }
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    needs = project["dependencies"] + project["optional-dependencies"]["notebooks"]
    names = {re.split(r"[<>=!~\[ ;]", r, maxsplit=1)[0].lower() for r in needs}
    assert names - {"ipython"} <= set(binder)  # ipython comes with ipykernel
    post_build = ROOT / "binder" / "postBuild"
    assert "pip install" in post_build.read_text() and os.access(post_build, os.X_OK)
