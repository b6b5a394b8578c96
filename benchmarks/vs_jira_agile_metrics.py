"""Benchmark: cadence against jira-agile-metrics 0.24 on one local Jira Cloud site (issue #12).

What runs: a synthetic Jira Cloud site (``benchmarks/peer_site.py``: the project's ``FakeJira``
with ``synthetic()`` data, ``--issues`` issues of about ``--histories`` changelog histories) in a
process of its own. Each tool reads it twice, each run in a subprocess of its own:

1. the full run, on a fresh site;
2. the nightly run, after 1% of the issues changed (``touch()``: a new status history each).

- cadence: ``sync_jira(db, url, ["BEN"], ...)`` then ``cadence.open(db)``, ``wh.issues()`` and
  ``wh.metrics(by="sprint")``. The nightly run syncs the same database again, incrementally.
- jira-agile-metrics: its CLI, ``jira-agile-metrics config.yml -o OUT``, with a config that asks
  for project BEN's issues and writes its cycle-time data (To Do / In Progress / Done). It runs all
  its calculators, as its CLI always does, and fetches every issue on every run: it has no
  incremental mode.

What is measured, for each run: wall time (from start to exit of the subprocess), peak RSS of the
subprocess (``ru_maxrss`` from ``os.wait4`` on that very child, so one tool's peak never hides the
other's), and the HTTP requests the site served while it ran (the fake records every request).
The table's ratio is jira-agile-metrics / cadence. It prints figures; it asserts nothing.

How the peer talks to the site: jira-agile-metrics 0.24 pins no ``jira`` version, so pip gives it
the current ``jira`` library (3.10 here), whose ``search_issues`` on a Cloud site (``serverInfo``
says ``deploymentType: Cloud``) calls ``enhanced_search_issues``: ``/rest/api/2/search/jql`` with
``nextPageToken``, asking 100 a page and getting Cloud's 50 with ``expand=changelog``. The fake
serves that endpoint in Cloud mode as it is, so by default the old ``/rest/api/2/search`` needs no
rerouting and answers 410 Gone, as on real Cloud. ``--jira-library 3.8.0`` (any version before
3.10) pins the old library instead, which knows only ``/rest/api/2/search`` with ``startAt``; the
site then serves that endpoint through the fake's Server-style search handler, with the same Cloud
caps (``peer_site.CloudSite``: a subclass, tests/jira_server.py unchanged). The requests of each
run are printed by endpoint.

Vendor quirks met on the way (details in peer_site.py and at ``jam_run``): the peer is run with
``-n 0``, else with the current ``jira`` it reads the first 50 issues only; and the site sends what
the peer reads besides cadence's needs (``versionNumbers``, status names, ``resolution``, a
``Flagged`` field). On Cloud the peer sees only the 40 newest histories of an issue (it never pages
a changelog), so its cycle times of longer issues rest on part of their history. It computes cycle
times and, as its CLI always does, runs every other calculator too (without output files); cadence
also syncs boards and sprints (one Sprint Report request per closed sprint, 26 on this site,
whatever the issue count) and computes sprint metrics.

Its venv is made once under ``~/.cache/cadence-bench/jam-venv`` (Python 3.11, ``pip install
jira-agile-metrics==0.24 pandas==1.5.3 'numpy<2'``) and reused.

Run from the repository root, with the project's venv::

    python benchmarks/vs_jira_agile_metrics.py [--issues N] [--histories H] [--jira-library 3.8.0]
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from multiprocessing import Pipe, Process
from multiprocessing.connection import Connection
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import peer_site  # noqa: E402

ENV = {"JIRA_EMAIL": "me@example.com", "JIRA_API_TOKEN": "s3cret-token"}
JAM_VENV = Path(os.environ.get("CADENCE_BENCH_CACHE", Path.home() / ".cache" / "cadence-bench")) / "jam-venv"
JAM_PACKAGES = ["jira-agile-metrics==0.24", "pandas==1.5.3", "numpy<2"]
NIGHTLY_SHARE = 0.01


# -- the peer's venv ----------------------------------------------------------------------

def jam_cli(jira_library: str | None) -> Path:
    """The jira-agile-metrics command of its own venv, made on first use; one venv per pinned ``jira``."""
    venv = JAM_VENV.with_name(f"jam-venv-jira-{jira_library}") if jira_library else JAM_VENV
    packages = JAM_PACKAGES + ([f"jira=={jira_library}"] if jira_library else [])
    cli = venv / "bin" / "jira-agile-metrics"
    if not cli.exists():
        python = shutil.which("python3.11")
        if python is None:
            sys.exit("jira-agile-metrics 0.24 needs Python 3.11 (pandas 1.5.3 has no wheels for newer ones)")
        print(f"making {venv} (once) ...", flush=True)
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", *packages], check=True)
    return cli


def jam_config(folder: Path, url: str) -> Path:
    """A minimal config: connection, project BEN, the three statuses of synthetic(), cycle-time CSV."""
    config = folder / "config.yml"
    config.write_text(f"""\
