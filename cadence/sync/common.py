"""What every sync shares, whichever source it reads: its report, how a failure settles, and
keeping a record that cannot be normalised.

How a failure in one scope (a project, a repository) settles:

- before anything of the sync was saved, it is the sync's failure: one line, exit 1;
- after pages were saved, it is a partial sync: the line goes to ``SyncReport.errors``, the other
  scopes still run, and the CLI exits 2 (what was saved is kept, the cursor covers it);
- a full disk after pages were saved is partial too, but stops the sync;
- a damaged, locked or read-only warehouse, a rejected token and an interrupt always stop it.

Anything unexpected (a shape no check foresaw) is one line too; its traceback is logged at INFO,
so ``-v`` shows it.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from queue import Empty, Full, Queue
from typing import Any, Callable, Iterable, Iterator

from cadence.errors import CadenceError, DiskFull, Interrupted, PartialSync, SourceError, WarehouseError
from cadence.records import Batch, Problem
from cadence.sources.http import HttpError
from cadence.sources.paging import Anomaly
from cadence.text import SECRETS, one_line

log = SECRETS.guard(logging.getLogger(__name__))


@dataclass
class SyncReport:
    source: str
    scopes: list[str] = field(default_factory=list)
    items: int = 0
    events: int = 0
    sprints: int = 0
    problems: int = 0
    requests: int = 0
    pages: int = 0
    errors: list[str] = field(default_factory=list)  # one line each, no secrets
    sprint_keys: set[str] = field(default_factory=set, repr=False)

    def add(self, batch: Batch) -> None:
        """Count a saved batch; sprints are counted once however many pages name them."""
        self.items += len(batch.items)
        self.events += len(batch.events)
        self.problems += len(batch.problems)
        self.sprint_keys.update(s["sprint_key"] for s in batch.sprints)
        self.sprints = len(self.sprint_keys)
        self.pages += 1

    @property
    def partial(self) -> bool:
        """True when some scope failed after others were saved: the CLI exits 2."""
        return bool(self.errors)

    def saved(self) -> str:
        """What is safely in the warehouse so far, for an interrupted or failed sync's last line."""
        if not (self.items or self.events or self.sprints):
            return "nothing was saved yet"
        return f"{self.items} items, {self.events} events and {self.sprints} sprints were saved"

    def summary(self) -> str:
        text = (
            f"{self.source}: {self.items} items, {self.events} events, {self.sprints} sprints, "
            f"{self.problems} data-quality problems, {self.requests} requests"
        )
        return text + (f"; {len(self.errors)} failed: {self.errors[0]}" if self.errors else "")


def settle(exc: BaseException, report: SyncReport, scope: str, saved: bool,
           describe: Callable[[HttpError], CadenceError]) -> None:
    """Raise ``exc`` as the one-line failure it is, or record it as this scope's partial failure."""
    Interrupted.raise_pending(exc)  # a signal wrapped by DuckDB or a client library stops the sync
    if isinstance(exc, DiskFull):
        if saved:
            raise PartialSync(f"{exc}; {report.saved()}; free some space, then re-run to resume") from None
        raise exc
    if isinstance(exc, WarehouseError) or type(exc).__name__ == "AuthError":
        raise exc
    if isinstance(exc, HttpError):
        error: CadenceError = describe(exc)
    elif isinstance(exc, CadenceError):
        error = exc
    else:
        log.info("%s %s: an unexpected failure", report.source, scope, exc_info=exc)
        error = SourceError(f"{report.source} {scope}: cadence could not read what the server sent "
                            f"({type(exc).__name__}: {one_line(str(exc), 200)}); run with -v for details")
    if not saved:
        raise error from None
    # The CLI prints the partial sync's one line; the log has it with -v.
    log.info("%s %s: %s", report.source, scope, error)
    report.errors.append(f"{scope}: {error}")


def note_anomalies(source: str, anomalies: Iterable[Anomaly], report: SyncReport, scope: str) -> list[Problem]:
    """Data-quality rows for what a source noted; one that stopped a listing early makes the sync partial."""
    problems = []
    for note in anomalies:
        problems.append(Problem(source=source, entity=note.entity, entity_id=note.entity_id, problem=note.problem,
                                detail=note.detail))
        if note.stopped:
            log.info("%s %s: %s", source, scope, note.detail)
            line = f"{scope}: {note.detail}"
            if line not in report.errors:
                report.errors.append(line)
    return problems


