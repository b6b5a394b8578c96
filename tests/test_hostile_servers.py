"""Issue 16 through the real command line: hostile servers and bad input never give a traceback,
never hang past a deadline, never write a secret, and keep what can be kept.

Every scenario runs ``cadence sync ...`` in a real child process (tests/faults.py's Zygote), through
tests/faults.py's FaultProxy (with tests/hostile_answers.py's rewrites) in front of the fake Jira (Cloud and Server/DC) or the fake GitHub, twice:
once plain and once with ``-v``. For each run it asserts:

- the exit code (0 ok, 1 act on it, 2 partial: PRODUCT.md), and, plain, that stderr holds exactly one
  line besides the progress lines, with the scenario's message, no terminal control character and no
  "Traceback";
- that it ended within its bound (the child's RetryPolicy is shortened: 3 attempts, a 4 s deadline);
- that no secret, in any encoding the test itself writes out (plain, percent-encoded, base64 alone
  and inside ``email:token``, JSON-escaped), is in stdout, stderr, or any file or cell of the warehouse;
- what was saved, against what the fake server holds (the oracle: the data each test built).

The scenario -> exit code -> line -> rows table is printed at the end (``-s`` shows it).
"""

from __future__ import annotations

import base64
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote, quote_plus

import duckdb
import pytest

import hostile_answers as f
from faults import Fault, FaultProxy, Zygote
from jira_payloads import synthetic
from jira_server import FakeJira

EMAIL, TOKEN, PAT, GH_TOKEN = "hostile@example.com", "jira/SECRET+4f7e=1c", "pat/SECRET+9b2d=77", "ghp_SECRET5a8c0e91"
CLOUD_ENV = {"JIRA_EMAIL": EMAIL, "JIRA_API_TOKEN": TOKEN}
SERVER_ENV = {"JIRA_PAT": PAT}
POLICY = {"attempts": 3, "backoff_s": 0.05, "timeout_s": 2.0, "deadline_s": 4.0}
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def secret_forms() -> list[str]:
    """Every encoding of every secret, written out here (not by the code under test)."""
    forms = []
    for secret in (TOKEN, PAT, GH_TOKEN, base64.b64encode(f"{EMAIL}:{TOKEN}".encode()).decode()):
        forms += [secret, quote(secret, safe=""), quote_plus(secret), secret.replace("/", "\\/"),
                  base64.b64encode(secret.encode()).decode()]
    return sorted(set(forms))


def jira_data():
    # 10 issues on pages of 4; a fifth carry 40-60 histories, past Cloud's inline 40 (bulkfetch runs too).
    return synthetic(10, histories=20, seed=7, long_share=0.2)


def server_data():
    # Half the issues carry 2-3 x 60 histories: more than Server's inline 100 (PRODUCT.md).
    return synthetic(6, histories=60, seed=3, long_share=0.5)


@dataclass
class Scenario:
    name: str
    source: str  # cloud | server | github
    code: int
    line: str  # what the one line on stderr says (a substring); "" when the run is quiet
    setup: Callable[[FaultProxy], None] = lambda proxy: None
    url: str | None = None  # --url / --api-url instead of the proxy's; {proxy} is its host:port (never leave 127.0.0.1)
    check: Callable[[dict[str, Any]], None] = lambda saved: None
    bound_s: float = 30.0


def _jira_args(url: str, db: Path) -> list[str]:
    return ["sync", "jira", "--url", url, "--project", "BEN", "--db", str(db)]


def _github_args(url: str, db: Path) -> list[str]:
    return ["sync", "github", "--repo", "acme/models", "--api-url", url, "--db", str(db)]


def _items(n: int) -> Callable[[dict[str, Any]], None]:
    def check(saved: dict[str, Any]) -> None:
        assert saved["items"] == n, saved
    return check


def _problem(name: str, items: int | None = None) -> Callable[[dict[str, Any]], None]:
    def check(saved: dict[str, Any]) -> None:
        assert name in saved["problems"], saved
        if items is not None:
            assert saved["items"] == items, saved
    return check


