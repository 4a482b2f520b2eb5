"""Render a ``run.py --json-out`` file as Markdown tables (for ``docs/performance.md``).

Usage: ``python benchmarks/report.py RESULTS.json > section.md``
"""

from __future__ import annotations

import json
import sys
from typing import Any


def _num(v: Any, digits: int) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def render(doc: dict[str, Any]) -> str:
    """Markdown: the run's metadata, one table per case, then the target verdicts."""
    meta = doc["meta"]
    m = meta["machine"]
    orig = meta.get("original", {}).get("version", "not run")
    head = (
        f"Run {meta['date']} — `{meta['command']}` — {m['cpus']} CPUs, {m['mem_gib']} GiB, "
        f"data on {m['fs']}, kernel {m['kernel']}, Python {m['python']}; "
        f"ours {meta['ours'].get('version')}, original {orig}; "
        f"median of {meta['reps']} interleaved repetitions after one warm-up; {meta.get('elapsed_s')} s."
    )
    lines = [head, ""]
    for case, rows in doc["results"].items():
        unit = rows[0]["unit"] if rows else ""
        digits = 1 if unit in ("us/op", "ms") else 2
        lines += [f"**{case}**", "",
                  f"| arm | impl | {unit} | vs ref | vs original | CPU s | minor faults |",
                  "|---|---|---:|---:|---:|---:|---:|"]
        for r in rows:
            if not r["ok"]:
                lines.append(f"| {r['arm']} | {r['impl']} | failed: {r['error'][:80]} | | | | |")
                continue
            lines.append(
                f"| {r['arm']} | {r['impl']} | {_num(r['rate'], digits)} | {_num(r['vs_ref'], 2)} | "
                f"{_num(r['vs_original'], 2)} | {r['cpu_s']:.3f} | {int(r['minflt'])} |"
            )
        lines.append("")
    if doc.get("targets"):
        lines += ["| target | goal | measured | verdict |", "|---|---|---:|---|"]
        for t in doc["targets"]:
            verdict = {True: "met", False: "**missed**", None: "n/a"}[t["met"]]
            lines.append(f"| {t['target']} | {t['goal']} | {t['value']} | {verdict} |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """Print the Markdown rendering of the JSON file named in ``argv[1]``."""
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1]) as fh:
        print(render(json.load(fh)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
