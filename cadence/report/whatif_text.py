"""The what-if frame as words: labels, "estimate [low, high]" cells and the terminal table."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

DIGITS = {"hours": 1, "share": 2, "carries per item": 2, "per week": 2}


def number(value: Any, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{float(value):,.{DIGITS.get(unit, 2)}f}"


def interval(row: dict, estimate: str, low: str, high: str) -> str:
    """``"12.3 [10.1, 15.0]"``, with n/a for what cannot be estimated."""
    unit = row.get("unit", "")
    return f"{number(row[estimate], unit)} [{number(row[low], unit)}, {number(row[high], unit)}]"


def headline(frame: pd.DataFrame) -> str:
    first = frame.iloc[0]
    return (f"What if {first['team']} ran {int(first['weeks'])}-week sprints? Grid: {first['grid']}; "
            f"phase: {first['phase']}.")


def whatif_table(frame: pd.DataFrame) -> str:
    """A readable table of a ``what_if`` frame, its mechanisms, and the "not modelled" line."""
    if frame.empty:
        return "Nothing to re-time: the team has no started items in its sprints' period."
    rows = frame.to_dict(orient="records")
    weeks = int(rows[0]["weeks"])
    table = pd.DataFrame({
        "metric": [r["label"] for r in rows],
        "actual [95% CI]": [interval(r, "actual", "actual_ci_low", "actual_ci_high") for r in rows],
        f"on a {weeks}-week grid [95% CI]": [interval(r, "predicted", "ci_low", "ci_high") for r in rows],
        "better": [r["better"] for r in rows],
        "n": [f"{r['n_actual']:.0f}" for r in rows],
        "note": [r["warning"] for r in rows],
    })
    lines = [headline(frame),
             "Only what follows from the calendar is re-timed; everything people did keeps its real time.", "",
             table.to_string(index=False), "", "How each figure is re-timed, and what it assumes:"]
    lines += [f"  {r['label']}: {r['mechanism']}; assumes {r['assumption']}." for r in rows]
    lines += ["", f"Not modelled: {rows[0]['not_modelled']}.",
              "n: items (sprints, for the learning figures) behind the actual figure."]
    return "\n".join(lines)