def _whole_server_changelogs(saved: dict[str, Any]) -> None:
    want = {i["key"]: len(i["changelog"]["histories"]) for i in server_data().issues}
    assert max(want.values()) > 100  # the scenario is about changelogs longer than Server's inline 100
    assert saved["histories"] == want and saved["items"] == 6, saved
    assert "changelog_incomplete" not in saved["problems"]


def _deep_kept(saved: dict[str, Any]) -> None:
    assert saved["items"] == 9 and saved["problems"].count("unreadable_record") == 1, saved
    assert "BEN-3" in saved["unreadable"]


def _gh_unreadable(saved: dict[str, Any]) -> None:
    assert saved["items"] == 119 and saved["problems"].count("unreadable_record") == 1, saved
    assert "acme/models#7" in saved["unreadable"]


SEARCH = "/search/jql"
# The sync's own search pages with the issues' fields: not the Cloud probe, nor the id-only
# request that keeps an unreadable issue's key (on Cloud the pages carry no changelog to tell them by).
ISSUE_PAGES = "fields=summary"
BEN3 = '"key": "BEN-3", "fields": {'  # where the fake starts issue BEN-3's fields in a search page
GH7 = '"number": 7, '  # issue acme/models#7 in a GraphQL page
# Requests that carry a page of issues with their timelines: the first of a repository (query
# Repository) and the later ones (query Issues); not IssueKeys, which keeps an unreadable issue's key.
GH_ISSUES = "timelineItems(first"

SCENARIOS = [
    Scenario("jira cloud, clean", "cloud", 0, "", check=_items(10)),
    Scenario("jira server, changelogs > 100 histories", "server", 0, "", check=_whole_server_changelogs),
    Scenario("jira: nextPageToken repeats", "cloud", 2, "handed the cursor",
             lambda p: p.every(SEARCH, f.repeated_cursor()), check=_problem("repeated_cursor", 8)),
    Scenario("jira server: startAt ignored (nothing new)", "server", 2, "all seen before",
             lambda p: p.every("/rest/api/2/search", f.same_page()), check=_problem("page_brought_nothing_new", 4)),
    Scenario("jira: 200 with an error object", "cloud", 1, "answered 200 with an error: The value 'BEN'",
             lambda p: p.every(SEARCH, f.error_object()), check=_items(0)),
    Scenario("jira: 200 error object after a saved page", "cloud", 2, "answered 200 with an error",
             lambda p: p.every(SEARCH, f.error_object(), skip=1), check=_items(4)),
    Scenario("jira: a list where an object belongs, after a saved page", "cloud", 2, "a list where an object belongs",
             lambda p: p.every(SEARCH, f.wrapped_in_list(), skip=1), check=_items(4)),
    Scenario("jira server: total lower than the truth", "server", 0, "",
             lambda p: p.every("/rest/api/2/search", f.lower_total(3)), check=_problem("total_disagrees", 6)),
    Scenario("jira: Retry-After: soon", "cloud", 0, "",
             lambda p: p.every(SEARCH, Fault("status", 429, headers={"Retry-After": "soon"}), times=2), check=_items(10)),
    Scenario("jira: one byte every 0.5 s", "cloud", 1, "deadline passed",
             lambda p: p.every(SEARCH, Fault("drip", seconds=0.5)), check=_items(0), bound_s=25),
    Scenario("jira: description nested 490 deep", "cloud", 0, "",
             lambda p: p.every(ISSUE_PAGES, f.deep_description(BEN3, 490)), check=_deep_kept),
    Scenario("jira: a 5,000-digit number", "cloud", 0, "",
             lambda p: p.every(ISSUE_PAGES, f.huge_number(BEN3, 5000)), check=_deep_kept),
    Scenario("jira: a value nested 5,000 deep", "cloud", 0, "",
             lambda p: p.every(ISSUE_PAGES, f.deep_value(BEN3, 5000)), check=_deep_kept),
    Scenario("jira: control codes in an error", "cloud", 1, "cadence: sync ok",
             lambda p: p.every(SEARCH, f.control_codes()), check=_items(0)),
    Scenario("jira: token echoed in an issue, four encodings", "cloud", 0, "",
             lambda p: p.every(ISSUE_PAGES, f.token_in_field(BEN3, "description")), check=_items(10)),
    Scenario("jira: redirect with the token percent-encoded", "cloud", 0, "",
             lambda p: p.every(SEARCH, Fault("redirect"), times=1), check=_items(10)),
    Scenario("--url with credentials", "cloud", 1, "must not hold credentials",
             url=f"http://{quote(EMAIL)}:{quote(TOKEN, safe='')}@{{proxy}}", bound_s=5),
    Scenario("--url not-a-url", "cloud", 1, "is not an http(s) URL", url="not-a-url", bound_s=5),
    Scenario("--url ftp://", "cloud", 1, "is not an http(s) URL", url="ftp://{proxy}", bound_s=5),
    Scenario("--url http://a:b@[::1", "cloud", 1, "does not parse", url="http://a:b@[::1", bound_s=5),
    Scenario("github, clean", "github", 0, "", check=_items(120)),
    Scenario("github: endCursor repeats", "github", 2, "handed the cursor",
             lambda p: p.every("/graphql", f.repeated_cursor(), body=GH_ISSUES), check=_problem("repeated_cursor", 120)),
    Scenario("github: after ignored", "github", 2, "handed the cursor",
             lambda p: p.every("/graphql", f.same_page(), body="query Issues("), check=_problem("repeated_cursor", 100)),
    Scenario("github: a list where an object belongs", "github", 1, "not a GraphQL response",
             lambda p: p.every("/graphql", f.wrapped_in_list(), body=GH_ISSUES), check=_items(0)),
    Scenario("github: a value nested 5,000 deep", "github", 0, "",
             lambda p: p.every("/graphql", f.deep_value(GH7, 5000), body=GH_ISSUES), check=_gh_unreadable),
    Scenario("github: token echoed in an issue", "github", 0, "",
             lambda p: p.every("/graphql", f.token_in_field(GH7, "echoed"), body=GH_ISSUES), check=_items(120)),
    Scenario("github: control codes in an error", "github", 1, "cadence: sync ok",
             lambda p: p.every("/graphql", f.control_codes(400)), check=_items(0)),
    Scenario("--api-url with credentials", "github", 1, "must not hold credentials",
             url=f"http://x:{GH_TOKEN}@{{proxy}}/api/v3", bound_s=5),
]
RESULTS: list[tuple[str, int, str, str]] = []


