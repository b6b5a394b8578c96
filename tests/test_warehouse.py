"""The warehouse file: migrations, upserts, versions and locks, on real DuckDB files."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import duckdb
import pytest

import cadence
from cadence.errors import WarehouseError
from cadence.records import Batch
from cadence.warehouse import Cursor, connect, migrate, save
from cadence.warehouse.schema import MIGRATIONS, SCHEMA_VERSION, Migration

TABLES = {"teams", "sprints", "items", "events", "statuses", "snapshots", "raw", "sync_state", "data_quality", "runs"}


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}


def test_migrations_on_an_empty_file_create_every_table_and_record_themselves(db_path):
    with connect(db_path, read_only=False) as con:
        assert TABLES <= _tables(con)
        recorded = con.execute("SELECT version, name FROM schema_migrations ORDER BY version").fetchall()
    assert recorded == [(m.version, m.name) for m in sorted(MIGRATIONS, key=lambda m: m.version)]


def test_a_file_at_an_older_version_is_upgraded_and_keeps_its_rows(db_path):
    con = duckdb.connect(str(db_path))
    migrate(con, MIGRATIONS[:1])
    con.execute("INSERT INTO teams (team) VALUES ('Vision')")
    newer = Migration(99, "add_team_colour", lambda c: c.execute("ALTER TABLE teams ADD COLUMN colour VARCHAR"))
    assert migrate(con, [*MIGRATIONS, newer]) == [m.name for m in MIGRATIONS[1:]] + ["add_team_colour"]
    assert con.execute("SELECT team, colour FROM teams").fetchall() == [("Vision", None)]
    assert con.execute("SELECT max(version) FROM schema_migrations").fetchall() == [(99,)]
    con.close()


def test_a_failing_migration_changes_nothing(db_path):
    con = duckdb.connect(str(db_path))
    migrate(con)

    def broken(c):
        c.execute("ALTER TABLE teams ADD COLUMN colour VARCHAR")
        c.execute("SELECT * FROM no_such_table")

    with pytest.raises(duckdb.Error):
        migrate(con, [*MIGRATIONS, Migration(98, "broken", broken)])
    columns = [r[0] for r in con.execute("DESCRIBE teams").fetchall()]
    assert "colour" not in columns
    assert con.execute("SELECT max(version) FROM schema_migrations").fetchall() == [(SCHEMA_VERSION,)]
    con.close()


def test_a_file_from_a_newer_cadence_gives_a_clear_error(db_path):
    with connect(db_path, read_only=False) as con:
        con.execute("INSERT INTO schema_migrations VALUES (9999, 'from_the_future', now())")
    with pytest.raises(WarehouseError, match="newer cadence"):
        cadence.open(db_path)


def test_saving_the_same_batch_twice_changes_nothing(db_path):
    batch = Batch(
        items=[{"source": "jira", "key": "ML-1", "summary": "first", "labels": ["spike"]}],
        events=[
            {"source": "jira", "event_id": "h1:0", "key": "ML-1", "occurred_at": "2024-03-04T09:00:00+01:00",
             "kind": "status", "to_id": "3", "to_category": "in_progress"},
        ],
    )
    with connect(db_path, read_only=False) as con:
        save(con, batch, Cursor("jira", "ML", "2024-03-04T08:00:00Z"))
        first = con.execute("SELECT * FROM items, events").fetchall()
        save(con, batch, Cursor("jira", "ML", "2024-03-04T08:00:00Z"))
        assert con.execute("SELECT * FROM items, events").fetchall() == first
        assert con.execute("SELECT count(*) FROM events").fetchall() == [(1,)]
        when = con.execute("SELECT occurred_at FROM events").fetchall()[0][0]
    assert when.isoformat() == "2024-03-04T08:00:00+00:00"


def test_a_later_save_of_the_same_key_replaces_the_row(db_path):
    with connect(db_path, read_only=False) as con:
        save(con, Batch(items=[{"source": "jira", "key": "ML-1", "summary": "old"}]))
        save(con, Batch(items=[{"source": "jira", "key": "ML-1", "summary": "new"}]))
        assert con.execute("SELECT summary FROM items").fetchall() == [("new",)]


def test_a_failed_save_rolls_back_rows_and_cursor(db_path):
    bad = Batch(
        items=[{"source": "jira", "key": "ML-1"}],
        events=[{"source": "jira", "event_id": "x", "key": "ML-1", "occurred_at": None, "kind": "status"}],
    )
    with connect(db_path, read_only=False) as con:
        with pytest.raises(duckdb.Error):
            save(con, bad, Cursor("jira", "ML", "2024-01-01"))
        assert con.execute("SELECT count(*) FROM items").fetchall() == [(0,)]
        assert con.execute("SELECT count(*) FROM sync_state").fetchall() == [(0,)]


def test_open_is_read_only_by_default(db_path):
    with connect(db_path, read_only=False):
        pass
    wh = cadence.open(db_path)
    with pytest.raises(WarehouseError, match="read-only"):
        wh.save(Batch(teams=[{"team": "x"}]))
    with wh.connect() as con, pytest.raises(duckdb.Error):
        con.execute("INSERT INTO teams (team) VALUES ('x')")


def test_a_read_only_open_against_another_process_lock_says_what_to_do(db_path):
    with connect(db_path, read_only=False):
        pass
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import duckdb, sys, time
            con = duckdb.connect({str(db_path)!r})
            print("locked", flush=True)
            time.sleep(30)
        """)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        with pytest.raises(WarehouseError) as caught:
            cadence.open(db_path, lock_wait_s=0.5)
        assert time.monotonic() - started < 5
        message = str(caught.value)
        assert f"process {holder.pid}" in message
        assert "try again" in message
        assert "\n" not in message and "Traceback" not in message
    finally:
        holder.kill()
        holder.wait()
    assert cadence.open(db_path).teams().empty


def test_a_missing_file_is_not_created_by_a_read(tmp_path):
    missing = tmp_path / "nothing.duckdb"
    with pytest.raises(WarehouseError, match="no warehouse"):
        cadence.open(missing)
    assert not missing.exists()


def _memory_limit(db_path) -> str:
    with connect(db_path) as con:
        return con.execute("SELECT current_setting('memory_limit')").fetchone()[0]


def test_duckdb_memory_is_capped_at_1gb_unless_the_environment_says_otherwise(db_path, monkeypatch):
    # Expected values from DuckDB's documentation: a size in GB is 1000^3 bytes, and DuckDB shows
    # settings in binary units (1GB = 953.6 MiB, 2GB = 1.8 GiB); its own default is 80% of RAM.
    with connect(db_path, read_only=False):
        pass
    monkeypatch.delenv("CADENCE_MEMORY_LIMIT", raising=False)
    assert _memory_limit(db_path) == "953.6 MiB"
    monkeypatch.setenv("CADENCE_MEMORY_LIMIT", "2GB")
    assert _memory_limit(db_path) == "1.8 GiB"
    monkeypatch.setenv("CADENCE_MEMORY_LIMIT", "default")
    assert _memory_limit(db_path) not in ("953.6 MiB", "1.8 GiB")


@pytest.mark.parametrize("value", ["lots", "1GB'; DROP TABLE items; --", "-5GB"])
def test_a_memory_limit_that_is_not_a_size_is_one_clear_error(db_path, monkeypatch, value):
    monkeypatch.setenv("CADENCE_MEMORY_LIMIT", value)
    with pytest.raises(WarehouseError, match="CADENCE_MEMORY_LIMIT=.* is not a memory size"):
        with connect(db_path, read_only=False):
            pass