Connection:
    Domain: {url}
    Username: {ENV["JIRA_EMAIL"]}
    Password: {ENV["JIRA_API_TOKEN"]}
Query: project = BEN
Workflow:
    To Do: To Do
    In Progress: In Progress
    Done: Done
Output:
    Cycle time data: cycletime.csv
""")
    return config


# -- the site, in a process of its own ------------------------------------------------------

def serve(issues: int, histories: int, long_share: float, legacy_search: bool, pipe: Connection) -> None:
    """The fake Jira in its own process, so it does not share an interpreter lock with a client."""
    data = peer_site.site(issues, histories, long_share)
    with peer_site.CloudSite(data, legacy_search=legacy_search) as jira:
        pipe.send(jira.url)
        while (command := pipe.recv()) != "stop":
            if command == "touch":
                changed = peer_site.change(data, NIGHTLY_SHARE, datetime.now(timezone.utc))
                jira.changed()
                pipe.send(len(changed))
            else:  # "requests": the paths of all it served so far
                pipe.send([r.path for r in jira.requests])


class Site:
    def __init__(self, issues: int, histories: int, long_share: float, legacy_search: bool) -> None:
        self._pipe, theirs = Pipe()
        self._process = Process(target=serve, args=(issues, histories, long_share, legacy_search, theirs), daemon=True)
        self._process.start()
        self.url: str = self._pipe.recv()

    def ask(self, command: str):
        self._pipe.send(command)
        return self._pipe.recv()

    def stop(self) -> None:
        self._pipe.send("stop")
        self._process.join(10)


# -- one measured run -----------------------------------------------------------------------

@dataclass
class Run:
    wall: float
    rss_mib: float
    paths: Counter[str]  # requests the site served during the run, by endpoint
    said: str  # the child's last line: what it saw

    @property
    def requests(self) -> int:
        return sum(self.paths.values())

    def endpoints(self) -> str:
        return ", ".join(f"{n} {path}" for path, n in self.paths.most_common())


def measured(site: Site, command: list[str], folder: Path, env: dict[str, str] | None = None) -> Run:
    """Run ``command`` to its end; its wall time, its own peak RSS and the requests the site served."""
    before = len(site.ask("requests"))
    out = folder / "out.log"
    started = time.perf_counter()
    with out.open("w") as log:
        child = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=folder, env=env)
        _, status, usage = os.wait4(child.pid, 0)  # this child's rusage; RUSAGE_CHILDREN would mix runs
    wall = time.perf_counter() - started
    paths = Counter(endpoint(p) for p in site.ask("requests")[before:])
    text = out.read_text()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{command[0]} failed ({os.waitstatus_to_exitcode(status)}):\n{text[-3000:]}")
    said = text.strip().splitlines()[-1] if text.strip() else ""
    # ru_maxrss is in KiB on Linux
    return Run(wall, usage.ru_maxrss / 1024, paths, said)


def endpoint(path: str) -> str:
    """``/rest/agile/1.0/board/1/sprint`` -> ``board/{id}/sprint``: requests grouped by endpoint."""
    path = re.sub(r"^/rest/(api/\d|agile/1\.0|greenhopper/1\.0)/", "", path)
    return re.sub(r"/(BEN-\d+|\d+)(?=/|$)", "/{id}", path)


def cadence_run(site: Site, db: Path, folder: Path) -> Run:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return measured(site, [sys.executable, str(Path(__file__).resolve()), "_cadence", str(db), site.url], folder, env)


def cadence_child(db: str, url: str) -> None:
    """What the cadence subprocess does: sync (incremental once the database has data), then metrics."""
    import cadence
    from cadence.config import Config
    from cadence.sync.jira import sync_jira

    report = sync_jira(Path(db), url, ["BEN"], None, [], False, Config(), env=ENV)
    wh = cadence.open(Path(db))
    issues = wh.issues()
    metrics = wh.metrics(by="sprint")
    print(f"synced {report.items} issues in {report.requests} requests; {len(issues)} issues, "
          f"{len(metrics)} sprint rows of metrics")


def jam_run(site: Site, cli: Path, folder: Path) -> Run:
    config = jam_config(folder, site.url)
    # "-n 0": jira-agile-metrics passes its "max results" setting, None unless set, as
    # search_issues(maxResults=...). The jira library fetches every page only for 0 or False; on
    # Cloud (enhanced_search_issues) None means one page, so without "-n 0" it would read the first
    # 50 issues and stop. 0 is also what the old startAt search takes as "all".
    run = measured(site, [str(cli), str(config), "-n", "0", "-o", str(folder)], folder)
    with (folder / "cycletime.csv").open() as data:
        rows = list(csv.DictReader(data))
    done = sum(1 for r in rows if r.get("Done"))
    run.said = f"cycletime.csv: {len(rows)} issues, {done} with a Done date"
    return run


# -- the table -----------------------------------------------------------------------------

def table(issues: int, runs: dict[str, dict[str, Run]]) -> str:
    ours, theirs = runs["cadence"], runs["jira-agile-metrics"]
    figures = [
        ("full run wall (s)", ours["full"].wall, theirs["full"].wall, "{:.1f}"),
        ("full run peak RSS (MiB)", ours["full"].rss_mib, theirs["full"].rss_mib, "{:.0f}"),
        ("full run requests per 1,000 issues", 1000 * ours["full"].requests / issues,
         1000 * theirs["full"].requests / issues, "{:.1f}"),
        (f"nightly run wall (s), {NIGHTLY_SHARE:.0%} changed", ours["nightly"].wall, theirs["nightly"].wall, "{:.1f}"),
        ("nightly run peak RSS (MiB)", ours["nightly"].rss_mib, theirs["nightly"].rss_mib, "{:.0f}"),
        ("nightly run requests", ours["nightly"].requests, theirs["nightly"].requests, "{:.0f}"),
    ]
    rows = [("figure", "cadence", "jira-agile-metrics", "ratio (jam / cadence)")]
    rows += [(name, fmt.format(a), fmt.format(b), f"{b / a:.1f}x" if a else "-") for name, a, b, fmt in figures]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = [" | ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(r, widths)))
             for r in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--issues", type=int, default=11_644, help="issues on the site (default: the size of issue #12)")
    parser.add_argument("--histories", type=int, default=30, help="changelog histories per issue, about")
    parser.add_argument("--long-share", type=float, default=0.02,
                        help="share of issues with 2-3x the histories, past Cloud's inline 40")
    parser.add_argument("--jira-library", metavar="VERSION",
                        help="pin the peer's jira library, e.g. 3.8.0; before 3.10 it searches the retired "
                             "/rest/api/2/search, which the site then serves with Cloud's page caps")
    args = parser.parse_args()
    cli = jam_cli(args.jira_library)
    legacy = bool(args.jira_library) and tuple(int(n) for n in args.jira_library.split(".")[:2]) < (3, 10)
    print(f"site: {args.issues:,} issues, ~{args.histories} histories each; {load()}", flush=True)
    site = Site(args.issues, args.histories, args.long_share, legacy)
    runs: dict[str, dict[str, Run]] = {"cadence": {}, "jira-agile-metrics": {}}
    try:
        with tempfile.TemporaryDirectory() as scratch:
            folders = {tool: Path(scratch) / tool for tool in runs}
            for folder in folders.values():
                folder.mkdir()
            db = folders["cadence"] / "bench.duckdb"
            for phase in ("full", "nightly"):
                if phase == "nightly":
                    print(f"changed {site.ask('touch')} issues", flush=True)
                runs["cadence"][phase] = cadence_run(site, db, folders["cadence"])
                runs["jira-agile-metrics"][phase] = jam_run(site, cli, folders["jira-agile-metrics"])
                for tool, by_phase in runs.items():
                    run = by_phase[phase]
                    print(f"{phase:8} {tool:18} {run.wall:6.1f}s  {run.said}", flush=True)
                    print(f"{'':28}{run.requests} requests: {run.endpoints()}", flush=True)
    finally:
        site.stop()
    print()
    print(table(args.issues, runs))
    print(load())


if __name__ == "__main__":
    if sys.argv[1:2] == ["_cadence"]:
        cadence_child(*sys.argv[2:4])
    else:
        main()
