"""The importer reads a file in batches: line numbers, last-line-wins and resumption hold across them.

Batches are made tiny (a few lines each) so that every edge falls between two of them. Expected values
are worked out by hand from the lines written in each test.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest

import cadence.importer as importer
from cadence.errors import CadenceError
from cadence.importer import import_path
from cadence.text import Secrets


def _event(event_id: str, text: str = "hi", **extra) -> dict:
    return {"source": "t", "event_id": event_id, "key": "V-1", "occurred_at": "2024-03-05T09:00:00Z",
            "kind": "comment", "text": text, **extra}


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(importer, "CHUNK_BYTES", 200)  # two or three lines of events a batch
    monkeypatch.setattr(importer, "PARQUET_ROWS", 2)


def _rows(db: Path, sql: str) -> list:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_line_numbers_and_the_last_line_of_a_key_hold_across_batches(tmp_path, db_path, small_batches):
    lines = [json.dumps(_event("1", "first")), json.dumps(_event("2")), "",  # a blank line: skipped
             "{broken", json.dumps(_event("1", "second")), json.dumps(_event("3", occurred_at="soon")),
             json.dumps(_event("2", "again")) + "\r", json.dumps(_event("1", "third")),
             json.dumps(_event("1", "last"))]
    path = tmp_path / "events.jsonl"
    path.write_bytes(("\n".join(lines)).encode())  # and no newline after the last line
    report = import_path(db_path, path)
    # Lines 4 and 6 are bad; the 6 good lines hold 3 keys, of which event 3 is rejected: 1 and 2 stay.
    assert report.rejected == ["events.jsonl:4: not valid JSON", "events.jsonl:6: occurred_at: should be an ISO-8601 time"]
    assert _rows(db_path, "SELECT event_id, text FROM events ORDER BY event_id") == [("1", "last"), ("2", "again")]


def test_a_key_repeated_within_one_batch_keeps_its_last_line(tmp_path, db_path):
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(_event("1", t)) + "\n" for t in ("a", "b", "c")))
    assert import_path(db_path, path).loaded["event"] == 1
    assert _rows(db_path, "SELECT text FROM events") == [("c",)]


def test_a_mixed_file_loads_every_kind_from_every_batch(tmp_path, db_path, small_batches):
    rows = [{"record": "team", "team": "Vision"},
            {"record": "item", "source": "t", "key": "V-1", "labels": ["a"], "created": "2024-03-01T10:00:00Z"},
            {"record": "event", **_event("1")},
            {"record": "sprint", "source": "t", "sprint_id": "9", "team": "Vision", "state": "later"},
            {"record": "status", "source": "t", "status_id": "3", "category": "done"},
            {"record": "event", **_event("2", kind="sprint_added", to_id="9")},
            {"record": "item", "source": "t", "key": "V-2", "story_points": "many"}]
    path = tmp_path / "mixed.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    report = import_path(db_path, path)
    assert report.loaded == {"team": 1, "status": 1, "sprint": 0, "item": 1, "event": 2}
    assert report.rejected == ["mixed.jsonl:4: state: should be one of future, active, closed",
                               "mixed.jsonl:7: story_points: should be a number"]
    assert _rows(db_path, "SELECT to_id FROM events WHERE event_id = '2'") == [("t:9",)]
    assert _rows(db_path, "SELECT entity_id FROM data_quality ORDER BY entity_id") == [("mixed.jsonl:4",), ("mixed.jsonl:7",)]


def test_bytes_that_are_not_utf8_are_replaced_and_the_rest_of_the_batch_loads(tmp_path, db_path):
    path = tmp_path / "events.jsonl"
    good = json.dumps(_event("1", "ok")).encode() + b"\n"
    bad = json.dumps(_event("2", "caf_")).encode().replace(b"caf_", b"caf\xe9") + b"\n"
    path.write_bytes(good + bad)
    assert import_path(db_path, path).rejected_count == 0
    assert _rows(db_path, "SELECT event_id, text FROM events ORDER BY 1") == [("1", "ok"), ("2", "caf\ufffd")]


def test_an_interrupted_import_resumes_without_duplicates(tmp_path, db_path, small_batches, monkeypatch):
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(_event(str(i))) + "\n" for i in range(12)))
    record, calls = importer._record_rejections, []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:  # the user pressed Ctrl-C while the third batch was being stored
            raise KeyboardInterrupt
        return record(*args, **kwargs)

    monkeypatch.setattr(importer, "_record_rejections", interrupted)
    with pytest.raises(KeyboardInterrupt):
        import_path(db_path, path)
    kept = _rows(db_path, "SELECT count(*) FROM events")[0][0]
    assert 0 < kept < 12  # the first two batches were committed, the third rolled back
    monkeypatch.setattr(importer, "_record_rejections", record)
    import_path(db_path, path)
    assert _rows(db_path, "SELECT count(*), count(DISTINCT event_id) FROM events") == [(12, 12)]


def test_parquet_row_numbers_hold_across_batches(tmp_path, db_path, small_batches):
    folder = tmp_path / "pq"
    folder.mkdir()
    keys = ["V-1", "V-2", None, "V-4", None]
    pd.DataFrame({"source": ["t"] * 5, "key": keys}).to_parquet(folder / "items.parquet")
    report = import_path(db_path, folder)
    assert report.rejected == ["items.parquet:3: key: missing", "items.parquet:5: key: missing"]
    assert _rows(db_path, "SELECT key FROM items ORDER BY key") == [("V-1",), ("V-2",), ("V-4",)]


def test_a_file_that_is_not_parquet_is_one_clear_error(tmp_path, db_path):
    path = tmp_path / "items.parquet"
    path.write_bytes(b"this is not parquet at all\n")
    with pytest.raises(CadenceError, match="items.parquet: not a readable Parquet file"):
        import_path(db_path, path)


def test_a_secret_in_use_never_reaches_the_warehouse(tmp_path, db_path, monkeypatch):
    secrets = Secrets()
    token = "ghp_importedTokenValue1234"
    secrets.add(token)
    monkeypatch.setattr(importer, "SECRETS", secrets)
    path = tmp_path / "mixed.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in [
        {"record": "item", "source": "t", "key": "V-1", "summary": f"token {token} leaked", "labels": [token, "x"]},
        {"record": "event", **_event("1", f"Authorization: Bearer {token}")},
    ]))
    import_path(db_path, path)
    assert _rows(db_path, "SELECT summary, labels FROM items") == [("token [redacted] leaked", ["[redacted]", "x"])]
    assert _rows(db_path, "SELECT text FROM events") == [("Authorization: Bearer [redacted]",)]
    assert token.encode() not in db_path.read_bytes()
