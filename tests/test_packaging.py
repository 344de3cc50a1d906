"""pyproject.toml declares exactly what the package imports, and the version matches."""

import ast
import importlib
import re
import sys
from pathlib import Path

import tomllib

import resnet_utils

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
DISTRIBUTION = {"sklearn": "scikit-learn", "IPython": "ipython"}  # import name -> PyPI name


def _names(requirements):
    return {re.split(r"[<>=!~\[ ;]", r, maxsplit=1)[0].lower() for r in requirements}


def _imported_distributions(paths):
    found = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top not in sys.stdlib_module_names and top != "resnet_utils":
                    found.add(DISTRIBUTION.get(top, top).lower())
    return found


def test_dependencies_are_exactly_what_the_package_imports():
    extras = PYPROJECT["optional-dependencies"]
    optional = {
        "widgets.py": "widgets",
        "classroom/student.py": "classroom",
        "classroom/grade.py": "teacher",
    }
    package = ROOT / "resnet_utils"
    core = [p for p in package.rglob("*.py") if p.relative_to(package).as_posix() not in optional]
    assert _imported_distributions(core) == _names(PYPROJECT["dependencies"])
    for module, extra in optional.items():
        needs = _imported_distributions([ROOT / "resnet_utils" / module])
        assert needs - _names(PYPROJECT["dependencies"]) == _names(extras[extra]), module


def test_version_is_the_distribution_version():
    assert resnet_utils.__version__ == PYPROJECT["version"]


def test_the_package_docstring_describes_every_module():
    package = ROOT / "resnet_utils"
    modules = {p.stem for p in package.glob("*.py") if not p.stem.startswith("_")}
    modules |= {p.parent.name for p in package.glob("*/__init__.py")}  # cli/, classroom/
    described = set(re.findall(r"^``(\w+)/?``", resnet_utils.__doc__, flags=re.M))
    assert described == modules
    for sub in ("cli", "classroom"):  # and each subpackage's docstring its own modules
        doc = importlib.import_module(f"resnet_utils.{sub}").__doc__
        inside = {p.stem for p in (package / sub).glob("*.py") if p.stem != "__init__"}
        assert inside <= set(re.findall(r"``(\w+)``", doc)), sub
