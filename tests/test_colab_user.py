"""The reader who presses "Open in Colab": torch is there, resnet_utils is not.

Colab cannot be reached from CI, so these tests build the closest thing
offline: a fresh virtual environment that sees the book's dependencies but not
resnet_utils, a Jupyter kernel running in it, and a clean copy of the
checkout (the files git would clone) as the source. Then:

- ``pip install .`` of the copy (not editable) gives a working package;
- chapters 1 and 4 run top to bottom in that kernel: their setup cell (the
  same in every chapter; ``make test`` checks that) installs
  ``resnet-hands-on[notebooks]`` from ``RESNET_HANDS_ON_SOURCE`` (the copy)
  into the fresh environment, not editable, and the chapter passes;
- with a bogus source, the setup cell stops with one line.

Simulated, not real: the dependencies are this environment's (what Colab
preinstalls is close: torch, torchvision, scikit-learn, scipy, matplotlib...),
pip runs with ``PIP_NO_INDEX`` (no network; every dependency must already be
satisfied, as torch is on Colab), and without build isolation (there is no
index to fetch setuptools from; on Colab pip fetches it). The source is a
local copy instead of the GitHub tag that the cell installs by default.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import setup_cell  # noqa: E402

pytestmark = pytest.mark.slow

# two of the quicker chapters (10 s each); the quickstart trains for half a minute, and
# `make notebooks` runs it
CHAPTERS = ["01_convolution.ipynb", "04_resnet_architecture.ipynb"]
KERNEL = "colab-user"


def _is_resnet_utils(name: str) -> bool:
    """This checkout's package as installed here (editable): what the fresh env must not see."""
    name = name.lower().replace("-", "_")
    return "resnet_utils" in name or "resnet_hands_on" in name


