"""Readers during a sync: two real processes share one warehouse file.

The design under test (cadence/warehouse/connection.py): short transactions. A writer opens the
file per page and commits the page with its cursor; a reader opens it per call. Each waits a
bounded time for the other's lock, then raises WarehouseError with a one-line message.

Each call is its own snapshot: a query is consistent in itself, and two calls may see two pages.
The writer saves page k as 10 items and 30 events with cursor k, so any committed state has
items = 10 (k + 1) and events = 30 (k + 1) for the cursor k it shows: a read that mixes two pages,
or sees a page without its cursor, breaks that equation.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb

from cadence import warehouse

PAGES = 15

WRITER = textwrap.dedent("""
    import sys
    from datetime import datetime, timedelta, timezone
    from cadence import warehouse
    from cadence.records import Batch

    path, pages = sys.argv[1], int(sys.argv[2])
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    for k in range(pages):
        batch = Batch()
        for j in range(10):
            key = f"R-{k * 10 + j}"
            batch.items.append({"source": "test", "key": key, "team": "readers", "type": "Story",
                                "summary": f"page {k}", "created": start + timedelta(hours=k)})
            batch.events += [{"source": "test", "event_id": f"{key}:{e}", "key": key, "kind": "comment",
                              "occurred_at": start + timedelta(hours=k, minutes=e), "text": "x"} for e in range(3)]
        with warehouse.connect(path, read_only=False, wait_s=60) as con:
            warehouse.save(con, batch, warehouse.Cursor("test", "readers", str(k)))
    open(path + ".done", "w").close()
""")

READER = textwrap.dedent("""
    import json, os, sys, time, traceback
    import cadence
    from cadence.errors import WarehouseError

    path, wait = sys.argv[1], float(sys.argv[2])
    last, reads = -1, 0
    out = open(sys.argv[3], "w")
    while True:
        finished = os.path.exists(path + ".done")  # then this read is the one after the last page
        reads += 1
        try:
            wh = cadence.open(path, lock_wait_s=wait)
            items, events, cursor = wh.query(
                "SELECT (SELECT count(*) FROM items WHERE source = 'test'),"
                " (SELECT count(*) FROM events WHERE source = 'test'),"
                " (SELECT coalesce(max(CAST(cursor AS INTEGER)), -1) FROM sync_state WHERE source = 'test')").iloc[0].tolist()
            issues = wh.issues()
            mine = int((issues["source"] == "test").sum())
            out.write(json.dumps({"ok": [int(items), int(events), int(cursor), mine]}) + "\\n")
        except WarehouseError as exc:
            out.write(json.dumps({"warehouse_error": str(exc)}) + "\\n")
        except BaseException:
            out.write(json.dumps({"other": traceback.format_exc()}) + "\\n")
            out.flush()
            sys.exit(3)
        out.flush()
        if finished and reads >= 5:
            break
        time.sleep(0.1)  # a notebook re-runs a cell now and then, not in a tight loop
""")


def _start(script: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", script, *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_a_reader_process_sees_whole_pages_or_a_clear_message_while_a_writer_commits(tmp_path: Path):
    db = tmp_path / "shared.duckdb"
    with warehouse.connect(db, read_only=False):
        pass  # the file exists, migrated, before either process starts
    writer = _start(WRITER, db, PAGES)
    patient = _start(READER, db, 30, tmp_path / "patient.jsonl")  # waits for the writer, like a notebook
    hasty = _start(READER, db, 0.01, tmp_path / "hasty.jsonl")  # gives up almost at once
    results = {}
    for name, proc in (("writer", writer), ("patient", patient), ("hasty", hasty)):
        out, err = proc.communicate(timeout=300)
        results[name] = (proc.returncode, out, err)
    assert results["writer"][0] == 0, results["writer"][2]
    for name in ("patient", "hasty"):
        code, _, err = results[name]
        lines = [json.loads(line) for line in (tmp_path / f"{name}.jsonl").read_text().splitlines()]
        others = [line["other"] for line in lines if "other" in line]
        assert code == 0 and not others, (others, err)
        assert "Traceback" not in err, err
        seen = [line["ok"] for line in lines if "ok" in line]
        for items, events, cursor, issues in seen:
            pages = cursor + 1
            assert (items, events) == (10 * pages, 30 * pages)
            # issues() is another call, so another snapshot: whole pages, and no fewer than just seen.
            assert issues % 10 == 0 and items <= issues <= 10 * PAGES
        progress = [cursor + 1 for _, _, cursor, _ in seen]
        assert progress == sorted(progress)  # never a step back
        assert [i for *_, i in seen] == sorted(i for *_, i in seen)
        assert progress[-1] == PAGES  # the last reads came after the writer finished
        messages = [line["warehouse_error"] for line in lines if "warehouse_error" in line]
        for message in messages:
            assert "\n" not in message and "is in use by" in message and "try again" in message
        results[name] = (len(seen), len(messages))
    # The hasty reader met the writer's lock at least once; the patient one read many states.
    assert results["hasty"][1] > 0
    assert results["patient"][0] >= 5 and results["hasty"][0] >= 1
    with duckdb.connect(str(db)) as con:
        assert con.execute("SELECT count(*), count(DISTINCT key) FROM items").fetchone() == (10 * PAGES, 10 * PAGES)
        assert con.execute("SELECT count(*), count(DISTINCT event_id) FROM events").fetchone() == (30 * PAGES, 30 * PAGES)
        assert con.execute("SELECT cursor FROM sync_state").fetchall() == [(str(PAGES - 1),)]
        con.execute("CHECKPOINT")
    print(f"reads: patient {results['patient']}, hasty {results['hasty']} (ok, warehouse errors)")
