"""Escaped HTML for report tables and text. Every value from a tracker is untrusted.

Tables go into the document as raw HTML blocks (not pandoc markdown), so that a title such as
``<script>`` or ``*bold*`` stays text whichever renderer reads the source. Every escaped value is
neutralised first (bidirectional overrides and control characters removed: ``cadence.report.safe``).
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

import pandas as pd

from cadence.report.safe import neutralise

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


@dataclass(frozen=True)
class Column:
    """One table column: the frame column, its header, and how to show a value."""

    field: str
    header: str
    fmt: Callable[[Any], str] = lambda v: "" if _missing(v) else str(v)
    link: str | None = None  # frame column holding a URL for this cell


class Scrubber:
    """Hides people (names, e-mails, account ids) in free text unless the report shows people."""

    def __init__(self, people: Iterable[str], show_people: bool) -> None:
        self.show_people = show_people
        names = sorted({p for p in people if isinstance(p, str) and len(p.strip()) >= 3}, key=len, reverse=True)
        # Whole words only, any case: "sam" is hidden in "ask Sam" but "sample" stays.
        pattern = r"\b(?:" + "|".join(re.escape(n) for n in names) + r")\b"
        self._names = re.compile(pattern, re.IGNORECASE) if names else None

    def __call__(self, text: Any) -> str:
        value = "" if _missing(text) else str(text)
        if self.show_people:
            return value
        value = _EMAIL.sub("[e-mail hidden]", value)
        return self._names.sub("[person]", value) if self._names else value


def _missing(value: Any) -> bool:
    if value is None or value is pd.NaT:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def esc(value: Any) -> str:
    """HTML-escape any value (bidirectional overrides removed); missing values become an empty string."""
    return "" if _missing(value) else html.escape(neutralise(str(value)), quote=True)


_LONG_WORD = re.compile(r"(\S{40,})")
WORD_PIECE = 20  # a word of 40+ characters gets a line-break opportunity every 20


def esc_text(value: Any) -> str:
    """Escaped text for the page, where a very long word may break (``<wbr>``) instead of widening its table."""
    if _missing(value):
        return ""
    parts = _LONG_WORD.split(neutralise(str(value)))
    out = []
    for i, part in enumerate(parts):
        pieces = [part[j : j + WORD_PIECE] for j in range(0, len(part), WORD_PIECE)] if i % 2 else [part]
        out.append("<wbr>".join(html.escape(piece, quote=True) for piece in pieces))
    return "".join(out)


def safe_url(url: Any) -> str | None:
    """The URL if it is http(s), else None: a ``javascript:`` link from a tracker is never a link."""
    if _missing(url):
        return None
    text = str(url).strip()
    return text if re.match(r"(?i)^https?://", text) else None


def link(text: Any, url: Any) -> str:
    target = safe_url(url)
    if target is None:
        return esc_text(text)
    return f'<a href="{esc(target)}" rel="noopener noreferrer">{esc_text(text)}</a>'


def fmt_number(digits: int = 1) -> Callable[[Any], str]:
    return lambda v: "" if _missing(v) else f"{float(v):,.{digits}f}"


def fmt_percent(v: Any) -> str:
    return "" if _missing(v) or (isinstance(v, float) and math.isinf(v)) else f"{float(v):.0%}"


def fmt_time(v: Any) -> str:
    if _missing(v):
        return ""
    stamp = pd.Timestamp(v)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.strftime("%Y-%m-%d %H:%M UTC")


def fmt_date(v: Any) -> str:
    return fmt_time(v)[:10]


def cells(frame: pd.DataFrame, columns: Sequence[Column], scrub: Callable[[Any], str] = str) -> list[list[str]]:
    """Each row's cells as HTML: formatted, scrubbed of people, then escaped (or made a safe link)."""
    rows = []
    for row in frame.to_dict(orient="records"):
        texts = [(scrub(c.fmt(row.get(c.field))), c) for c in columns]
        rows.append([link(text, row.get(c.link)) if c.link else esc_text(text) for text, c in texts])
    return rows


def table(frame: pd.DataFrame, columns: Sequence[Column], scrub: Callable[[Any], str] = str, css: str = "") -> str:
    """An HTML table of ``frame``; every cell is formatted, scrubbed of people, then escaped."""
    if frame.empty:
        return '<p class="empty">None.</p>'
    head = "".join(f"<th>{esc(c.header)}</th>" for c in columns)
    body = ["<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in cells(frame, columns, scrub)]
    return (f'<div class="table-wrap"><table class="{esc(css)}"><thead><tr>{head}</tr></thead><tbody>\n'
            + "\n".join(body) + "\n</tbody></table></div>")


def raw_block(markup: str) -> str:
    """A raw HTML block that both Quarto and pandoc pass through untouched."""
    return "```{=html}\n" + markup.replace("```", "&#96;&#96;&#96;") + "\n```\n"
