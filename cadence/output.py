"""Turning frames into text for the terminal: table, CSV or JSON.

The table is for people: the documented columns only (``--all-columns`` for the rest), numbers
rounded, times to the minute, wrapped to the terminal's width. CSV and JSON are for programs:
every column, unrounded, times as ISO-8601 UTC. Text from the tracker never reaches the terminal
with escape sequences, control or bidirectional characters (JSON escapes them as ``\\u`` codes).
"""

from __future__ import annotations

import shutil
from datetime import datetime
from typing import Any

import pandas as pd

from cadence.metrics.compare import COMPARE_COLUMNS
from cadence.metrics.sprint_report import PRODUCT_COLUMNS
from cadence.text import one_line, strip_controls

# The documented columns of each table (PRODUCT.md, docs/frames.md).
TABLE_COLUMNS = {
    "sprint": PRODUCT_COLUMNS,
    "cadence": [c for c in COMPARE_COLUMNS if c not in ("cadence_weeks", "small_sample", "sample")],
    "week": None,  # every column of by_week is documented
}
DIGITS = 2


def _iso(frame: pd.DataFrame, fmt: str = "%Y-%m-%dT%H:%M:%SZ") -> pd.DataFrame:
    """Times as ISO-8601 UTC strings (``2024-03-04T09:30:00Z``), empty where missing."""
    frame = frame.copy()
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(frame[column]):
            values = pd.to_datetime(frame[column], utc=True)
            frame[column] = values.dt.strftime(fmt).where(values.notna(), None)
    return frame


def _table(frame: pd.DataFrame, by: str | None, all_columns: bool) -> str:
    columns = None if all_columns or by is None else TABLE_COLUMNS.get(by)
    if columns is not None:
        frame = frame[[c for c in columns if c in frame.columns]]
    frame = _iso(frame, "%Y-%m-%d %H:%MZ")
    shown = {}
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_float_dtype(values):
            shown[column] = values.map(lambda v: "" if pd.isna(v) else f"{v:,.{DIGITS}f}")
        else:
            # a name from the tracker could hold escape sequences or newlines: one plain line per cell
            shown[column] = values.astype(object).map(
                lambda v: "" if v is None or v is pd.NA or v != v else one_line(str(v)))
    width = shutil.get_terminal_size((120, 24)).columns  # $COLUMNS, the terminal, else 120
    return pd.DataFrame(shown).to_string(index=False, line_width=width) + "\n"


def format_frame(frame: pd.DataFrame, fmt: str, by: str | None = None, all_columns: bool = False) -> str:
    """Render ``frame`` as ``table`` (for people), ``csv`` or ``json`` (records, one per row)."""
    if fmt == "table":
        return "" if frame.empty else _table(frame, by, all_columns)
    frame = _iso(frame)
    if fmt == "csv":  # quoted by the CSV writer; only what a terminal would act on is removed
        text = frame.select_dtypes(include="object").columns
        frame[text] = frame[text].apply(lambda c: c.map(lambda v: strip_controls(v) if isinstance(v, str) else v))
        return frame.to_csv(index=False)
    return "[]\n" if frame.empty else frame.to_json(orient="records", indent=1) + "\n"


def nothing_to_show(frame: pd.DataFrame, by: str) -> bool:
    """No rows, or (per sprint) only sprints that had not started yet at the as-of time."""
    return frame.empty or (by == "sprint" and "state" in frame and bool((frame["state"] == "future").all()))


def explain_empty(wh: Any, by: str, as_of: datetime | None) -> str:
    """Why ``cadence metrics`` has nothing to show: an empty warehouse, or an as-of time before its first sprint."""
    first = wh.query("SELECT count(*) AS n, min(coalesce(actual_start, planned_start)) AS first FROM sprints")
    n, start = int(first["n"].iloc[0]), first["first"].iloc[0]
    when = "now" if as_of is None else pd.Timestamp(as_of).strftime("%Y-%m-%d %H:%M") + " UTC"
    if n == 0:
        return f"no sprints in {wh.path}: sync or import first (cadence sync ..., cadence import PATH)"
    first_start = pd.Timestamp(start).strftime("%Y-%m-%d")
    if by == "cadence":
        return (f"no closed sprint as of {when}, so no cadence to compare; {n:,} sprints, the first "
                f"starting {first_start}")
    what = "sprint had started" if by == "sprint" else "item or event falls in a week"
    return f"no {what} as of {when}; the warehouse's {n:,} sprints start from {first_start} (try a later --as-of)"
