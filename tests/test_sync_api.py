"""Issue 14 item 8: a sync started from Python, the same code as the CLI, and through a configured
``jira.JIRA`` client whose session's authentication carries every request.

Oracles: the CLI's own result on the same fake site (the tables must be equal), and what the fake
Jira saw on the wire (which credentials, which headers, how many requests).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import jira as pycontribs_jira
import pytest

import cadence
from cadence.config import Config
from cadence.errors import CadenceError, SourceError
from cadence.sources.http import RetryPolicy
from faults import Fault, FaultProxy, differences, digest
from jira_payloads import synthetic
from jira_server import FakeJira

EMAIL, TOKEN, PAT = "api@example.com", "api-SECRET-5eed", "pat-SECRET-api-77"
ENV = {"JIRA_EMAIL": EMAIL, "JIRA_API_TOKEN": TOKEN}


def _cli_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JIRA_", "GITHUB_", "CADENCE_"))}
    return {**env, **ENV}


def test_cadence_sync_jira_is_the_cli_sync(tmp_path):
    data = synthetic(12, histories=20, seed=2, long_share=0.2)
    with FakeJira(data, email=EMAIL, token=TOKEN, page_limit=5) as site:
        report = cadence.sync_jira(site.url, projects="BEN", db=tmp_path / "py.duckdb", env=ENV, config=Config())
        cli = subprocess.run([sys.executable, "-m", "cadence", "sync", "jira", "--url", site.url, "--project", "BEN",
                              "--db", str(tmp_path / "cli.duckdb")], env=_cli_env(), cwd=tmp_path,
                             capture_output=True, text=True, timeout=300)
    assert cli.returncode == 0, cli.stderr
    assert report.items == 12 and not report.partial and cli.stdout.strip() == report.summary()
    assert differences(digest(tmp_path / "py.duckdb"), digest(tmp_path / "cli.duckdb")) == {}


def test_the_python_api_refuses_what_the_cli_refuses(tmp_path):
    with pytest.raises(CadenceError, match="either --project .* or --jql"):
        cadence.sync_jira("https://x.atlassian.net", projects=["A"], jql="project = A", db=tmp_path / "w.duckdb")
    with pytest.raises(CadenceError, match="the Jira site's URL"):
        cadence.sync_jira(projects=["A"], db=tmp_path / "w.duckdb")
    with pytest.raises(CadenceError, match="at least one --repo"):
        cadence.sync_github([], db=tmp_path / "w.duckdb")
    with pytest.raises(CadenceError, match="must not hold credentials"):
        cadence.sync_jira(f"https://me:{TOKEN}@x.atlassian.net", projects=["A"], db=tmp_path / "w.duckdb", env=ENV)
    assert not (tmp_path / "w.duckdb").exists()


def test_a_configured_jira_client_carries_every_request(tmp_path):
    """pycontribs ``jira.JIRA`` with basic auth and a header of its own (a corporate gateway's, say);
    cadence is given no credentials at all: the client's session is the only way in."""
    data = synthetic(9, histories=30, seed=4, long_share=0.5)  # some past Cloud's inline 40: bulkfetch runs
    with FakeJira(data, email=EMAIL, token=TOKEN, page_limit=4) as site:
        client = pycontribs_jira.JIRA(server=site.url, basic_auth=(EMAIL, TOKEN), get_server_info=False)
        client._session.headers["X-Corp-Gateway"] = "passed"
        assert site.requests == []  # the constructor sent nothing
        report = cadence.sync_jira(jira=client, projects=["BEN"], db=tmp_path / "w.duckdb", env={}, config=Config())
        sent = list(site.requests)
    assert report.items == 9 and not report.partial
    assert report.requests == len(sent) and sent
    assert all(r.authorized for r in sent if r.path != "/rest/api/2/serverInfo")
    assert all(r.headers.get("x-corp-gateway") == "passed" for r in sent)
    assert any(r.path.endswith("/changelog/bulkfetch") for r in sent)  # POSTs with a JSON body went through too
    assert TOKEN not in (tmp_path / "w.duckdb").read_bytes().decode("latin-1")


def test_a_pat_client_on_server_reads_whole_changelogs(tmp_path):
    data = synthetic(5, histories=60, seed=6, long_share=0.6)
    with FakeJira(data, deployment="Server", pat=PAT, page_limit=4) as site:
        client = pycontribs_jira.JIRA(server=site.url, token_auth=PAT, get_server_info=False)
        report = cadence.sync_jira(jira=client, projects=["BEN"], db=tmp_path / "w.duckdb", env={}, config=Config())
        assert all(r.authorized for r in site.requests if r.path != "/rest/api/2/serverInfo")
        assert not site.seen("/changelog")  # Server/DC has no /issue/{key}/changelog
    assert report.items == 5
    wh = cadence.open(tmp_path / "w.duckdb")
    saved = wh.query("SELECT entity_id, json_array_length(payload -> '$.changelog.histories') AS n FROM raw "
                     "WHERE entity = 'issue' ORDER BY entity_id")
    assert dict(zip(saved["entity_id"], saved["n"])) == {i["key"]: len(i["changelog"]["histories"]) for i in data.issues}


def test_a_client_whose_server_drips_its_body_is_held_to_the_deadline(tmp_path):
    data = synthetic(4, histories=5, seed=1)
    policy = RetryPolicy(attempts=2, backoff_s=0.0, timeout_s=1.0, deadline_s=2.0, sleep=lambda s: None)
    with FakeJira(data, email=EMAIL, token=TOKEN) as site, FaultProxy(site.url) as proxy:
        proxy._server.handle_error = lambda *a: None
        proxy.every("/search/jql", Fault("drip_body", seconds=0.3))
        client = pycontribs_jira.JIRA(server=proxy.url, basic_auth=(EMAIL, TOKEN), get_server_info=False)
        started = time.monotonic()
        with pytest.raises(SourceError, match="deadline passed"):
            cadence.sync_jira(jira=client, projects=["BEN"], db=tmp_path / "w.duckdb", env={}, config=Config(),
                              policy=policy)
        assert time.monotonic() - started < 10  # the body alone would take minutes


def test_cadence_sync_github_is_the_cli_sync(shared_fixtures, tmp_path):
    import github_data as d
    from github_server import GitHubServer

    token = "ghp_apiSECRET00"
    dataset = d.Dataset(repos={"acme/models": d.synthetic_repo("acme/models", 60, 2)})
    with GitHubServer(dataset, token=token) as server:
        report = cadence.sync_github("acme/models", api_url=server.url, db=tmp_path / "py.duckdb",
                                     env={"GITHUB_TOKEN": token}, config=Config())
        env = {**{k: v for k, v in os.environ.items() if not k.startswith(("JIRA_", "GITHUB_", "CADENCE_"))},
               "GITHUB_TOKEN": token}
        cli = subprocess.run([sys.executable, "-m", "cadence", "sync", "github", "--repo", "acme/models", "--api-url",
                              server.url, "--db", str(tmp_path / "cli.duckdb")], env=env, cwd=tmp_path,
                             capture_output=True, text=True, timeout=300)
    assert cli.returncode == 0, cli.stderr
    assert report.items == 60 and cli.stdout.strip() == report.summary()
    # Both syncs stamp snapshots and raw rows with their own sync time; the rest must agree.
    got, want = digest(tmp_path / "py.duckdb"), digest(tmp_path / "cli.duckdb")
    assert {t: got[t] for t in ("items", "events", "teams")} == {t: want[t] for t in ("items", "events", "teams")}