@pytest.fixture(scope="module")
def dependencies(tmp_path_factory) -> Path:
    """This environment's site-packages without resnet_utils: a folder of symlinks.

    Listed by a plain path line in a .pth file of the fresh environment, it adds the
    dependencies to sys.path; the .pth files inside it (the editable install's) are not
    processed, and the editable install's own files are left out of it anyway.
    """
    here = Path(sysconfig.get_paths()["purelib"])
    deps = tmp_path_factory.mktemp("dependencies")
    for entry in here.iterdir():
        if not _is_resnet_utils(entry.name) and entry.suffix != ".pth":
            (deps / entry.name).symlink_to(entry)
    return deps


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> Path:
    """A copy of the files a clone would have (tracked and new, not ignored): the source."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
    )
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    copy = tmp_path_factory.mktemp("checkout")
    for name in filter(None, listed.stdout.decode().split("\0")):
        src = ROOT / name
        if src.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, copy / name)
    assert (copy / "pyproject.toml").is_file() and (copy / "resnet_utils").is_dir()
    return copy


def _fresh_venv(where: Path, dependencies: Path) -> tuple[Path, Path]:
    """A new venv that sees ``dependencies``; returns (python, its site-packages)."""
    # --without-pip: `python -m pip` runs the pip among the dependencies, installing into
    # this venv (seconds faster than ensurepip; Colab's python has its own pip).
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    python = where / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(purelib) / "book_dependencies.pth").write_text(f"{dependencies}\n")
    return python, Path(purelib)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_") and k != "PYTHONPATH"}
    # Offline: every dependency must already be satisfied. pip reads PIP_NO_BUILD_ISOLATION as
    # the value of build_isolation, so "0" turns the isolation off.
    env.update(PIP_NO_INDEX="1", PIP_NO_BUILD_ISOLATION="0", PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.update(extra)
    return env


def _python(python: Path, code: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [python, "-c", code], cwd=cwd, env=_env(**env), capture_output=True, text=True
    )


def _installed_where(python: Path, cwd: Path) -> dict:
    """Where the fresh env's resnet_utils comes from, and whether pip installed it editable."""
    code = (
        "import json, importlib.metadata as m, resnet_utils; "
        "d = m.distribution('resnet-hands-on'); "
        "url = d.read_text('direct_url.json'); "
        "print(json.dumps({'file': resnet_utils.__file__, 'version': resnet_utils.__version__, "
        "'direct_url': json.loads(url) if url else None, "
        "'files': sorted(str(f) for f in d.files if f.parts[0] == 'resnet_utils')}))"
    )
    done = _python(python, code, cwd)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_pip_install_dot_gives_a_working_package(tmp_path, dependencies, checkout):
    """`pip install .` (not editable) into a fresh environment, then `import resnet_utils`."""
    python, purelib = _fresh_venv(tmp_path / "venv", dependencies)
    assert _python(python, "import resnet_utils", tmp_path).returncode != 0
    assert _python(python, "import torch, sklearn, IPython", tmp_path).returncode == 0

    done = subprocess.run(
        [python, "-m", "pip", "install", "-q", "."],
        cwd=checkout,
        env=_env(),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr

    package = checkout / "resnet_utils"
    modules = sorted(  # resnet_utils.x, resnet_utils.cli, resnet_utils.cli.train, ...
        ".".join(("resnet_utils", *p.relative_to(package).with_suffix("").parts)).removesuffix(
            ".__init__"
        )
        for p in package.rglob("*.py")
    )
    code = "import importlib; [importlib.import_module(m) for m in %r]" % modules
    done = _python(python, code, tmp_path)  # every module imports, not from the checkout
    assert done.returncode == 0, done.stderr
    where = _installed_where(python, tmp_path)
    assert Path(where["file"]).is_relative_to(purelib)
    assert not (where["direct_url"] or {}).get("dir_info", {}).get("editable", False)
    # every file of the package folder is installed: modules, and data files if it ever has any
    shipped = sorted(
        p.relative_to(checkout).as_posix()
        for p in (checkout / "resnet_utils").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    )
    assert [f for f in where["files"] if "__pycache__" not in f] == shipped


@pytest.fixture
def kernel(tmp_path, dependencies, monkeypatch):
    """A Jupyter kernelspec that runs in a fresh venv without resnet_utils."""
    python, purelib = _fresh_venv(tmp_path / "venv", dependencies)
    spec = tmp_path / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    kernel_json = {"argv": argv, "display_name": "Colab user", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(kernel_json))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    for key, value in _env().items():  # what the kernels inherit
        monkeypatch.setenv(key, value)
    for key in [k for k in os.environ if k.startswith("PIP_") and k not in _env()]:
        monkeypatch.delenv(key)
    monkeypatch.delenv("PYTHONPATH", raising=False)
    return python, purelib


def _execute(path: Path, timeout: int = 600) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, kernel_name=KERNEL, timeout=timeout, resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute()
    return nb


def test_the_colab_user_runs_chapters_1_and_4(kernel, checkout, monkeypatch):
    python, purelib = kernel
    assert _python(python, "import resnet_utils", checkout.parent).returncode != 0
    source = setup_cell.cell_source(setup_cell.load_book())
    for name in CHAPTERS:  # as the lead's `make setup-cells` leaves them (a no-op if it ran)
        setup_cell.update_notebook(checkout / "notebooks" / name, source)
    monkeypatch.setenv(setup_cell.ENV, str(checkout))

    seconds = {}
    for name in CHAPTERS:
        start = time.perf_counter()
        nb = _execute(checkout / "notebooks" / name)
        seconds[name] = round(time.perf_counter() - start, 1)
        setup = next(c for c in nb.cells if c.cell_type == "code")
        assert setup_cell.is_setup_cell(setup)
        printed = "".join(o.get("text", "") for o in setup.outputs)
        if name == CHAPTERS[0]:  # installs, says so in one line, nothing else
            assert (
                printed == f"Installing resnet_utils {setup_cell.load_book().version} from "
                f"file://{checkout} ...\n"
            ), printed
        else:  # installed by the first chapter in this "session": silent
            assert setup.outputs == []
    print(f"seconds per chapter in the fresh kernel: {seconds}")

    where = _installed_where(python, checkout.parent)
    assert Path(where["file"]).is_relative_to(purelib), where["file"]
    assert not Path(where["file"]).is_relative_to(checkout)
    assert not (where["direct_url"] or {}).get("dir_info", {}).get("editable", False)
    assert where["version"] == setup_cell.load_book().version


def test_offline_the_setup_cell_stops_with_one_line(kernel, tmp_path, monkeypatch):
    bogus = tmp_path / "no-project-here"
    bogus.mkdir()
    monkeypatch.setenv(setup_cell.ENV, str(bogus))
    source = setup_cell.cell_source(setup_cell.load_book())
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(source), nbformat.v4.new_code_cell("1")]
    )
    # in a folder without resnet_utils/ (the kernel imports from its working directory)
    resources = {"metadata": {"path": str(tmp_path)}}
    client = NotebookClient(nb, kernel_name=KERNEL, timeout=120, resources=resources)
    with pytest.raises(CellExecutionError):
        client.execute()
    error = [o for o in nb.cells[0].outputs if o.output_type == "error"]
    assert len(error) == 1 and error[0].ename == "SetupError"
    [line] = error[0].traceback  # what Jupyter shows: one line, no pip output, no traceback
    assert line.startswith("SetupError: could not install resnet_utils")
    assert f"from file://{bogus}" in line and "pip install '" in line
    assert nb.cells[1].outputs == []  # "Run all" stops at the setup cell
