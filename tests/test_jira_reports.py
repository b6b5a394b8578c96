"""Jira's own Sprint Report, replayed from the real recordings in ../shared/fixtures/jira/greenhopper.

Oracle: the recordings themselves. Every expected number below was read off the JSON files by hand
(sections, keys, ``issueKeysAddedDuringSprint``, the ``*EstimateSum`` objects), not from our parser.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

import pytest
from hypothesis import given

import cadence
from cadence.config import Config
from cadence.normalize.jira_reports import UnknownShape, sprint_report
from cadence.sources.http import RetryPolicy
from cadence.sync.jira import sync_jira
from cadence.warehouse.sprint_reports import save_sprint_reports
from conftest import SHARED_FIXTURES
from jira_report_site import recon_site, serve_reports
from jira_report_site import sprint_report as served_report
from jira_payloads import _sprints_in
from jira_server import SPRINT_SCHEMA, FakeJira, JiraData
from test_fuzz_normalizers import FUZZ, con, mutated  # noqa: F401 (con: the in-memory warehouse fixture)

ENV = {"JIRA_EMAIL": "me@example.com", "JIRA_API_TOKEN": "s3cret-token"}
FAST = RetryPolicy(sleep=lambda s: None)
NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
AS_OF = "2026-01-01T00:00:00Z"
RECORDED = {1058: "mock_av_sprint_1_report_1058.json", 1059: "mock_av_sprint_2_report_1059.json",
            1067: "mock_av_sprint_6_report_1067.json"}


@pytest.fixture
def greenhopper(shared_fixtures):
    folder = shared_fixtures / "jira" / "greenhopper"
    return lambda name: json.loads((folder / name).read_text())


def keys(issues, section):
    return [i["key"] for i in issues if i["section"] == section]


def test_the_three_idap_reports(greenhopper):
    # Read off mock_av_sprint_{1,2,6}_report_*.json by hand: section keys, the added-during-sprint
    # dict, and the sums. IDAP-1201 has "statFieldValue": {} (no estimate); the other completed
    # estimates are 8+5+8+5+8+5 = 39; every not-completed issue is unestimated, so those sums are
    # {"text": "null"}.
    report, issues = sprint_report(greenhopper(RECORDED[1058]), 1058, 458, NOW)
    assert keys(issues, "completed") == ["IDAP-647", "IDAP-754", "IDAP-773", "IDAP-1006", "IDAP-1178", "IDAP-1201",
                                         "IDAP-1217"]
    assert keys(issues, "not_completed") == keys(issues, "punted") == keys(issues, "completed_in_another_sprint") == []
    assert (report["completed_initial_sum"], report["completed_sum"], report["all_issues_sum"]) == (39.0, 39.0, 39.0)
    assert report["not_completed_sum"] is None and report["punted_sum"] is None and report["other_sprint_sum"] is None
    assert report["added_keys"] == [] and report["estimate_field"] == "customfield_10005"
    assert report["report_state"] == "CLOSED" and report["sprint_key"] == "jira:1058"
    by_key = {i["key"]: i for i in issues}
    assert by_key["IDAP-1201"]["estimate_initial"] is None and by_key["IDAP-647"]["estimate_initial"] == 8.0
    assert by_key["IDAP-1217"]["status_name"] == "Released" and by_key["IDAP-1006"]["type_name"] == "Non Production Defect"

    report, issues = sprint_report(greenhopper(RECORDED[1059]), 1059, 458, NOW)
    assert keys(issues, "completed") == ["IDAP-753", "IDAP-940", "IDAP-1207", "IDAP-1245", "IDAP-1257", "IDAP-1260",
                                         "IDAP-1278"]
    assert keys(issues, "not_completed") == ["IDAP-1246", "IDAP-1275"]
    assert report["added_keys"] == ["IDAP-1275"]  # {"IDAP-1275": true}
    assert [i["key"] for i in issues if i["added_during_sprint"]] == ["IDAP-1275"]
    assert (report["completed_sum"], report["not_completed_initial_sum"]) == (35.0, None)  # 8+8+8+3+2+1+5

    report, issues = sprint_report(greenhopper(RECORDED[1067]), 1067, 458, NOW)
    assert len(keys(issues, "completed")) == 12 and report["completed_sum"] == 68.0  # 2+8+8+8+8+3+8+8+1+3+8+3
    assert keys(issues, "not_completed") == ["IDAP-1238", "IDAP-1321", "IDAP-1379", "IDAP-1411", "IDAP-1558"]
    assert report["added_keys"] == [] and report["not_completed_sum"] is None


def test_the_jira_8_sample_report(greenhopper):
    # mock_sprintreport.json (read by hand): Jira 8 sends statusId only and the names in
    # contents.entityData; the punted AV-13000 (hand-edited, so an unknown issue) has a current
    # estimate of 8 and no estimateStatistic at all, so the punted initial sum is {"text": "null"}.
    report, issues = sprint_report(greenhopper("mock_sprintreport.json"), 1, 1, NOW)
    assert keys(issues, "completed") == ["AV-15", "AV-16", "AV-17"]
    assert keys(issues, "not_completed") == ["AV-10", "AV-13", "AV-14"]
    assert keys(issues, "punted") == ["AV-13000"]
    assert report["added_keys"] == ["AV-14", "AV-16"]
    assert (report["completed_sum"], report["not_completed_sum"], report["all_issues_sum"]) == (6.0, 8.0, 17.0)
    assert (report["punted_initial_sum"], report["punted_sum"]) == (None, 8.0)
    punted = next(i for i in issues if i["key"] == "AV-13000")
    assert (punted["estimate_initial"], punted["estimate_current"], punted["status_name"]) == (None, 8.0, "To Do")
    assert {i["key"]: i["status_name"] for i in issues}["AV-10"] == "In Progress"  # from entityData.statuses["3"]
    assert report["report_state"] == "ACTIVE"


@pytest.mark.parametrize("body", [{"errorMessages": ["x"]}, {"contents": {"completedIssues": "no"}}, [1, 2],
                                  {"contents": {"completedIssues": [{"id": 1}], "puntedIssues": [],
                                                "issuesNotCompletedInCurrentSprint": []}}])
def test_bodies_that_are_no_sprint_report(body):
    with pytest.raises(UnknownShape):
        sprint_report(body, 1, 1, NOW)


def test_a_report_for_another_sprint_is_refused(greenhopper):
    with pytest.raises(UnknownShape, match="for sprint 1058, not 1059"):
        sprint_report(greenhopper(RECORDED[1058]), 1059, 458, NOW)


def test_the_fake_serves_the_recorded_shape(greenhopper):
    """The local Jira's reports (jira_report_site) have the recordings' keys, sections and quirks."""
    recorded = greenhopper(RECORDED[1059])
    data = recon_site()
    serve_reports(data)
    served = data.sprint_reports[(7, 102)]
    assert set(served) == set(recorded)
    assert set(served["contents"]) == set(recorded["contents"])
    assert set(served["sprint"]) <= set(recorded["sprint"])
    recorded_entry_keys = set().union(*(set(e) for e in recorded["contents"]["completedIssues"]))
    for section in ("completedIssues", "issuesNotCompletedInCurrentSprint", "issuesCompletedInAnotherSprint"):
        for entry in served["contents"][section]:
            assert set(entry) <= recorded_entry_keys, section
    assert served["contents"]["puntedIssuesEstimateSum"] == recorded["contents"]["puntedIssuesEstimateSum"] == {"text": "null"}
    locale = re.compile(r"[A-Z][a-z]{2}/\d{1,2}/\d\d \d{1,2}:\d\d [AP]M")
    assert locale.fullmatch(recorded["sprint"]["startDate"]) and locale.fullmatch(served["sprint"]["startDate"])
    assert isinstance(served["contents"]["issueKeysAddedDuringSprint"], dict)
    assert data.sprint_reports[(7, 101)]["contents"]["issueKeysAddedDuringSprint"] == {"REC-3": True, "REC-5": True}
    assert served_report(data, 7, 103)["contents"]["issueKeysAddedDuringSprint"] == {}


def idap_site(greenhopper) -> JiraData:
    """Board 458 with its recorded sprint list and the three recorded reports; no issues were recorded."""
    board = {"id": 458, "name": "IDAP board", "type": "scrum", "location": {"projectKey": "IDAP"}}
    data = JiraData(boards=[board], projects={"IDAP"},
                    sprints={458: greenhopper("mock_av_sprints.json")["values"]},
                    fields=[{"id": "customfield_10007", "name": "Sprint", "custom": True,
                             "schema": {"type": "array", "custom": SPRINT_SCHEMA}}])
    data.sprint_reports = {(458, sprint): greenhopper(name) for sprint, name in RECORDED.items()}
    return data


def test_the_recorded_board_through_the_real_sync(greenhopper, db_path):
    # mock_av_sprints.json lists 29 closed sprints (777 ... 1067), 1 active (1068), 5 future; reports
    # were recorded for 1058, 1059 and 1067 only, so the local Jira answers 404 for the other 26.
    with FakeJira(idap_site(greenhopper), deployment="Server", pat="pat-t0ken") as jira:
        report = sync_jira(db_path, jira.url, ["IDAP"], None, [], False, Config(), env={"JIRA_PAT": "pat-t0ken"},
                           policy=FAST)
    asked = [r.query["sprintId"] for r in jira.seen("/rest/greenhopper/1.0/rapid/charts/sprintreport")]
    assert len(asked) == 29 and asked[0] == "1067"  # the newest closed sprint probes the board first
    assert report.errors == [] and report.requests == len(jira.requests)
    wh = cadence.open(db_path)
    tried = wh.query("SELECT status, count(*) AS n FROM sprint_reports GROUP BY ALL ORDER BY status")
    assert tried.values.tolist() == [["parsed", 3], ["refused", 26]]  # every try is kept: none is asked again
    stored = wh.query("SELECT sprint_id, completed_sum, not_completed_sum, added_keys FROM sprint_reports "
                      "WHERE status = 'parsed' ORDER BY sprint_id")
    assert stored["sprint_id"].tolist() == ["1058", "1059", "1067"]
    assert stored["completed_sum"].tolist() == [39.0, 35.0, 68.0]
    assert stored["not_completed_sum"].isna().all()
    assert [list(k) for k in stored["added_keys"]] == [[], ["IDAP-1275"], []]
    [note] = wh.problems().query("problem == 'sprint_report_unavailable'")["detail"].tolist()
    assert note.startswith("26 of 29 closed sprints' reports could not be read")
    # Jira's side, by the mapping in docs/jira-sprint-report.md, read off the recordings: 1059 lists
    # 9 issues, IDAP-1275 added during it, so committed 8, added 1, completed 7, carried over 2.
    rec = wh.reconciliation(as_of=AS_OF).set_index(["sprint_id", "count"])
    assert rec.loc["1058", "jira"].tolist() == [7, 0, 0, 7, 0]
    assert rec.loc["1059", "jira"].tolist() == [8, 1, 0, 7, 2]
    assert rec.loc["1067", "jira"].tolist() == [17, 0, 0, 12, 5]
    assert rec["ours"].eq(0).all()  # no issue of IDAP was recorded, so none is in our warehouse
    causes = set(wh.reconciliation_keys(as_of=AS_OF)["cause"])
    assert causes == {"unknown issue: not in the warehouse (outside the synced projects, moved or deleted)"}
    verdicts = wh.metrics(as_of=AS_OF).set_index("sprint_id")["jira_report"]
    assert verdicts[["1058", "1059", "1067"]].tolist() == ["differs"] * 3
    assert verdicts["1066"] == "unavailable" and verdicts.isna()["1068"]  # 1068 is active


def test_a_pseudonymised_sync_keeps_no_name_from_a_report(greenhopper, db_path):
    with FakeJira(idap_site(greenhopper), deployment="Server", pat="pat-t0ken") as jira:
        sync_jira(db_path, jira.url, ["IDAP"], None, [], False, Config(pseudonymize=True),
                  env={"JIRA_PAT": "pat-t0ken"}, policy=FAST)
    stored = db_path.read_bytes()
    # Names in the recorded reports: an assignee ("assignee", "assigneeName", the avatar's ownerId)
    # and whoever started and closed the sprints (HTML in lastUserToClose / userWhoStarted).
    for person in (b"Rekha.Rasineni", b"Rekha Rasineni", b"rekha.rasineni", b"Sidharth Sood", b"sidharth.sood"):
        assert person not in stored
    wh = cadence.open(db_path)
    assert wh.query("SELECT count(*) AS n FROM sprint_report_issues")["n"].iloc[0] == 7 + 9 + 17


def av_site(greenhopper) -> JiraData:
    """The sample project's board 1: its two recorded issues (fields only, no changelog), the
    sprints their old-style Sprint strings describe (1 to 4, all rapidViewId=1), and the recorded
    report of sprint 1."""
    issues = [greenhopper(name) for name in ("mock_issue_av14.json", "mock_issue_av16.json")]
    sprints = {}
    for text in [t for issue in issues for t in issue["fields"]["customfield_10109"]]:
        v = _sprints_in(text)
        sprints[v["id"]] = {"id": int(v["id"]), "state": v["state"].lower(), "name": v["name"], "originBoardId": 1,
                            **{k: v[k] for k in ("startDate", "endDate", "activatedDate", "completeDate")
                               if v.get(k) not in (None, "<null>")}}
    # The statuses and their categories are the report's own entityData.statuses.
    statuses = [{"id": i, "name": n, "statusCategory": {"key": k}}
                for i, n, k in (("3", "In Progress", "indeterminate"), ("10000", "To Do", "new"), ("10001", "Done", "done"))]
    fields = [{"id": "customfield_10109", "name": "Sprint", "custom": True, "schema": {"type": "array", "custom": SPRINT_SCHEMA}},
              {"id": "customfield_10111", "name": "Story Points", "custom": True,
               "schema": {"type": "number", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:float"}}]
    data = JiraData(issues=issues, boards=[{"id": 1, "name": "AV board", "type": "scrum", "location": {"projectKey": "AV"}}],
                    sprints={1: list(sprints.values())}, statuses=statuses, fields=fields)
    data.sprint_reports[(1, 1)] = greenhopper("mock_sprintreport.json")
    return data


def test_the_sample_project_replayed(greenhopper, db_path):
    """Jira's side read off mock_sprintreport.json: committed = the 5 listed issues not added during
    the sprint (AV-15, AV-17, AV-10, AV-13 and the punted AV-13000), added = AV-14 and AV-16,
    removed = AV-13000, completed = AV-15, AV-16, AV-17, carried over = AV-10, AV-13, AV-14.

    Only AV-14 and AV-16 were recorded, without changelogs, so the other five are unknown issues.
    What we count for AV-14 and AV-16 depends on issue 10 (an issue is in the sprint its Sprint field
    names from ``created``): AV-14 was created on 2021-02-23, inside the sprint (17 Feb - 2 Mar);
    AV-16 on 2021-01-27, before it. Both hand-worked outcomes are written out below; the test
    asserts the one that matches the membership rebuild in this build, and fails on anything else.
    """
    with FakeJira(av_site(greenhopper), deployment="Server", pat="pat-t0ken") as jira:
        report = sync_jira(db_path, jira.url, ["AV"], None, [], False, Config(), env={"JIRA_PAT": "pat-t0ken"},
                           policy=FAST)
    # Sprints 1, 2 and 3 are closed; only sprint 1's report was recorded, so 2 and 3 answer 404,
    # which is about those sprints only: sprint 1 is still asked for, after the probe (sprint 3).
    asked = [r.query["sprintId"] for r in jira.seen("sprintreport")]
    assert report.errors == [] and asked[0] == "3" and sorted(asked) == ["1", "2", "3"]
    wh = cadence.open(db_path)
    rec = wh.reconciliation(as_of=AS_OF).set_index("count")
    assert rec["jira"].tolist() == [5, 2, 1, 3, 3]
    causes = {(r.count, r.key): r.cause for r in wh.reconciliation_keys(as_of=AS_OF).itertuples()}
    unknown = "unknown issue: not in the warehouse (outside the synced projects, moved or deleted)"
    for count, key in (("committed", "AV-15"), ("committed", "AV-17"), ("committed", "AV-10"), ("committed", "AV-13"),
                       ("committed", "AV-13000"), ("removed", "AV-13000"), ("completed", "AV-15"),
                       ("completed", "AV-17"), ("carried_over", "AV-10"), ("carried_over", "AV-13")):
        assert causes.pop((count, key)) == unknown
    no_history = "no Sprint change in its history for this sprint: when, or whether, it joined is not recorded"
    created_inside = "created inside the sprint: no changelog entry records the Sprint it was created with"
    before_issue_10 = {  # we miss both issues: no Sprint change puts them in sprint 1
        ("added", "AV-14"): created_inside, ("carried_over", "AV-14"): created_inside,
        ("added", "AV-16"): no_history, ("completed", "AV-16"): no_history,
    }
    with_issue_10 = {  # AV-14 added and carried over as Jira says; AV-16 committed by us, added by Jira
        ("committed", "AV-16"): no_history, ("added", "AV-16"): no_history,
    }
    assert causes in (before_issue_10, with_issue_10)
    ours = rec["ours"].tolist()
    assert ours == ([0, 0, 0, 0, 0] if causes == before_issue_10 else [1, 1, 0, 1, 1])


REPORT_SEEDS = ([json.loads((SHARED_FIXTURES / "jira" / "greenhopper" / name).read_text())
                 for name in (*RECORDED.values(), "mock_sprintreport.json")] if SHARED_FIXTURES.is_dir() else [{}])


@FUZZ
@given(body=mutated(REPORT_SEEDS))
def test_fuzzed_reports_parse_or_are_refused_and_always_save(con, body):
    """The recorded reports with fields deleted, nulled, retyped, oversized or made hostile: the
    parser returns rows the warehouse saves, or says UnknownShape; nothing else escapes."""
    if not SHARED_FIXTURES.is_dir():
        pytest.skip(f"third-party recordings not found at {SHARED_FIXTURES}")
    sprint_id = str((body.get("sprint") or {}).get("id", 1)) if isinstance(body, dict) and isinstance(
        body.get("sprint"), dict) else "1"
    try:
        report, issues = sprint_report(body, sprint_id, 458, NOW)
    except UnknownShape:
        return
    save_sprint_reports(con, [report], issues, [], [])
    stored = con.execute("SELECT count(*) FROM sprint_report_issues WHERE sprint_key = ?",
                                   [report["sprint_key"]]).fetchone()[0]
    assert stored == len(issues)
