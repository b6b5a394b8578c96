"""``cadence export``: Parquet files another engine reads back to the same rows.

The oracle is the warehouse itself: every table read back from the export (by DuckDB's own
Parquet reader, and by pyarrow, as Spark or a BI tool would) equals the table it came from.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pyarrow.dataset as ds
import pytest

from cadence.importer import import_path
from cadence.warehouse.connection import connect
from cadence.warehouse.schema import SCHEMA_VERSION
from conftest import ROOT


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    db = tmp_path_factory.mktemp("export") / "cadence.duckdb"
    import_path(db, ROOT / "data" / "demo")
    return db


def test_export_reads_back_to_the_same_rows(demo_db, tmp_path):
    out = tmp_path / "parquet"
    result = subprocess.run([sys.executable, "-m", "cadence", "export", str(out), "--db", str(demo_db)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["schema_version"] == SCHEMA_VERSION
    months = sorted(p.name for p in (out / "events" / "source=demo").iterdir())
    assert months[0].startswith("month=20") and len(months) > 3
    with connect(demo_db) as con:
        for table in ("items", "sprints", "teams", "statuses"):
            original = con.execute(f"SELECT * FROM {table} ORDER BY ALL").df()
            back = con.execute(f"SELECT * FROM read_parquet('{out / (table + '.parquet')}') ORDER BY ALL").df()
            assert back.equals(original), table
            assert manifest["tables"][table]["rows"] == len(original)
        events = con.execute("SELECT * FROM events ORDER BY source, event_id").df()
        back = con.execute(f"""SELECT * EXCLUDE (month) FROM read_parquet('{out}/events/*/*/*.parquet',
                               hive_partitioning = true) ORDER BY source, event_id""").df()
        assert back[list(events.columns)].equals(events)
    # pyarrow (what Spark and most BI tools use underneath) sees the partitions as columns.
    table = ds.dataset(out / "events", format="parquet", partitioning="hive").to_table(columns=["source", "month"])
    assert table.num_rows == len(events) and set(table.column("source").to_pylist()) == {"demo"}


def test_export_refuses_a_folder_that_is_not_empty(demo_db, tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    result = subprocess.run([sys.executable, "-m", "cadence", "export", str(tmp_path), "--db", str(demo_db)],
                            capture_output=True, text=True)
    assert result.returncode == 1 and "not empty" in result.stderr and "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]
