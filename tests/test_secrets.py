"""One sweep for the secrets used in this suite: nothing cadence writes (the DuckDB file and its
WAL, logs, stdout and stderr, the report, the slides) and nothing it raises holds a token, across
good syncs, killed syncs and every failure: bad token (401), a 403, 400 and 500 that echo the
Authorization header back in their bodies (a malicious server), a GraphQL error that quotes it,
stalls, truncated JSON, an unreachable host, a redirect that carries the credentials percent-encoded,
a server that echoes the token into an issue in four encodings, and credentials put into a URL on
the command line or in a nightly configuration. Every secret is looked for in each of its encodings.

The CLI runs in real child processes (tests/faults.py's Zygote) with ``--verbose``; the library
runs in-process with cadence's loggers at DEBUG and the HTTP libraries at INFO, captured by caplog.
"""

from __future__ import annotations

import base64
import logging
import os
import socket
from pathlib import Path
from urllib.parse import quote, quote_plus

import duckdb
import pytest

import github_data as d
from cadence.config import Config
from cadence.errors import CadenceError
from cadence.sources.http import RetryPolicy
from cadence.sync.github import sync_github
from cadence.sync.jira import sync_jira
from faults import Fault, FaultProxy, Zygote, kill
from hostile_answers import GITHUB_NODE, JIRA_ISSUE, token_in_field
from github_server import GitHubServer
from jira_payloads import synthetic
from jira_server import FakeJira

EMAIL, JIRA_TOKEN, PAT, GH_TOKEN = "sweep@example.com", "jira-SECRET/4f7e+1c", "pat-SECRET-9b2d77", "ghp_SECRET5a8c0e"
BASIC = base64.b64encode(f"{EMAIL}:{JIRA_TOKEN}".encode()).decode()


def _encodings(secret: str) -> list[str]:
    """The forms a token may be echoed in, written out here: plain, percent-encoded, base64, JSON-escaped."""
    return [secret, quote(secret, safe=""), quote_plus(secret), base64.b64encode(secret.encode()).decode(),
            secret.replace("/", "\\/")]


SECRETS = sorted({form for secret in (JIRA_TOKEN, PAT, GH_TOKEN, BASIC) for form in _encodings(secret)})
CLOUD = {"JIRA_EMAIL": EMAIL, "JIRA_API_TOKEN": JIRA_TOKEN}
FAST = RetryPolicy(attempts=2, backoff_s=0.0, timeout_s=0.5, sleep=lambda s: None)


def _closed_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def _db_text(db: Path) -> str:
    """Every cell of every table, as text: DuckDB compresses strings, so the bytes alone can hide one."""
    with duckdb.connect(str(db), read_only=True) as con:
        tables = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
        return "\n".join(repr(con.execute(f'SELECT * FROM "{t}"').fetchall()) for t in tables)


def _leaks(text: str | bytes, where: str) -> list[str]:
    data = text.encode("utf-8", "replace") if isinstance(text, str) else text
    return [f"{where}: {secret[:8]}..." for secret in SECRETS if secret.encode() in data]


