"""The torch versions the book declares, tested: ``make compat``.

``pyproject.toml`` declares a floor (``torch>=2.4``, ``torchvision>=0.19``);
``requirements.txt`` pins the versions the book is built with. Learners have
neither for sure (Colab and Kaggle ship their runtime's torch), so for each
pair below this builds a virtual environment, ``.venv-compat-<torch>``, with
that torch and torchvision and the rest of ``requirements.txt``, installs the
package from the checkout, and runs there

- the fast unit tests (``pytest -m "not slow"``), and
- every chapter in a fresh kernel (``tools/run_notebooks.py``, no budget:
  another torch may be slower; the timings of the pin are ``make timings``').

The pairs: the floor that ``pyproject.toml`` declares, and the newest pair
pip can install where it is newer than the pin (a torch release without its
torchvision is not a pair: torchvision pins the torch it was built for).
The result goes to ``_build/compat.json`` and, as the "verified with" table,
to ``book/_verified_with.md``, which the README and the preface show. A pair
that fails fails the command, after the table is written.

    python tools/compat.py                 # the floor and the newest pair
    python tools/compat.py --only floor    # just the floor
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "book" / "_verified_with.md"
README = ROOT / "README.md"
START, END = "<!-- verified-with:start -->", "<!-- verified-with:end -->"
NOTEBOOKS = sorted(
    str(p.relative_to(ROOT)) for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")
)


def declared_floor() -> tuple[str, str]:
    text = (ROOT / "pyproject.toml").read_text()
    torch = re.search(r'"torch>=([\d.]+)"', text).group(1)
    vision = re.search(r'"torchvision>=([\d.]+)"', text).group(1)
    # the floor's patch release: the newest of that minor, as pip would pick it
    return {"2.4": ("2.4.1", "0.19.1")}.get(torch, (torch, vision))


def pinned() -> tuple[str, str]:
    text = (ROOT / "requirements.txt").read_text()
    return (
        re.search(r"^torch==([\d.]+)", text, re.M).group(1),
        re.search(r"^torchvision==([\d.]+)", text, re.M).group(1),
    )


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", version)[:3])


def newest_pair(python: str, pin_vision: str) -> tuple[tuple[str, str] | None, str]:
    """The newest torchvision pip will install here, newer than the pin, and its torch.

    Returns ``(pair or None, what was found)``. A version the index lists but
    pip refuses (a constraint, no wheel for this Python) is skipped and said.
    """
    out = subprocess.run(
        [python, "-m", "pip", "index", "versions", "torchvision"],
        capture_output=True,
        text=True,
    )
    match = re.search(r"Available versions: ([\d., ]+)", out.stdout)
    if not match:
        return None, "could not ask the index for torchvision's versions"
    versions = [v.strip() for v in match.group(1).split(",") if v.strip()]
    refused = []
    for vision in sorted(versions, key=_key, reverse=True):
        if _key(vision) <= _key(pin_vision):
            break
        report = subprocess.run(
            [
                python,
                "-m",
                "pip",
                "install",
                "--dry-run",
                "--quiet",
                "--no-deps",
                "--report",
                "-",
                f"torchvision=={vision}",
            ],
            capture_output=True,
            text=True,
        )
        try:
            metadata = json.loads(report.stdout)["install"][0]["metadata"]
        except (json.JSONDecodeError, KeyError, IndexError):
            reason = [line for line in report.stderr.splitlines() if "requested" in line]
            refused.append(f"{vision} ({reason[-1].strip() if reason else 'not installable'})")
            continue
        requires = metadata.get("requires_dist") or []
        torch = next((m for r in requires if (m := re.match(r"torch\s*==\s*([\d.]+)", r))), None)
        if torch:
            return (torch.group(1), vision), f"torchvision {vision} needs torch {torch.group(1)}"
    note = f"no torchvision newer than the pin's {pin_vision} installs here"
    if refused:
        note += "; listed but refused: " + ", ".join(refused)
    return None, note


def run(cmd: list[str], log: Path, env: dict | None = None) -> tuple[int, float]:
    t0 = time.perf_counter()
    with log.open("a") as f:
        f.write("$ " + " ".join(cmd) + "\n")
        f.flush()
        rc = subprocess.run(cmd, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT, env=env).returncode
    return rc, time.perf_counter() - t0


def check_pair(torch: str, vision: str, log: Path) -> dict:
    venv = ROOT / f".venv-compat-{torch}"
    python = str(venv / "bin" / "python")
    result = {"torch": torch, "torchvision": vision, "python": platform.python_version()}
    if not (venv / "bin" / "python").exists():
        run([sys.executable, "-m", "venv", str(venv)], log)
    requirements = (ROOT / "requirements.txt").read_text()
    requirements = re.sub(r"^torch==.*$", f"torch=={torch}", requirements, flags=re.M)
    requirements = re.sub(r"^torchvision==.*$", f"torchvision=={vision}", requirements, flags=re.M)
    requirements = re.sub(r"^-e .*$", "", requirements, flags=re.M)
    req = venv / "requirements-compat.txt"
    req.write_text(requirements)
    rc, seconds = run([python, "-m", "pip", "install", "-q", "-r", str(req)], log)
    if rc == 0:
        rc, s2 = run([python, "-m", "pip", "install", "-q", "--no-deps", "-e", str(ROOT)], log)
        seconds += s2
    result["install_seconds"] = round(seconds)
    if rc != 0:
        result.update(ok=False, failed="install")
        return result
    env = dict(os.environ, OMP_NUM_THREADS="1")
    rc, seconds = run(
        [
            python,
            "-m",
            "pytest",
            "tests",
            "-q",
            "-m",
            "not slow",
            "-n",
            "2",
            "-p",
            "no:cacheprovider",
        ],
        log,
        env,
    )
    result.update(unit_tests="passed" if rc == 0 else "failed", unit_seconds=round(seconds))
    out = ROOT / "_build" / f"compat-{torch}"
    rc2, seconds = run(
        [
            python,
            "tools/run_notebooks.py",
            "--no-student",
            "--no-cache",
            "--slowest",
            "0",
            "--out",
            str(out),
            *NOTEBOOKS,
        ],
        log,
    )
    chapters = {}
    if out.with_suffix(".json").exists():
        data = json.loads(out.with_suffix(".json").read_text())
        for row in data.get("notebooks", []):
            chapters[row["notebook"][:2]] = bool(row.get("ok"))
    result.update(
        chapters_ok=sum(bool(v) for v in chapters.values()) if chapters else None,
        chapters=len(NOTEBOOKS),
        notebook_seconds=round(seconds),
    )
    result["ok"] = rc == 0 and rc2 == 0
    return result


def write_table(results: list[dict], note: str = "") -> None:
    today = datetime.date.today().isoformat()
    lines = [
        "| torch | torchvision | Python | checked | unit tests | chapters run |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        chapters = r.get("chapters_text") or (
            f"{r['chapters_ok']} of {r['chapters']}" if r.get("chapters_ok") is not None else "-"
        )
        lines.append(
            f"| {r['torch']}{' (pinned)' if r.get('pinned') else ''} | {r['torchvision']} | "
            f"{r['python']} | {today} | {r.get('unit_tests', r.get('failed', '-'))} | {chapters} |"
        )
    table = "\n".join(lines) + "\n"
    if note:
        table += f"\nNewest pair: {note}.\n"
    TABLE.write_text("<!-- written by tools/compat.py (make compat): do not edit -->\n\n" + table)
    text = README.read_text()
    if START in text and END in text:
        head, rest = text.split(START, 1)
        _, tail = rest.split(END, 1)
        README.write_text(head + START + "\n" + table + END + tail)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", choices=["floor", "newest"], help="check one pair only")
    args = p.parse_args(argv)
    (ROOT / "_build").mkdir(exist_ok=True)
    log = ROOT / "_build" / "compat.log"
    log.write_text("")
    pairs = []
    if args.only in (None, "floor"):
        pairs.append(declared_floor())
    pin = pinned()
    newest_note = ""
    if args.only in (None, "newest"):
        newest, newest_note = newest_pair(sys.executable, pin[1])
        print(f"compat: newest pair: {newest_note}")
        if newest is not None and _key(newest[0]) > _key(pin[0]):
            pairs.append(newest)
        else:
            newest_note = f"the newest installable pair is the pin ({newest_note})"
    results = []
    for torch, vision in pairs:
        print(f"compat: torch {torch} + torchvision {vision} ...", flush=True)
        r = check_pair(torch, vision, log)
        print(f"compat: {json.dumps(r)}", flush=True)
        results.append(r)
    # the pin itself: what make test verified in .venv
    pinned_row = {
        "torch": pin[0],
        "torchvision": pin[1],
        "python": platform.python_version(),
        "unit_tests": "`make test`",
        "chapters_text": "`make test`",
        "pinned": True,
    }
    write_table([pinned_row] + results, newest_note)
    (ROOT / "_build" / "compat.json").write_text(json.dumps(results, indent=1) + "\n")
    failed = [r for r in results if not r.get("ok")]
    for r in failed:
        print(f"compat: torch {r['torch']} failed; see _build/compat.log", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