@pytest.fixture(scope="module")
def zygote(tmp_path_factory):
    z = Zygote(tmp_path_factory.mktemp("hostile-runs"))
    yield z
    z.close()


@pytest.fixture(scope="module")
def servers(request):
    """The fake servers, each behind a fault proxy: cloud, server and (when the schema is there) github."""
    cloud = FakeJira(jira_data(), email=EMAIL, token=TOKEN, page_limit=4)
    server = FakeJira(server_data(), deployment="Server", pat=PAT, page_limit=4)
    started = {"cloud": cloud.__enter__(), "server": server.__enter__()}
    proxies = {name: FaultProxy(s.url).__enter__() for name, s in started.items()}
    try:
        from conftest import SHARED_FIXTURES
        import github_data as d
        from github_server import GitHubServer

        if (SHARED_FIXTURES / "github" / "github-schema.graphql").exists():
            gh = GitHubServer(d.Dataset(repos={"acme/models": d.synthetic_repo("acme/models", 120, 2)}), token=GH_TOKEN)
            started["github"] = gh.__enter__()
            proxies["github"] = FaultProxy(gh.url).__enter__()
        for proxy in proxies.values():
            proxy._server.handle_error = lambda *a: None  # a client that gave up on a drip leaves a dead socket
        yield proxies
    finally:
        for proxy in proxies.values():
            proxy.__exit__(None, None, None)
        for s in started.values():
            s.__exit__(None, None, None)


