"""The neutral import format: valid rows load, invalid rows are named by file, line and field."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from cadence.errors import CadenceError
from cadence.importer import import_path

GOOD = [
    {"record": "team", "team": "Vision", "synthetic": True},
    {"record": "status", "source": "t", "status_id": "3", "name": "In Progress", "category": "in_progress"},
    {"record": "sprint", "source": "t", "sprint_id": "225", "team": "Vision", "name": "Sprint 7, the long one",
     "state": "closed", "planned_start": "2024-03-04T09:00:00Z", "planned_end": "2024-03-18T09:00:00Z",
     "completed_at": "2024-03-18T16:30:00+02:00"},
    {"record": "item", "source": "t", "key": "V-1", "team": "Vision", "type": "Spike", "labels": ["timebox:3d"],
     "assignees": ["alice"], "created": "2024-03-01T10:00:00Z", "due_date": "2024-03-20", "story_points": 3},
    {"record": "event", "source": "t", "event_id": "1", "key": "V-1", "occurred_at": "2024-03-04T09:00:00Z",
     "kind": "sprint_added", "to_id": "225"},
    {"record": "event", "source": "t", "event_id": "2", "key": "V-1", "occurred_at": "2024-03-05T09:00:00Z",
     "kind": "comment", "actor": "bob", "actor_kind": "human", "text": "Learning: it works"},
]


def _write(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def _digest(db: Path) -> dict[str, list]:
    con = duckdb.connect(str(db), read_only=True)
    tables = ["teams", "statuses", "sprints", "items", "events"]
    digest = {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in tables}
    con.close()
    return digest


def test_every_record_kind_loads_with_its_types(tmp_path, db_path):
    report = import_path(db_path, _write(tmp_path / "mixed.jsonl", GOOD))
    assert report.loaded == {"team": 1, "status": 1, "sprint": 1, "item": 1, "event": 2}
    assert report.rejected_count == 0
    con = duckdb.connect(str(db_path), read_only=True)
    sprint = con.execute("SELECT sprint_key, name, completed_at FROM sprints").df().iloc[0]
    assert sprint["sprint_key"] == "t:225"
    assert sprint["name"] == "Sprint 7, the long one"
    assert sprint["completed_at"] == pd.Timestamp("2024-03-18T14:30:00Z")
    assert con.execute("SELECT to_id FROM events WHERE kind = 'sprint_added'").fetchall() == [("t:225",)]
    assert con.execute("SELECT labels, assignees, story_points, due_date::VARCHAR FROM items").fetchall() == [
        (["timebox:3d"], ["alice"], 3.0, "2024-03-20")
    ]
    assert con.execute("SELECT synthetic FROM teams").fetchall() == [(True,)]


def test_loading_the_same_file_twice_changes_nothing(tmp_path, db_path):
    path = _write(tmp_path / "mixed.jsonl", GOOD)
    import_path(db_path, path)
    first = _digest(db_path)
    import_path(db_path, path)
    assert _digest(db_path) == first
    assert len(first["events"]) == 2


def test_invalid_rows_are_named_by_line_and_field_and_the_rest_load(tmp_path, db_path):
    rows = [
        GOOD[0],
        "{not json",
        {"record": "item", "source": "t"},
        {"record": "item", "source": "t", "key": "V-2", "labels": "spike"},
        {"record": "event", "source": "t", "event_id": "9", "key": "V-1", "occurred_at": "last tuesday", "kind": "comment"},
        {"record": "event", "source": "t", "event_id": "8", "key": "V-1", "occurred_at": "2024-03-05T09:00:00Z", "kind": "teleport"},
        {"record": "sprint", "source": "t", "sprint_id": "1", "team": "Vision", "state": "paused"},
        {"record": "item", "source": "t", "key": "V-3", "story_points": "three"},
        {"record": "gadget"},
        [1, 2],
        "",
        GOOD[3],
    ]
    report = import_path(db_path, _write(tmp_path / "bad.jsonl", rows))
    assert report.rejected == [
        "bad.jsonl:2: not valid JSON",
        "bad.jsonl:3: key: missing",
        "bad.jsonl:4: labels: should be a list of strings",
        "bad.jsonl:5: occurred_at: should be an ISO-8601 time",
        "bad.jsonl:6: kind: should be one of status, sprint_added, sprint_removed, assignee, estimate, comment, "
        "review, label_added, label_removed, worklog",
        "bad.jsonl:7: state: should be one of future, active, closed",
        "bad.jsonl:8: story_points: should be a number",
        "bad.jsonl:9: record: should be one of team, status, sprint, item, event",
        "bad.jsonl:10: not a JSON object",
    ]
    assert report.loaded["team"] == 1 and report.loaded["item"] == 1
    con = duckdb.connect(str(db_path), read_only=True)
    problems = con.execute("SELECT entity_id, problem FROM data_quality ORDER BY entity_id").fetchall()
    assert len(problems) == 9 and problems[0] == ("bad.jsonl:10", "invalid_row")


def test_a_folder_of_named_files_needs_no_record_field(tmp_path, db_path):
    folder = tmp_path / "export"
    folder.mkdir()
    strip = lambda rows: [{k: v for k, v in r.items() if k != "record"} for r in rows]  # noqa: E731
    _write(folder / "events.jsonl", strip(GOOD[4:]))
    _write(folder / "items.jsonl", strip(GOOD[3:4]))
    _write(folder / "sprints.jsonl", strip(GOOD[2:3]))
    report = import_path(db_path, folder)
    assert report.loaded == {"team": 0, "status": 0, "sprint": 1, "item": 1, "event": 2}
    assert [Path(f).name for f in report.files] == ["sprints.jsonl", "items.jsonl", "events.jsonl"]


def test_parquet_loads_like_json_lines(tmp_path, db_path):
    folder = tmp_path / "pq"
    folder.mkdir()
    items = pd.DataFrame([
        {"source": "t", "key": "V-1", "summary": "<script>alert(1)</script>", "labels": ["a", "b"],
         "created": pd.Timestamp("2024-03-01T10:00:00Z")},
        {"source": "t", "key": None, "summary": "no key", "labels": [], "created": pd.Timestamp("2024-03-01T10:00:00Z")},
    ])
    items.to_parquet(folder / "items.parquet")
    report = import_path(db_path, folder)
    assert report.loaded["item"] == 1
    assert report.rejected == ["items.parquet:2: key: missing"]
    con = duckdb.connect(str(db_path), read_only=True)
    assert con.execute("SELECT summary, labels, created FROM items").fetchall()[0][:2] == (
        "<script>alert(1)</script>", ["a", "b"])


def test_a_path_that_is_not_importable_gives_a_clear_error(tmp_path, db_path):
    with pytest.raises(CadenceError, match="no such file"):
        import_path(db_path, tmp_path / "missing.jsonl")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(CadenceError, match="expected a .jsonl or .parquet"):
        import_path(db_path, tmp_path / "notes.txt")