class Sweep:
    """Collects everything the program produced, then looks for every secret in all of it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.texts: list[tuple[str, str]] = []
        self.scenarios = 0

    def add(self, where: str, text: str) -> None:
        self.texts.append((where, text))

    def findings(self) -> list[str]:
        found = []
        for where, text in self.texts:
            found += _leaks(text, where)
        for path in sorted(self.folder.rglob("*")):
            if path.is_file():
                found += _leaks(path.read_bytes(), str(path.relative_to(self.folder)))
                if path.suffix == ".duckdb":
                    found += _leaks(_db_text(path), f"{path.name} (cells)")
        return found


@pytest.fixture(scope="module")
def zygote(tmp_path_factory):
    z = Zygote(tmp_path_factory.mktemp("secret-runs"))
    yield z
    z.close()


def _cli(zygote: Zygote, sweep: Sweep, argv: list[str], env: dict[str, str], kill_at: tuple[FaultProxy, int] | None = None) -> int:
    env = {**env, "PATH": os.environ.get("PATH", ""), "HOME": str(sweep.folder)}
    target: dict[str, int] = {}
    if kill_at:
        proxy, nth = kill_at
        proxy.on_request = lambda n: kill(target["pid"]) if n == nth and "pid" in target else None
    target["pid"] = zygote.start(["--verbose", *argv], env, sweep.folder)
    code = zygote.wait(target["pid"])
    out, err = zygote.output(target["pid"])
    sweep.add(f"cli {' '.join(argv[:2])} stdout", out)
    sweep.add(f"cli {' '.join(argv[:2])} stderr", err)
    sweep.scenarios += 1
    return code


def _library(sweep: Sweep, caplog: pytest.LogCaptureFixture, run) -> None:
    caplog.clear()
    try:
        report = run()
        sweep.add("report", report.summary() + " ".join(report.errors))
    except CadenceError as exc:
        sweep.add("error", str(exc))
    sweep.add("log", caplog.text)
    sweep.scenarios += 1


def _verbose_logs(caplog: pytest.LogCaptureFixture) -> None:
    # cadence's own loggers at DEBUG, the rest (httpx, httpcore) at INFO as `--verbose` has them.
    # httpcore's DEBUG trace prints raw response headers, so a server that echoes the token in a
    # header would show there: a known limit of third-party debug logging, not exercised here.
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="cadence")


def test_no_secret_in_anything_written_printed_or_raised_jira(zygote, tmp_path, tmp_path_factory, caplog):
    _verbose_logs(caplog)
    sweep = Sweep(tmp_path)
    db = tmp_path / "jira.duckdb"
    jira_args = ["sync", "jira", "--project", "BEN", "--db", str(db)]
    data = synthetic(8, histories=6, seed=4)
    with FakeJira(data, email=EMAIL, token=JIRA_TOKEN, page_limit=3) as jira, FaultProxy(jira.url) as proxy, \
            FakeJira(data, pat=PAT) as server_dc:
        proxy._server.handle_error = lambda *a: None
        url = ["--url", proxy.url]
        assert _cli(zygote, sweep, [*jira_args, *url], CLOUD, kill_at=(proxy, 9)) == -9  # killed mid-sync
        assert _cli(zygote, sweep, [*jira_args, *url], CLOUD) == 0  # and resumed
        assert _cli(zygote, sweep, [*jira_args, "--url", server_dc.url, "--full"], {"JIRA_PAT": PAT}) == 0
        assert _cli(zygote, sweep, [*jira_args, *url], {**CLOUD, "JIRA_API_TOKEN": JIRA_TOKEN + "x"}) == 1  # 401
        assert _cli(zygote, sweep, [*jira_args, *url], {"JIRA_PAT": PAT}) == 1  # a PAT the site does not take
        for part, status in (("/myself", 403), ("/search/jql", 400), ("/search/jql", 500), ("/serverInfo", 401)):
            proxy.clear()
            proxy.every(part, Fault("echo", status))
            assert _cli(zygote, sweep, [*jira_args, *url, "--full"], CLOUD) in (1, 2)
            _library(sweep, caplog, lambda: sync_jira(tmp_path / "lib-jira.duckdb", proxy.url, ["BEN"], None, [], True,
                                                      Config(), env=CLOUD, policy=FAST))
        for fault in (Fault("truncate"), Fault("stall", seconds=3), Fault("drop"), Fault("redirect"),
                      token_in_field(JIRA_ISSUE, "description")):
            proxy.clear()
            proxy.every("/search/jql", fault)
            _library(sweep, caplog, lambda: sync_jira(tmp_path / "lib-jira.duckdb", proxy.url, ["BEN"], None, [], True,
                                                      Config(), env=CLOUD, policy=FAST))
        proxy.clear()
        proxy.every("/search/jql", token_in_field(JIRA_ISSUE, "summary"), times=1)
        assert _cli(zygote, sweep, [*jira_args, *url, "--full"], CLOUD) == 0  # echoed into an issue: stored redacted
        # Credentials in the URL, on the command line and in a nightly configuration, are refused and never repeated.
        with_creds = f"http://{EMAIL}:{JIRA_TOKEN}@127.0.0.1:{proxy.url.rsplit(':', 1)[1]}"
        assert _cli(zygote, sweep, [*jira_args, "--url", with_creds], CLOUD) == 1
        config = tmp_path_factory.mktemp("config") / "nightly.toml"  # the user's own file: not swept
        config.write_text(f'[[sources]]\nkind = "jira"\nurl = "{with_creds}"\nprojects = ["BEN"]\n')
        nightly = ["nightly", "--config", str(config), "--db", str(db), "--out", str(tmp_path / "nightly")]
        assert _cli(zygote, sweep, nightly, CLOUD) == 2
    _library(sweep, caplog, lambda: sync_jira(tmp_path / "lib-jira.duckdb", _closed_port(), ["BEN"], None, [], False,
                                              Config(), env=CLOUD, policy=FAST))
    assert _cli(zygote, sweep, ["sync", "jira", "--url", _closed_port(), "--project", "BEN", "--db", str(db)], CLOUD) == 1

    # What the warehouse feeds: the report and the slides, rendered from the synced Jira file.
    env = {**CLOUD, "GITHUB_TOKEN": GH_TOKEN, "JIRA_PAT": PAT}
    assert _cli(zygote, sweep, ["report", "--db", str(db), "--out", str(tmp_path / "report")], env) == 0
    assert _cli(zygote, sweep, ["slides", "--db", str(db), "--out", str(tmp_path / "slides")], env) == 0

    assert sweep.scenarios >= 25
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".html" for p in written) and any(p.suffix == ".pptx" for p in written)
    assert "BEN-1" in _db_text(db)  # the sweep looks at real content
    findings = sweep.findings()
    assert not findings, "\n".join(findings)
    print(f"secrets sweep (jira): {sweep.scenarios} scenarios, {len(written)} files, {len(sweep.texts)} outputs")


def test_no_secret_in_anything_written_printed_or_raised_github(shared_fixtures, zygote, tmp_path, caplog):
    # The fake GitHub executes queries against GitHub's published schema, under ../shared.
    _verbose_logs(caplog)
    sweep = Sweep(tmp_path)
    gh_db = tmp_path / "github.duckdb"
    gh_args = ["sync", "github", "--repo", "acme/models", "--db", str(gh_db)]
    gh_env = {"GITHUB_TOKEN": GH_TOKEN}
    dataset = d.Dataset(repos={"acme/models": d.synthetic_repo("acme/models", 120, 2)})
    with GitHubServer(dataset, token=GH_TOKEN) as server, FaultProxy(server.url) as proxy:
        proxy._server.handle_error = lambda *a: None
        api = ["--api-url", proxy.url]
        assert _cli(zygote, sweep, [*gh_args, *api], gh_env, kill_at=(proxy, 2)) == -9
        assert _cli(zygote, sweep, [*gh_args, *api], gh_env) == 0
        assert _cli(zygote, sweep, [*gh_args, *api], {"GITHUB_TOKEN": GH_TOKEN + "x"}) == 1  # 401
        for status in (403, 400, 500, 200):  # 200: a GraphQL error that quotes the header
            proxy.clear()
            proxy.every("/graphql", Fault("echo", status))
            assert _cli(zygote, sweep, [*gh_args, *api, "--full"], gh_env) in (1, 2)
            _library(sweep, caplog, lambda: sync_github(tmp_path / "lib-gh.duckdb", ["acme/models"], [], proxy.url, True,
                                                        Config(), env=gh_env, policy=FAST))
        for fault in (Fault("truncate"), Fault("stall", seconds=3), token_in_field(GITHUB_NODE, "echoed")):
            proxy.clear()
            proxy.every("/graphql", fault)
            _library(sweep, caplog, lambda: sync_github(tmp_path / "lib-gh.duckdb", ["acme/models"], [], proxy.url, True,
                                                        Config(), env=gh_env, policy=FAST))
        proxy.clear()
        with_creds = f"http://x:{GH_TOKEN}@127.0.0.1:{proxy.url.rsplit(':', 1)[1]}"
        assert _cli(zygote, sweep, [*gh_args, "--api-url", with_creds], gh_env) == 1
    _library(sweep, caplog, lambda: sync_github(tmp_path / "lib-gh.duckdb", ["acme/models"], [], _closed_port(), False,
                                                Config(), env=gh_env, policy=FAST))
    assert sweep.scenarios >= 13
    assert "acme/models#1" in _db_text(gh_db)  # the sweep looks at real content
    findings = sweep.findings()
    assert not findings, "\n".join(findings)
    print(f"secrets sweep (github): {sweep.scenarios} scenarios, {len(sweep.texts)} outputs")
