"""The ``cadence`` command: a thin layer over the library.

Errors print one line on stderr. Exit codes: 0 success, 1 a failure the user must act on
(authentication, a bad argument, an unreachable host), 2 a partial sync, 130 and 143 when
interrupted by SIGINT (Ctrl-C) and SIGTERM, after one line saying what was saved.

Everything echoed (output, errors, log lines) has terminal control characters stripped and every
secret in use redacted (cadence/text.py). No failure prints a traceback unless ``-v`` asks.
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import sys
import traceback
from datetime import datetime
from pathlib import Path
from typing import List, Literal, Optional

import typer
from typer.exceptions import Abort, Exit, TyperException

from cadence.errors import CadenceError, Interrupted
from cadence.text import SECRETS, RedactingFilter, one_line, strip_controls

# Plain click help, not Rich's: Rich showed every flag as taking a value ("--full <bool>") and read
# "[[sources]]" in a help text as markup, printing "[]".
app = typer.Typer(
    help="Is our sprint cadence giving us fast feedback, honest timeboxes and steady learnings?",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
sync_app = typer.Typer(help="Fetch issue history from a source into the warehouse.", no_args_is_help=True,
                       rich_markup_mode=None)
app.add_typer(sync_app, name="sync")

DbOption = typer.Option(None, "--db", help="Warehouse file. Default: $CADENCE_DB, else ./cadence.duckdb.")
AsOfOption = typer.Option(None, "--as-of", help="Compute as of this UTC time (ISO-8601). Default: now.")
ShowPeople = typer.Option(False, "--show-people", help="Show people's names (hidden by default).")


class State:
    config_path: Optional[Path] = None
    verbose: bool = False


def _config():
    from cadence.config import load_config

    return load_config(State.config_path)


def _db(db: Optional[Path]) -> Path:
    from cadence.warehouse import default_db_path

    return db if db is not None else default_db_path()


def _progress():
    import atexit

    from cadence.progress import RichProgress, for_terminal

    progress = for_terminal()
    if isinstance(progress, RichProgress):
        atexit.register(progress.close)
    return progress


def _open(db: Optional[Path]):
    from cadence.api import Warehouse

    return Warehouse(_db(db), read_only=True, config=_config())


def _open_spark(data: Optional[str]):
    """The metrics on Spark over an export folder; the session is whatever pyspark is configured
    for (local[*] by default, a cluster under spark-submit or SPARK_REMOTE)."""
    from cadence.errors import CadenceError

    if not data:
        raise CadenceError("--engine spark needs --data, a folder written by `cadence export`")
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise CadenceError("--engine spark needs pyspark: pip install 'cadence[spark]'") from None
    from cadence.api import open_spark

    spark = SparkSession.builder.appName("cadence").config("spark.ui.showConsoleProgress", "false").getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return open_spark(spark, data=data, config=_config())


def _say(text: str) -> None:
    typer.echo(SECRETS.redact(strip_controls(text)))


def _err(text: str) -> None:
    typer.echo(SECRETS.redact(one_line(text)), err=True)


class _SafeFormatter(logging.Formatter):
    """Log lines without terminal control characters (a server's text is quoted in them)."""

    def format(self, record: logging.LogRecord) -> str:
        return strip_controls(super().format(record))


@app.callback()
def _main(
    config: Optional[Path] = typer.Option(None, "--config", help="Configuration file (default ./cadence.toml)."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log what is happening."),
) -> None:
    State.config_path, State.verbose = config, verbose
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactingFilter(SECRETS))
        handler.setFormatter(_SafeFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger("cadence.progress").setLevel(logging.INFO)


@app.command()
def demo(
    out: Path = typer.Option(Path("cadence-demo"), "--out", help="Folder for the warehouse, report and slides."),
    data: Optional[Path] = typer.Option(None, "--data", help="Demo data folder (default: the bundled one)."),
    as_of: Optional[datetime] = AsOfOption,
) -> None:
    """Build a warehouse from the bundled SYNTHETIC demo data, then render the report and slides."""
    from cadence.demo import run_demo

    result = run_demo(out, data_dir=data, as_of=as_of, config=_config(), progress=_progress())
    _say(result.describe())


@app.command("import")
def import_(path: Path = typer.Argument(..., help="A .jsonl or .parquet file, or a folder of them."), db: Optional[Path] = DbOption) -> None:
    """Load the neutral format (docs/neutral-format.md): teams, sprints, statuses, items, events."""
    from cadence.importer import import_path

    report = import_path(_db(db), path, progress=_progress())
    for line in report.rejected[:20]:
        _err(f"rejected {line}")
    if report.rejected_count > 20:
        _err(f"... and {report.rejected_count - 20} more rejected rows (see the data-quality table)")
    _say(report.summary())


@sync_app.command("jira")
def sync_jira(
    url: str = typer.Option(..., "--url", help="The Jira site, e.g. https://example.atlassian.net"),
    project: List[str] = typer.Option([], "--project", help="Project key; repeat for several."),
    jql: Optional[str] = typer.Option(None, "--jql", help="A JQL filter instead of --project."),
    board: List[int] = typer.Option([], "--board", help="Board id whose sprints to fetch; repeat for several."),
    db: Optional[Path] = DbOption,
    full: bool = typer.Option(False, "--full", help="Fetch everything again, not only what changed."),
) -> None:
    """Sync issues, changelogs, comments, boards and sprints from Jira.

    Credentials come from the environment only: JIRA_EMAIL and JIRA_API_TOKEN (Cloud) or JIRA_PAT
    (Server and Data Center).
    """
    from cadence.sync import sync_jira as run

    _finish(run(url, projects=project, jql=jql, boards=board, db=_db(db), full=full, config=_config(),
                progress=_progress()))


@sync_app.command("github")
def sync_github(
    repo: List[str] = typer.Option([], "--repo", help="OWNER/NAME; repeat for several."),
    project: List[str] = typer.Option([], "--project", help="Projects v2 as OWNER/NUMBER; repeat for several."),
    api_url: str = typer.Option("https://api.github.com", "--api-url", help="API root (GitHub Enterprise: https://HOST/api/v3)."),
    db: Optional[Path] = DbOption,
    full: bool = typer.Option(False, "--full", help="Fetch everything again, not only what changed."),
) -> None:
    """Sync issues, pull requests, timelines, iterations and milestones from GitHub (token: GITHUB_TOKEN)."""
    from cadence.sync import sync_github as run

    _finish(run(repo, projects=project, api_url=api_url, db=_db(db), full=full, config=_config(), progress=_progress()))


def _finish(report) -> None:
    _say(report.summary())
    if report.partial:
        from cadence.errors import PartialSync

        raise PartialSync(f"partial sync: {report.errors[0]}; re-run to resume")


@app.command()
def metrics(
    db: Optional[Path] = DbOption,
    by: Literal["sprint", "week", "cadence"] = typer.Option(
        "sprint", "--by", help="One row per sprint, per team and ISO week, or per metric and cadence."
    ),
    fmt: Literal["table", "csv", "json"] = typer.Option(
        "table", "--format", help="table for people; csv and json carry every column."
    ),
    as_of: Optional[datetime] = AsOfOption,
    all_columns: bool = typer.Option(False, "--all-columns", help="The table shows every column, not only the documented ones."),
    engine: Literal["duckdb", "spark"] = typer.Option(
        "duckdb", "--engine", help="duckdb (the warehouse file) or spark (a `cadence export` folder, see docs/scale.md)."
    ),
    data: Optional[str] = typer.Option(
        None, "--data", metavar="<path>", help="With --engine spark: the `cadence export` folder (any path Spark reads)."
    ),
) -> None:
    """Print the metrics table: one row per sprint, per team and week, or per metric and cadence.

    The table holds the documented columns, rounded (--all-columns for the rest); csv and json hold
    every column, unrounded. An empty result says why on stderr.
    """
    from cadence.output import explain_empty, format_frame, nothing_to_show

    wh = _open(db) if engine == "duckdb" else _open_spark(data)
    frame = wh.metrics(by=by, as_of=as_of)
    if nothing_to_show(frame, by):
        # The reason goes to stderr; csv and json still print their (empty or all-future) rows for programs.
        reason = explain_empty(wh, by, as_of) if engine == "duckdb" else "no rows to show"
        typer.echo(f"cadence: {reason}", err=True)
        if fmt == "table":
            return
    sys.stdout.write(format_frame(frame, fmt, by=by, all_columns=all_columns))


@app.command()
def report(
    db: Optional[Path] = DbOption,
    out: Path = typer.Option(Path("cadence-report"), "--out", help="Output folder."),
    as_of: Optional[datetime] = AsOfOption,
    show_people: bool = ShowPeople,
) -> None:
    """Render the nightly report: one self-contained HTML file that works offline."""
    from cadence.report import build_report

    path = build_report(_open(db), out, as_of=as_of, show_people=show_people)
    _say(f"report: {path}")


@app.command()
def export(
    out: Path = typer.Argument(..., help="A new folder for the Parquet files and manifest.json."),
    db: Optional[Path] = DbOption,
    include_raw: bool = typer.Option(False, "--include-raw", help="Export the raw payloads too."),
) -> None:
    """Export the warehouse as Parquet (events partitioned by source and month) with a schema manifest."""
    manifest = _open(db).export(out, include_raw=include_raw)
    rows = ", ".join(f"{t['rows']} {name}" for name, t in manifest["tables"].items() if t["rows"])
    _say(f"exported schema {manifest['schema_version']} to {out}: {rows or 'no rows'}")


@app.command()
def slides(
    db: Optional[Path] = DbOption,
    team: Optional[str] = typer.Option(None, "--team", help="Team name (default: the first team)."),
    sprint: str = typer.Option("latest", "--sprint", help="'latest' completed sprint, or a sprint id."),
    out: Path = typer.Option(Path("cadence-slides"), "--out", help="Output folder."),
    fmt: Literal["pptx", "revealjs"] = typer.Option("pptx", "--format", help="revealjs needs Quarto on PATH."),
    as_of: Optional[datetime] = AsOfOption,
    show_people: bool = ShowPeople,
) -> None:
    """Make the retro deck for one team's sprint."""
    from cadence.report import build_slides

    path = build_slides(_open(db), out, team=team, sprint=sprint, fmt=fmt, as_of=as_of, show_people=show_people)
    _say(f"slides: {path}")


@app.command()
def whatif(
    team: str = typer.Option(..., "--team", help="Team name."),
    weeks: int = typer.Option(..., "--weeks", help="The other cadence: 1, 2 or 3 weeks."),
    db: Optional[Path] = DbOption,
    seed: int = typer.Option(0, "--seed", help="Seed of the Monte Carlo and bootstrap."),
    phase: Optional[str] = typer.Option(None, "--phase", help="'random', weeks after the first sprint (0..k-1), or a boundary time."),
    as_of: Optional[datetime] = AsOfOption,
) -> None:
    """What the calendar alone would change on another sprint grid, from the team's own history."""
    from cadence.report.whatif_text import whatif_table

    _say(whatif_table(_open(db).what_if(team=team, weeks=weeks, as_of=as_of, seed=seed, phase=phase)))


@app.command()
def nightly(
    config: Optional[Path] = typer.Option(None, "--config", help="Configuration listing [[sources]] (default ./cadence.toml)."),
    db: Optional[Path] = DbOption,
    out: Path = typer.Option(Path("cadence-nightly"), "--out", help="Folder for the dated outputs and the `latest` link."),
    as_of: Optional[datetime] = AsOfOption,
) -> None:
    """Sync every configured source, then render the report, and slides for teams whose sprint closed."""
    from cadence.nightly import run_nightly

    if config is not None:
        State.config_path = config
    settings = _config()
    if not settings.sources:
        raise CadenceError(f"{settings.path or 'cadence.toml'}: no [[sources]] to sync; see cadence/config.py")
    result = run_nightly(_db(db), out, settings, as_of=as_of, progress=_progress())
    _say(result.describe())
    if result.exit_code:
        from cadence.errors import PartialSync

        failed = next(s for s in result.sources if not s.ok)
        raise PartialSync(f"partial: {failed.kind} {failed.scope} failed: {failed.error}")


def main(argv: Optional[list[str]] = None) -> None:
    """Entry point: run the app and turn every failure into one line on stderr and an exit code."""
    command = typer.main.get_command(app)
    SECRETS.add(*(os.environ.get(name) for name in ("JIRA_API_TOKEN", "JIRA_PAT", "GITHUB_TOKEN")))
    Interrupted.pending = None
    previous = _catch_signals()
    try:
        try:
            code = command.main(args=argv, prog_name="cadence", standalone_mode=False)
        except Exception as exc:
            Interrupted.raise_pending(exc)
            raise
    except CadenceError as exc:
        _err(f"cadence: {exc}")
        sys.exit(exc.exit_code)
    except Interrupted as exc:
        done = f"{exc.saved}; re-run to resume" if exc.saved else "nothing was left half-done; run it again"
        _err(f"cadence: interrupted by {exc.name}; {done}")
        _leave(exc.exit_code)
    except Exit as exc:
        sys.exit(exc.exit_code)
    except Abort:
        _err("cadence: interrupted")
        sys.exit(130)
    except TyperException as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":
            sys.exit(0)  # help was shown
        # click (vendored by typer) exits 2 on usage errors; 2 means "partial sync" here, so bad arguments exit 1.
        _err(f"cadence: {exc.format_message()} (see cadence --help)")
        sys.exit(1)
    except Exception as exc:  # the error boundary: whatever was not foreseen is still one line
        if State.verbose:
            traceback.print_exc()
        _err(f"cadence: {_unforeseen(exc)}" + ("" if State.verbose else " (run with -v for the traceback)"))
        sys.exit(1)
    finally:
        _restore_signals(previous)
    sys.exit(code if isinstance(code, int) else 0)


def _unforeseen(exc: Exception) -> str:
    """One line for a failure no part of cadence turned into a message of its own."""
    if isinstance(exc, OSError) and exc.strerror:
        where = f" {exc.filename}" if exc.filename else ""
        return f"cannot use{where}: {exc.strerror}"
    return f"an unexpected error: {type(exc).__name__}: {exc}"


def _catch_signals() -> dict[int, object]:
    """SIGINT and SIGTERM raise ``Interrupted`` in the main thread; a second one leaves at once."""
    previous: dict[int, object] = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            previous[signum] = signal.signal(signum, _on_signal)
        except ValueError:  # not the main thread (an embedding application): leave its handlers alone
            break
    return previous


def _on_signal(signum: int, frame: object) -> None:
    if Interrupted.pending is not None:
        os._exit(128 + signum)
    Interrupted.pending = Interrupted(signum, signal.Signals(signum).name)
    raise Interrupted.pending


def _restore_signals(previous: dict[int, object]) -> None:
    Interrupted.pending = None  # only this run's signal stands for its failures
    for signum, handler in previous.items():
        signal.signal(signum, handler)  # type: ignore[arg-type]


def _leave(code: int) -> None:
    """Exit now: what was saved is committed and the warehouse closed; requests still in flight in
    worker threads are abandoned rather than waited for (up to their deadline) by interpreter shutdown."""
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