def _saved(db: Path) -> dict[str, Any]:
    if not db.exists():
        return {"items": 0, "problems": [], "unreadable": [], "histories": {}}
    with duckdb.connect(str(db), read_only=True) as con:
        problems = [r[0] for r in con.execute("SELECT problem FROM data_quality ORDER BY problem").fetchall()]
        unreadable = [r[0] for r in con.execute(
            "SELECT entity_id FROM data_quality WHERE problem = 'unreadable_record'").fetchall()]
        histories = {k: n for k, n in con.execute(
            "SELECT entity_id, json_array_length(payload -> '$.changelog.histories') FROM raw "
            "WHERE entity = 'issue'").fetchall() if n is not None}
        return {"items": con.execute("SELECT count(*) FROM items").fetchone()[0], "problems": problems,
                "unreadable": unreadable, "histories": histories}


def _db_text(db: Path) -> str:
    with duckdb.connect(str(db), read_only=True) as con:
        tables = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
        return "\n".join(repr(con.execute(f'SELECT * FROM "{t}"').fetchall()) for t in tables)


def _leaks(folder: Path, texts: list[str]) -> list[str]:
    found = []
    blobs = [(f"output {n}", t.encode("utf-8", "replace")) for n, t in enumerate(texts)]
    for path in folder.rglob("*"):
        if path.is_file():
            blobs.append((path.name, path.read_bytes()))
            if path.suffix == ".duckdb":
                blobs.append((f"{path.name} cells", _db_text(path).encode("utf-8", "replace")))
    for where, blob in blobs:
        found += [f"{where}: {form[:10]}..." for form in secret_forms() if form.encode() in blob]
    return found


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_scenario(scenario: Scenario, zygote: Zygote, servers, tmp_path: Path) -> None:
    if scenario.source not in servers:
        pytest.skip("the GitHub scenarios need the GitHub schema under ../shared/fixtures")
    proxy = servers[scenario.source]
    env = {**(SERVER_ENV if scenario.source == "server" else CLOUD_ENV), "GITHUB_TOKEN": GH_TOKEN,
           "PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)}
    args = _github_args if scenario.source == "github" else _jira_args
    lines = {}
    for verbose in (False, True):
        proxy.clear()
        scenario.setup(proxy)
        db = tmp_path / f"{'v' if verbose else 'plain'}.duckdb"
        started = time.monotonic()
        url = scenario.url.replace("{proxy}", proxy.url.split("//", 1)[1]) if scenario.url else proxy.url
        pid = zygote.start((["-v"] if verbose else []) + args(url, db), env, tmp_path, POLICY)
        code = zygote.wait(pid)
        elapsed = time.monotonic() - started
        out, err = zygote.output(pid)
        assert code == scenario.code, (verbose, out, err)
        assert elapsed < scenario.bound_s, f"{elapsed:.1f} s"
        assert "Traceback" not in err or verbose
        assert not CONTROL.search(err.replace("\n", "")), repr(err)
        assert not _leaks(tmp_path, [out, err]), _leaks(tmp_path, [out, err])
        if not verbose:
            # Off a terminal, progress comes as plain log lines on stderr (README); the rest is the message.
            printed = [line for line in err.strip().splitlines() if " INFO cadence.progress: " not in line]
            assert len(printed) == (1 if scenario.line else 0), err
            assert scenario.line in (printed[0] if printed else ""), err
            lines["plain"] = printed[0] if printed else out.strip().splitlines()[-1]
        saved = _saved(db)
        scenario.check(saved)
    RESULTS.append((scenario.name, code, lines["plain"], f"{saved['items']} items, "
                    f"{len(saved['problems'])} data-quality rows ({', '.join(sorted(set(saved['problems']))) or '-'})"))


def test_zz_print_the_table(servers) -> None:
    """The table for the issue's closing note (runs last in this file): every scenario that could run did."""
    print("\n| scenario | exit | the one line printed | saved |\n|---|---|---|---|")
    for name, code, line, saved in RESULTS:
        print(f"| {name} | {code} | {line[:160]} | {saved} |")
    assert len(RESULTS) == len([s for s in SCENARIOS if s.source in servers])
