"""``cadence nightly``: sync every configured source, then render the report and due slides.

Made to run unattended from cron:

- **One run at a time.** An exclusive ``flock`` on ``<db>.nightly.lock``. The kernel drops the lock
  when the process dies, however it dies, so a crashed run never leaves it stuck.
- **One failed source does not stop the others.** Its error is recorded, the report shows it, and the
  run exits 2.
- **The last good report is never replaced by a broken one.** Outputs render into a hidden folder, which
  is renamed to its dated name only once complete; then the ``latest`` link is swapped atomically (a copy
  where the file system has no symlinks).
- **A run history** (start, end, per-source counts, requests, errors) is kept in the ``runs`` table, and
  the report's data-quality section shows it. A run stopped by SIGINT or SIGTERM records itself as
  ``interrupted``; one killed outright (SIGKILL, a power cut) is found by the next run, which holds
  the lock so no other run can be live: its row, still without an end time, becomes ``interrupted``,
  and the hidden folders it left (``.staging-*``, ``.latest-*``) are removed.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import time
import uuid
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from cadence.config import Config
from cadence.errors import CadenceError, Interrupted
from cadence.progress import Progress, silent
from cadence.text import SECRETS, one_line
from cadence.api import Warehouse
from cadence.warehouse import connect

log = SECRETS.guard(logging.getLogger(__name__))


@dataclass
class SourceOutcome:
    kind: str
    scope: str
    ok: bool
    items: int = 0
    events: int = 0
    requests: int = 0
    seconds: float = 0.0
    error: str | None = None


@dataclass
class NightlyResult:
    run_id: str
    status: str  # ok | partial | failed
    folder: Path | None
    latest: Path
    sources: list[SourceOutcome] = field(default_factory=list)
    slides: list[Path] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 0 if self.status == "ok" else 2

    def describe(self) -> str:
        lines = [f"nightly run {self.run_id}: {self.status}"]
        for s in self.sources:
            state = "ok" if s.ok else f"FAILED: {s.error}"
            lines.append(f"  {s.kind} {s.scope}: {s.items} items, {s.events} events, {s.requests} requests, {state}")
        lines.append(f"report: {self.latest / 'report' / 'report.html'}")
        lines += [f"slides: {p}" for p in self.slides]
        return "\n".join(lines)


@contextmanager
def run_lock(db_path: Path) -> Iterator[None]:
    """Hold the nightly lock for ``db_path``, or fail at once naming the process that holds it."""
    path = Path(f"{db_path}.nightly.lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise CadenceError(f"another nightly run ({holder}) is still running on {db_path}; try again later") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        yield
    finally:
        handle.close()


def _scope(source: Mapping[str, Any]) -> str:
    parts = source.get("projects") or source.get("repos") or [source.get("jql") or source.get("url", "")]
    return ",".join(str(p) for p in parts)


def _sync_one(source: Mapping[str, Any], db_path: Path, config: Config, progress: Progress,
              env: Mapping[str, str]):
    if source["kind"] == "jira":
        from cadence.sync.jira import sync_jira

        return sync_jira(db_path, source["url"], list(source.get("projects", [])), source.get("jql"),
                         [int(b) for b in source.get("boards", [])], False, config, progress=progress, env=env)
    from cadence.sync.github import sync_github

    return sync_github(db_path, list(source.get("repos", [])), list(source.get("projects", [])),
                       source.get("api_url", "https://api.github.com"), False, config, progress=progress, env=env)


def sync_sources(db_path: Path, config: Config, progress: Progress = silent,
                 env: Mapping[str, str] = os.environ, sync: Callable = _sync_one) -> list[SourceOutcome]:
    """Sync each configured source in turn; a failure is recorded and the next source still runs."""
    outcomes = []
    for source in config.sources:
        started = time.monotonic()
        outcome = SourceOutcome(source["kind"], _scope(source), ok=True)
        try:
            report = sync(source, db_path, config, progress, env)
            outcome.items, outcome.events, outcome.requests = report.items, report.events, report.requests
            if report.errors:
                outcome.ok, outcome.error = False, report.errors[0]
        except Exception as exc:  # one source's failure, whatever it is, must not stop the others
            outcome.ok = False
            outcome.error = _line(exc)
            log.warning("%s %s failed: %s", outcome.kind, outcome.scope, outcome.error)
        outcome.seconds = round(time.monotonic() - started, 2)
        outcomes.append(outcome)
    return outcomes


def _line(exc: BaseException) -> str:
    return SECRETS.redact(one_line(str(exc), 500)) or type(exc).__name__


def _record_run(db_path: Path, run_id: str, started: datetime, status: str,
                details: Mapping[str, Any], ended: datetime | None = None) -> None:
    with connect(db_path, read_only=False) as con:
        con.execute(
            "INSERT OR REPLACE INTO runs VALUES (?, 'nightly', ?, ?, ?, ?)",
            [run_id, started, ended, status, SECRETS.redact(json.dumps(details, default=str))],
        ).fetchall()


def _clean_after_killed_runs(db_path: Path, out_root: Path) -> None:
    """Under the lock no other run is live: an unfinished row is a killed run, a hidden folder its leftover."""
    with connect(db_path, read_only=False) as con:
        found = con.execute("UPDATE runs SET status = 'interrupted' WHERE command = 'nightly' AND ended_at IS NULL "
                            "RETURNING run_id").fetchall()
    for (run_id,) in found:
        log.warning("nightly run %s did not finish (killed); it is recorded as interrupted", run_id)
    for leftover in [*out_root.glob(".staging-*"), *out_root.glob(".latest-*")]:
        log.info("removing %s, left by a run that did not finish", leftover)
        if leftover.is_symlink() or leftover.is_file():
            leftover.unlink(missing_ok=True)
        else:
            shutil.rmtree(leftover, ignore_errors=True)


def _teams_with_closed_sprints(wh: Warehouse, since: datetime | None, until: datetime) -> list[str]:
    rows = wh.query(
        "SELECT DISTINCT team FROM sprints WHERE completed_at IS NOT NULL AND completed_at <= ? "
        "AND (? IS NULL OR completed_at > ?) AND team IS NOT NULL ORDER BY team",
        [until, since, since],
    )
    return rows["team"].tolist()


def _last_run_start(db_path: Path) -> datetime | None:
    with connect(db_path, read_only=False) as con:
        row = con.execute(
            "SELECT max(started_at) FROM runs WHERE command = 'nightly' AND status IN ('ok', 'partial')"
        ).fetchall()
    return row[0][0] if row else None


def publish(staging: Path, out_root: Path, name: str) -> Path:
    """Move a complete output folder to ``out_root/name`` and point ``latest`` at it atomically."""
    final = out_root / name
    staging.rename(final)
    latest = out_root / "latest"
    temp_link = out_root / f".latest-{uuid.uuid4().hex[:8]}"
    try:
        temp_link.symlink_to(final.name, target_is_directory=True)
        os.replace(temp_link, latest)
    except OSError:
        # No symlinks here: swap in a full copy instead, old copy removed only after the new one is in place.
        shutil.copytree(final, temp_link)
        old = out_root / f".latest-old-{uuid.uuid4().hex[:8]}"
        if latest.exists():
            latest.rename(old)
        temp_link.rename(latest)
        shutil.rmtree(old, ignore_errors=True)
    return final


def run_nightly(db_path: Path, out_root: Path, config: Config, as_of: datetime | None = None,
                progress: Progress = silent, env: Mapping[str, str] = os.environ,
                sync: Callable = _sync_one) -> NightlyResult:
    """Sync every source in ``config.sources``, then render the report and due slides into a dated folder."""
    db_path, out_root = Path(db_path), Path(out_root)
    out_root.mkdir(parents=True, exist_ok=True)
    with run_lock(db_path):
        _clean_after_killed_runs(db_path, out_root)
        run_id = uuid.uuid4().hex[:12]
        started = datetime.now(timezone.utc)
        since = _last_run_start(db_path)
        details: dict[str, Any] = {}
        staging = out_root / f".staging-{run_id}"
        try:
            _record_run(db_path, run_id, started, "running", details)
            outcomes = sync_sources(db_path, config, progress, env, sync)
            status = "ok" if all(o.ok for o in outcomes) else "partial"
            details["sources"] = [asdict(o) for o in outcomes]
            # The report rendered next shows this run with its sync's status; a run killed from here on
            # still has no end time, and the next run records it as interrupted.
            _record_run(db_path, run_id, started, status, details)
            folder, slides = _render(db_path, config, staging, out_root, started, since, as_of)
        except (Interrupted, KeyboardInterrupt) as exc:
            shutil.rmtree(staging, ignore_errors=True)
            _record_run(db_path, run_id, started, "interrupted", details, datetime.now(timezone.utc))
            exc.saved = "the run is recorded as interrupted and the last good report is kept"  # type: ignore[union-attr]
            raise
        except Exception as exc:
            shutil.rmtree(staging, ignore_errors=True)
            details["error"] = _line(exc)
            _record_run(db_path, run_id, started, "failed", details, datetime.now(timezone.utc))
            raise CadenceError(f"the report failed, the last good one is kept: {details['error']}") from None
        _record_run(db_path, run_id, started, status, details, datetime.now(timezone.utc))
        return NightlyResult(run_id, status, folder, out_root / "latest", outcomes, slides)


def _render(db_path: Path, config: Config, staging: Path, out_root: Path, started: datetime,
            since: datetime | None, as_of: datetime | None) -> tuple[Path, list[Path]]:
    """Render the report and due slides into ``staging``, then publish it; returns the folder and the slides."""
    from cadence.report import build_report, build_slides

    wh = Warehouse(db_path, read_only=True, config=config)
    build_report(wh, staging / "report", as_of=as_of)
    teams = _teams_with_closed_sprints(wh, since, as_of or datetime.now(timezone.utc))
    slides = [build_slides(wh, staging / "slides", team=team, as_of=as_of) for team in teams]
    folder = publish(staging, out_root, started.strftime("%Y-%m-%dT%H%M%SZ"))
    return folder, [folder / "slides" / p.name for p in slides]
