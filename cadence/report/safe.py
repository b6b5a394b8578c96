"""Tracker text made safe for what we render: report and slide text, and the report's CSV files.

- **Bidirectional overrides** (U+202A-U+202E, U+2066-U+2069) are removed from rendered text, so
  that "\u202eecilA" shows as what it is and not as "Alice" (Trojan Source, CVE-2021-42574). Other
  control characters (C0 except tab and newline, DEL, C1) are removed too: they draw nothing and can
  confuse a terminal or a slide renderer.
- **CSV cells** that a spreadsheet would read as a formula (OWASP, "CSV Injection"; ASVS 5.0
  1.2.10): a text cell whose first character, after any spaces, is ``=``, ``+``, ``-``, ``@``, a
  tab, a carriage return, a line feed or NUL (or the full-width ``＝＋－＠``) is prefixed with a single
  quote, which spreadsheets take as "this is text". Numbers and times are not text cells and are
  written as they are, so a negative late close stays a number.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

_BIDI = "\u202a-\u202e\u2066-\u2069"
_INVISIBLE = re.compile(f"[{_BIDI}\x00-\x08\x0b-\x1f\x7f-\x9f]")
_FORMULA_START = tuple("=+-@\t\r\n\x00\uff1d\uff0b\uff0d\uff20")


def neutralise(text: str) -> str:
    """``text`` without bidirectional overrides and control characters (tab and newline stay)."""
    return _INVISIBLE.sub("", text)


def neutralise_value(value: Any) -> Any:
    return neutralise(value) if isinstance(value, str) else value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every text cell neutralised (other cells as they are)."""
    text = [c for c in frame.columns if frame[c].dtype == object]
    if not text or frame.empty:
        return frame
    return frame.assign(**{c: frame[c].map(neutralise_value) for c in text})


def csv_cell(value: Any) -> Any:
    """A text cell guarded against formula injection; any other value unchanged."""
    if isinstance(value, str) and value.lstrip(" ").startswith(_FORMULA_START):
        return "'" + value
    return value


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """``frame`` as CSV with every text cell neutralised and guarded (lists and dicts are written as text)."""
    text = [c for c in frame.columns if frame[c].dtype == object]
    safe = frame.assign(**{c: frame[c].map(lambda v: csv_cell(neutralise_value(v))) for c in text})
    safe.to_csv(path, index=False)
