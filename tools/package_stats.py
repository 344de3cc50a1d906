"""The package's shape in numbers: lines per module, the core's share, validation statements.

``python tools/package_stats.py [--list]`` (issue 35's measures). *Lines* are
physical lines. The *core* is what a student reads after the chapters, as the
package's module table lists it (``CORE``): the building blocks and the
training, evaluation, inspection, fine-tuning and scaling code; the rest is
the classroom (``classroom/``), the command lines (``cli/``), the recipes, the
explorers and display (widgets, plots, tables, the HTML twins) and the
shared argument rules (``_checks``). A
*validation statement* is a ``raise`` of an exception (a bare re-raise and
``raise SystemExit`` excluded) or a call to a checking function (``check``,
``check_as``, ``check_fields``, ``check_*``, ``_check*``); ``--list`` prints
each with its module, line and function.
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "resnet_utils"
# The core as resnet_utils/__init__.py's module table lists it.
CORE = (
    "ops models data step train lr_finder checkpoint metrics explain pretrain runtime "
    "seeds findings finetune bench ddp"
).split()
# Issue 35's list, drawn when finetune, bench and ddp still held their command lines and
# before seeds and findings existed.
ISSUE_CORE = CORE[:11]


def _called(node: ast.Call) -> str:
    f = node.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""


def _is_validation(node: ast.AST) -> bool:
    if isinstance(node, ast.Raise):
        if node.exc is None:
            return False
        exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
        return not (isinstance(exc, ast.Name) and exc.id == "SystemExit")
    if isinstance(node, ast.Call):
        name = _called(node)
        return name == "check" or name.startswith(("check_", "_check"))
    return False


def module_stats(package: Path = PACKAGE) -> dict[str, dict]:
    """Per module (``cli/train``): lines and validation statements (line, function, text)."""
    stats = {}
    for path in sorted(package.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        tree = ast.parse(text)
        spans = [
            (n.lineno, n.end_lineno, n.name)
            for n in ast.walk(tree)
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
        ]
        found = []
        for node in ast.walk(tree):
            if _is_validation(node):
                owner = [name for a, b, name in spans if a <= node.lineno <= b]
                found.append(
                    (node.lineno, owner[-1] if owner else "", lines[node.lineno - 1].strip())
                )
        stats[path.relative_to(package).with_suffix("").as_posix()] = {
            "lines": len(lines),
            "validation": sorted(found),
        }
    return stats


def summary(stats: dict[str, dict]) -> dict[str, float]:
    total = sum(s["lines"] for s in stats.values())
    share = lambda names: 100 * sum(stats[n]["lines"] for n in names if n in stats) / total
    return {
        "lines": total,
        "modules": len(stats),
        "core_share": share(CORE),
        "issue_core_share": share(ISSUE_CORE),
        "validation": sum(len(s["validation"]) for s in stats.values()),
        "train_lines": stats["train"]["lines"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="print every validation statement")
    args = parser.parse_args()
    stats = module_stats()
    for name, s in sorted(stats.items(), key=lambda kv: -kv[1]["lines"]):
        print(f"{name:22s} {s['lines']:5d} lines {len(s['validation']):4d} validation")
        if args.list:
            for line, owner, text in s["validation"]:
                print(f"    {line:4d} {owner:24s} {text[:70]}")
    t = summary(stats)
    print(
        f"{t['lines']} lines in {t['modules']} modules; core {t['core_share']:.1f} % "
        f"(the issue's list: {t['issue_core_share']:.1f} %); validation statements "
        f"{t['validation']}; train.py {t['train_lines']} lines"
    )


if __name__ == "__main__":
    main()
