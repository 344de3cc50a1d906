"""Put the reports of two or more `run_notebooks.py` runs side by side (`make timings`).

    python tools/timings_report.py _build/timings.json _build/timings-fp32.json

Prints a Markdown table, one column per run headed by the precision it trained in and its
budgets, and writes it to _build/timings-all.md. A run that is missing is named, not skipped.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def table(reports: list[dict]) -> str:
    """The Markdown table of ``reports`` (each a run_notebooks JSON report)."""
    heads = []
    for r in reports:
        b = r["budgets"]
        limits = f"≤ {b['notebook']:g} / {b['total']:g} s" if b.get("notebook") else "no budget"
        calibration = b.get("calibration_step_ms")
        if calibration is not None:  # how fast the machine ran, against the promise's reference
            ref = b.get("reference_step_ms")
            limits += f", calibration {calibration:g} ms" + (f" / {ref:g}" if ref else "")
        heads.append(f"{r.get('precision', '?')} ({limits})")
    names = [n["notebook"] for n in reports[0]["notebooks"]]
    rows = ["| notebook | " + " | ".join(heads) + " |", "|---|" + "---:|" * len(reports)]
    for name in names:
        cells = []
        for r in reports:
            row = next((n for n in r["notebooks"] if n["notebook"] == name), None)
            if row is None:
                cells.append("–")
            else:
                over = r["budgets"].get("notebook") and row["seconds"] > r["budgets"]["notebook"]
                cells.append(
                    f"{row['seconds']:.1f}"
                    + (" (over)" if over else "")
                    + ("" if row["ok"] else " FAILED")
                )
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    totals = []
    for r in reports:
        over = r["budgets"].get("total") and r["total_seconds"] > r["budgets"]["total"]
        totals.append(f"**{r['total_seconds']:.1f}**" + (" (over)" if over else ""))
    rows.append("| **total** | " + " | ".join(totals) + " |")
    return "\n".join(rows) + "\n"


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: timings_report.py REPORT.json [REPORT.json ...]", file=sys.stderr)
        return 2
    missing = [p for p in argv if not Path(p).exists()]
    if missing:
        print(f"timings_report.py: no such report: {', '.join(missing)}", file=sys.stderr)
        return 1
    reports = [json.loads(Path(p).read_text()) for p in argv]
    text = table(reports)
    machine = reports[0].get("machine", "")
    print(f"\n{machine}\n\n{text}")
    out = ROOT / "_build" / "timings-all.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
