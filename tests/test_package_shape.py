"""The package's shape stays what issue 35 made it: budgets measured by tools/package_stats.py."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _stats():
    spec = importlib.util.spec_from_file_location("package_stats", ROOT / "tools/package_stats.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_budgets_hold():
    stats = _stats()
    t = stats.summary(stats.module_stats())
    assert t["validation"] <= 170, "validation statements over budget: see --list"
    assert t["core_share"] >= 55.0, f"the core is {t['core_share']:.1f} % of the package"
    assert t["train_lines"] <= 320, "train.py is the loop only"


def test_the_counter_counts_what_it_says(tmp_path):
    package = tmp_path / "pkg"
    (package / "cli").mkdir(parents=True)
    (package / "train.py").write_text(
        "def f(x):\n"
        "    check(x=x)\n"  # 1
        "    if x:\n"
        "        raise ValueError('x')\n"  # 2
        "    try:\n"
        "        g()\n"
        "    except OSError:\n"
        "        raise\n"  # a re-raise: not counted
        "    check_as('seed', 'n', x)\n"  # 3
        "    helper(x)\n"
    )
    (package / "cli/__init__.py").write_text("raise SystemExit(main())\n_check_args(1)\n")  # 4
    stats = _stats()
    found = stats.module_stats(package)
    assert [line for line, _, _ in found["train"]["validation"]] == [2, 4, 9]
    assert found["train"]["validation"][0][1] == "f"
    assert len(found["cli/__init__"]["validation"]) == 1 and found["cli/__init__"]["lines"] == 2
