"""Pagination that always ends, and notes of what a server said that did not add up.

A hostile or broken server can page for ever: a Jira ``nextPageToken`` or a GitHub ``endCursor``
that comes back again, or pages that bring only records already seen. ``Pages`` watches one
listing and stops it; ``total`` figures that disagree with what the pages brought are noted but
never trusted over ``isLast``/``nextPageToken`` (Jira's ``total`` is an estimate that may be lower
than the truth). Each note is an ``Anomaly``: the sync saves it as a data-quality row, and one
that stopped a listing early makes the sync partial (exit 2).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Iterable

from cadence.text import one_line

# Problems, as data-quality rows name them.
REPEATED_CURSOR = "repeated_cursor"
NOTHING_NEW = "page_brought_nothing_new"
TOTAL_DISAGREES = "total_disagrees"
PAGING_DISAGREES = "paging_disagrees"
UNREADABLE = "unreadable_record"
MALFORMED = "malformed_entry"


@dataclass(frozen=True)
class Anomaly:
    """A data-quality note from a source. ``stopped``: a listing ended early because of it."""

    entity: str
    entity_id: str
    problem: str
    detail: str
    stopped: bool = False


@dataclass
class Notes:
    """Anomalies collected while fetching; thread-safe, drained by the sync."""

    found: list[Anomaly] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, entity: str, entity_id: Any, problem: str, detail: str, stopped: bool = False) -> None:
        with self._lock:
            self.found.append(Anomaly(entity, one_line(str(entity_id), 200), problem, one_line(detail, 300), stopped))

    def take(self) -> list[Anomaly]:
        with self._lock:
            taken, self.found = self.found, []
        return taken


class Pages:
    """Watches the pages of one listing; ``page(...)`` is False when the listing must stop."""

    def __init__(self, notes: Notes, entity: str, entity_id: Any) -> None:
        self.notes, self.entity, self.entity_id = notes, entity, entity_id
        self.cursors: set[str] = set()
        self.ids: set[str] = set()
        self.count = 0

    def page(self, ids: Iterable[Any], cursor: Any = None, more: bool = True) -> bool:
        """Record one page (its record ids, and the cursor it hands on); False: stop here."""
        ids = [str(i) for i in ids]
        fresh = [i for i in ids if i not in self.ids]
        self.ids.update(ids)
        self.count += 1
        if not more:
            return False
        if cursor is not None and str(cursor) in self.cursors:
            self._stop(REPEATED_CURSOR, f"the server handed the cursor {str(cursor)[:60]!r} again after "
                                        f"{self.count} pages; stopped there, what was read is saved")
            return False
        if not fresh:
            what = "an empty page" if not ids else f"a page of {len(ids)} records all seen before"
            self._stop(NOTHING_NEW, f"page {self.count} was {what} although more was promised; stopped there")
            return False
        if cursor is not None:
            self.cursors.add(str(cursor))
        return True

    def _stop(self, problem: str, detail: str) -> None:
        self.notes.add(self.entity, self.entity_id, problem, detail, stopped=True)


def count(value: Any) -> int | None:
    """A count a server sent (``total``, ``maxResults``) as an int, or None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def offset_more(data: dict[str, Any], got: int, asked: int, seen: int) -> bool:
    """Whether an offset-paged listing (``startAt``) has another page after one of ``got`` entries.

    ``isLast`` wins when the server sends it. Otherwise a full page means there may be more even
    when ``total`` says otherwise, and a short one ends the listing unless ``total`` says more remain:
    either signal is enough to ask once more, and an empty page always ends it.
    """
    if got == 0:
        return False
    if isinstance(data.get("isLast"), bool):
        return not data["isLast"]
    size = count(data.get("maxResults")) or asked
    total = count(data.get("total"))
    return got >= size or (total is not None and seen < total)


def note_total(notes: Notes, entity: str, entity_id: Any, total: Any, seen: int) -> None:
    """Note when the ``total`` a server announced is not what its pages brought."""
    announced = count(total)
    if announced is not None and announced != seen:
        notes.add(entity, entity_id, TOTAL_DISAGREES,
                  f"the server's total said {announced:,}, its pages brought {seen:,}; the pages were trusted")
