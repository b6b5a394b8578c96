"""Turning frames into text for the terminal: table, CSV or JSON."""

from __future__ import annotations

import pandas as pd


def _iso(frame: pd.DataFrame) -> pd.DataFrame:
    """Times as ISO-8601 UTC strings (``2024-03-04T09:30:00Z``), empty where missing."""
    frame = frame.copy()
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(frame[column]):
            values = pd.to_datetime(frame[column], utc=True)
            frame[column] = values.dt.strftime("%Y-%m-%dT%H:%M:%SZ").where(values.notna(), None)
    return frame


def format_frame(frame: pd.DataFrame, fmt: str) -> str:
    """Render ``frame`` as ``table`` (for people), ``csv`` or ``json`` (records, one per row)."""
    frame = _iso(frame)
    if fmt == "csv":
        return frame.to_csv(index=False)
    if fmt == "json":
        return frame.to_json(orient="records", indent=1) + "\n"
    with pd.option_context("display.max_rows", 500, "display.max_columns", 30, "display.width", 200):
        return frame.to_string(index=False, na_rep="") + "\n"