# -- records that cannot be normalised --------------------------------------------------------------
def preview(value: Any, depth: int = 40, chars: int = 100_000) -> str:
    """``value`` as JSON text, with anything nested deeper than ``depth`` elided, cut to ``chars``."""
    def cut(v: Any, level: int) -> Any:
        if isinstance(v, dict):
            return {str(k): cut(x, level + 1) for k, x in v.items()} if level < depth else "{…}"
        if isinstance(v, list):
            return [cut(x, level + 1) for x in v] if level < depth else "[…]"
        return v if isinstance(v, (str, int, float, bool)) or v is None else str(v)

    return json.dumps(cut(value, 0), default=str, ensure_ascii=False)[:chars]


def unreadable(source: str, entity: str, entity_id: str, payload: Any, reason: str, fetched_at: Any) -> Batch:
    """A record kept raw (as far as it can be) and counted, when nothing else of it can be used."""
    kept = payload if isinstance(payload, dict) and "text" in payload else {"text": preview(payload)}
    return Batch(
        raw=[{"source": source, "entity": entity, "entity_id": entity_id, "fetched_at": fetched_at,
              "payload": {**kept, "unreadable": one_line(reason, 300)}}],
        problems=[Problem(source=source, entity=entity, entity_id=entity_id, problem="unreadable_record",
                          detail=one_line(reason, 300))],
    )


def isolated(normalize: Callable[[list[Any]], Batch], records: list[Any],
             on_bad: Callable[[Any, BaseException], Batch]) -> Batch:
    """``normalize(records)``; when it fails (RecursionError on 490 levels of nesting, a bug), the
    page is split in halves until the one record that fails is alone, and ``on_bad`` keeps it."""
    try:
        return normalize(records)
    except Exception as exc:  # any failure of one record must not stop the page
        if len(records) == 1:
            log.info("a record could not be normalised", exc_info=exc)
            return on_bad(records[0], exc)
    batch = Batch()
    middle = len(records) // 2
    for half in (records[:middle], records[middle:]):
        batch.extend(isolated(normalize, half, on_bad))
    return batch


# -- fetching ahead -----------------------------------------------------------------------------------
def prefetched(pages: Iterator[list[dict[str, Any]]], on_wait: Callable[[], None] = lambda: None,
               wait_s: float = 1.0, at_least: int = 0) -> Iterator[list[dict[str, Any]]]:
    """The same records, with the next page fetched while this one is normalised and saved.

    At most one page waits, so memory stays bounded. An error while fetching is raised here, in order.
    ``on_wait`` runs when the next page is ``wait_s`` late (slow server, rate-limit sleep): the sync
    then lets go of the database file so that readers are not locked out while it waits.

    Pages smaller than ``at_least`` records are joined with the pages that follow within ``wait_s``:
    each save is a transaction with a fixed cost (when Jira sent 50-issue pages, saving them two at
    a time cut a 5,000-issue sync from ~9 to ~7 CPU-seconds; Jira may send fewer than asked for).
    A held page is handed over before a late page is waited for and before a fetch error is raised,
    so what was fetched is saved as soon as the server is slow.
    """
    ready: Queue[Any] = Queue(maxsize=1)
    stop = threading.Event()

    def pump() -> None:
        try:
            for page in pages:
                while not stop.is_set():
                    try:
                        ready.put(page, timeout=0.1)
                        break
                    except Full:
                        continue
                if stop.is_set():
                    return
            ready.put(_END)
        except BaseException as exc:  # handed to the consumer, which raises it
            ready.put(exc)

    worker = threading.Thread(target=pump, name="jira-prefetch", daemon=True)
    worker.start()
    held: list[dict[str, Any]] = []
    late = False
    try:
        while True:
            if held:
                try:
                    page = ready.get(timeout=wait_s)
                except Empty:  # the next page is late: save what is held, then wait as usual
                    yield held
                    held, late = [], True
                    continue
            else:
                page, late = _next(ready, on_wait, 0 if late else wait_s), False
            if page is _END:
                break
            if isinstance(page, BaseException):
                if held:
                    yield held
                raise page
            held += page
            if len(held) >= at_least:
                yield held
                held = []
        if held:
            yield held
    finally:
        stop.set()
        worker.join(timeout=1)  # a request in flight is abandoned: the source's client closes under it


_END = object()


def _next(ready: Queue[Any], on_wait: Callable[[], None], wait_s: float) -> Any:
    try:
        return ready.get(timeout=wait_s)
    except Empty:
        on_wait()
        return ready.get()
