"""``cadence import``: load the neutral format (docs/neutral-format.md) into the warehouse.

Lines are read in chunks and handed to DuckDB, which parses, validates and upserts them with
set-based SQL, so memory stays flat however large the file is. Each chunk commits on its own:
an interrupted import keeps what it loaded and re-running it changes nothing (upserts on
natural keys). A bad row is rejected with its file, line and field, recorded as a data-quality
problem, and the rest still load.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import duckdb
import pyarrow as pa

from cadence.errors import CadenceError
from cadence.progress import Progress, silent
from cadence.records import ACTOR_KINDS, CATEGORIES, EVENT_KINDS, SPRINT_STATES
from cadence.warehouse.connection import connect

log = logging.getLogger(__name__)

CHUNK_BYTES = 64 * 1024 * 1024  # about 250,000 lines of events
KINDS = ("team", "status", "sprint", "item", "event")
FILE_KINDS = {f"{kind}s": kind for kind in KINDS} | {"statuses": "status"}


@dataclass(frozen=True)
class Field:
    name: str
    type: str = "VARCHAR"  # VARCHAR, TIMESTAMPTZ, DOUBLE, BOOLEAN, DATE or LIST
    required: bool = False
    choices: tuple[str, ...] = ()


F = Field
SPECS: dict[str, tuple[str, list[Field]]] = {
    "team": ("teams", [F("team", required=True), F("source"), F("scope"), F("synthetic", "BOOLEAN")]),
    "status": ("statuses", [
        F("source", required=True), F("status_id", required=True), F("name"),
        F("category", required=True, choices=CATEGORIES),
    ]),
    "sprint": ("sprints", [
        F("source", required=True), F("sprint_id", required=True), F("team", required=True), F("name"),
        F("state", choices=SPRINT_STATES), F("goal"), F("planned_start", "TIMESTAMPTZ"),
        F("planned_end", "TIMESTAMPTZ"), F("actual_start", "TIMESTAMPTZ"), F("completed_at", "TIMESTAMPTZ"),
        F("board_id"),
    ]),
    "item": ("items", [
        F("source", required=True), F("key", required=True), F("team"), F("type"), F("summary"),
        F("description"), F("url"), F("created", "TIMESTAMPTZ"), F("updated", "TIMESTAMPTZ"),
        F("resolved", "TIMESTAMPTZ"), F("status"), F("status_id"), F("status_category", choices=CATEGORIES),
        F("resolution"), F("labels", "LIST"), F("assignees", "LIST"), F("original_estimate_h", "DOUBLE"),
        F("time_spent_h", "DOUBLE"), F("due_date", "DATE"), F("story_points", "DOUBLE"),
    ]),
    "event": ("events", [
        F("source", required=True), F("event_id", required=True), F("key", required=True),
        F("occurred_at", "TIMESTAMPTZ", required=True), F("kind", required=True, choices=EVENT_KINDS),
        F("actor"), F("actor_kind", choices=ACTOR_KINDS), F("field"), F("from_id"), F("from_value"),
        F("to_id"), F("to_value"), F("from_category", choices=CATEGORIES),
        F("to_category", choices=CATEGORIES), F("text"), F("initial", "BOOLEAN"),
    ]),
}
KEYS = {"team": ("team",), "status": ("source", "status_id"), "sprint": ("source", "sprint_id"),
        "item": ("source", "key"), "event": ("source", "event_id")}


@dataclass
class ImportReport:
    files: list[str] = field(default_factory=list)
    loaded: dict[str, int] = field(default_factory=lambda: {kind: 0 for kind in KINDS})
    rejected: list[str] = field(default_factory=list)  # "file:line: field: reason"
    rejected_count: int = 0

    def summary(self) -> str:
        plural = {kind: table for kind, (table, _) in SPECS.items()}
        counts = ", ".join(f"{n} {plural[kind]}" for kind, n in self.loaded.items() if n)
        return f"loaded {counts or 'nothing'} from {len(self.files)} file(s); {self.rejected_count} row(s) rejected"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# Every line is parsed once, into a struct of all fields of all kinds: text for scalars and
# JSON for lists. Re-extracting fields with ->> parses the line again per field and was 5x slower.
STRUCT = "{" + ", ".join(
    dict.fromkeys(
        ['"record": "VARCHAR"']
        + [f'"{f.name}": "{"JSON" if f.type == "LIST" else "VARCHAR"}"' for _, fs in SPECS.values() for f in fs]
    )
) + "}"


def _value(f: Field) -> str:
    if f.type == "LIST":
        return f"from_json({f.name}, '[\"VARCHAR\"]')"
    if f.type == "VARCHAR":
        return f.name
    return f"try_cast({f.name} AS {f.type})"


def _problem(f: Field) -> list[tuple[str, str]]:
    """(SQL condition, message) pairs that reject a row for this field, first failing wins."""
    checks = []
    if f.required:
        checks.append((f"{f.name} IS NULL OR {f.name} = ''", "missing"))
    present = f"{f.name} IS NOT NULL"
    if f.type == "LIST":
        checks.append((f"{present} AND json_type({f.name}) <> 'ARRAY'", "should be a list of strings"))
    elif f.type != "VARCHAR":
        expected = {"TIMESTAMPTZ": "an ISO-8601 time", "DOUBLE": "a number", "BOOLEAN": "true or false",
                    "DATE": "a date YYYY-MM-DD"}[f.type]
        checks.append((f"{present} AND {_value(f)} IS NULL", f"should be {expected}"))
    if f.choices:
        options = ", ".join(_quote(c) for c in f.choices)
        checks.append((f"{present} AND {f.name} NOT IN ({options})", f"should be one of {', '.join(f.choices)}"))
    return [(cond, f"{f.name}: {message}") for cond, message in checks]


def _columns(kind: str) -> list[tuple[str, str]]:
    """(column, SQL expression) of the rows to insert for a record kind."""
    _, fields = SPECS[kind]
    columns = [(f.name, _value(f)) for f in fields]
    if kind == "sprint":
        columns.append(("sprint_key", "source || ':' || sprint_id"))
    if kind == "event":
        # Membership events name the source's sprint id; the warehouse keys sprints by sprint_key.
        columns = [
            (name, f"CASE WHEN kind IN ('sprint_added', 'sprint_removed') THEN source || ':' || {expr} "
                   f"ELSE {expr} END" if name in ("from_id", "to_id") else expr)
            for name, expr in columns
        ]
    return columns


def _check_sql(default_kind: str | None) -> str:
    cases = ["WHEN NOT is_object THEN 'not a JSON object'",
             f"WHEN record IS NULL OR record NOT IN ({', '.join(map(_quote, KINDS))}) "
             f"THEN 'record: should be one of {', '.join(KINDS)}'"]
    for kind, (_, fields) in SPECS.items():
        for cond, message in (p for f in fields for p in _problem(f)):
            cases.append(f"WHEN record = {_quote(kind)} AND ({cond}) THEN {_quote(message)}")
    default = _quote(default_kind) if default_kind else "NULL"
    return f"""
        CREATE OR REPLACE TEMP TABLE _checked AS
        SELECT *, CASE WHEN NOT valid THEN 'not valid JSON' {' '.join(cases)} END AS error
        FROM (SELECT * REPLACE (coalesce(record, {default}) AS record)
        FROM (SELECT line_no, valid, is_object, unnest(r) FROM (
            SELECT line_no, valid, is_object,
                   CASE WHEN valid AND is_object THEN from_json(line, {_quote(STRUCT)}) END AS r
            FROM (SELECT line_no, line, json_valid(line) AS valid, ltrim(line)[1] = '{{' AS is_object
                  FROM _lines))))
    """


def _insert(con: duckdb.DuckDBPyConnection, kind: str) -> int:
    table, _ = SPECS[kind]
    columns = _columns(kind)
    names = ", ".join(name for name, _ in columns)
    exprs = ", ".join(f"{expr} AS {name}" for name, expr in columns)
    keys = ", ".join(KEYS[kind])
    rows = (f"SELECT {names} FROM (SELECT line_no, {exprs} FROM _checked "
            f"WHERE record = {_quote(kind)} AND error IS NULL) "
            f"QUALIFY row_number() OVER (PARTITION BY {keys} ORDER BY line_no DESC) = 1")
    if kind != "event":
        return con.execute(f"INSERT OR REPLACE INTO {table} ({names}) {rows}").fetchall()[0][0]
    # events has no index (see schema.py): replace by natural key with a hash join instead.
    con.execute(f"CREATE OR REPLACE TEMP TABLE _events AS {rows}")
    con.execute("DELETE FROM events USING _events n WHERE events.source = n.source AND events.event_id = n.event_id")
    return con.execute(f"INSERT INTO events ({names}) SELECT {names} FROM _events").fetchall()[0][0]


def _load_chunk(con: duckdb.DuckDBPyConnection, relation: str, default_kind: str | None,
                file_name: str, report: ImportReport) -> None:
    """Validate and upsert one chunk of (line_no, line) rows held in ``relation``."""
    con.execute(f"CREATE OR REPLACE TEMP VIEW _lines AS SELECT line_no, line FROM {relation} "
                "WHERE trim(line, ' ' || chr(9) || chr(10) || chr(13)) <> ''")
    con.execute(_check_sql(default_kind))
    con.execute("BEGIN TRANSACTION")
    try:
        for kind in KINDS:
            report.loaded[kind] += _insert(con, kind)
        _record_rejections(con, file_name, report)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _record_rejections(con: duckdb.DuckDBPyConnection, file_name: str, report: ImportReport) -> None:
    rejected = con.execute(
        "SELECT line_no, error FROM _checked WHERE error IS NOT NULL ORDER BY line_no"
    ).fetchall()
    report.rejected_count += len(rejected)
    report.rejected += [f"{file_name}:{line}: {error}" for line, error in rejected[:1000]]
    if rejected:
        con.execute(
            """INSERT INTO data_quality (source, entity, entity_id, problem, detail, first_seen, last_seen)
               SELECT 'import', 'line', ? || ':' || line_no, 'invalid_row', error, now(), now()
               FROM _checked WHERE error IS NOT NULL
               ON CONFLICT DO UPDATE SET detail = excluded.detail, last_seen = excluded.last_seen""",
            [file_name],
        ).fetchall()


def _jsonl_chunks(path: Path) -> Iterator[pa.Table]:
    # readlines(hint) reads whole blocks in C; a Python loop per line cost more than DuckDB's parse.
    with path.open(encoding="utf-8", errors="replace") as handle:
        first = 1
        while lines := handle.readlines(CHUNK_BYTES):
            yield pa.table({"line_no": pa.array(range(first, first + len(lines))), "line": lines})
            first += len(lines)


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        found = sorted(p for p in path.iterdir() if p.suffix in (".jsonl", ".parquet"))
        order = {kind: i for i, kind in enumerate(("teams", "statuses", "sprints", "items", "events"))}
        return sorted(found, key=lambda p: (order.get(p.stem, 99), p.name))
    if not path.exists():
        raise CadenceError(f"{path}: no such file or folder")
    if path.suffix not in (".jsonl", ".parquet", ".json"):
        raise CadenceError(f"{path}: expected a .jsonl or .parquet file, or a folder of them")
    return [path]


def import_path(db_path: str | Path, path: str | Path, progress: Progress = silent) -> ImportReport:
    """Import a neutral-format file or folder into the warehouse at ``db_path``."""
    report = ImportReport()
    files = _files(Path(path))
    if not files:
        raise CadenceError(f"{path}: no .jsonl or .parquet files in this folder")
    with connect(db_path, read_only=False) as con:
        for file in files:
            report.files.append(str(file))
            default_kind = FILE_KINDS.get(file.stem)
            if file.suffix == ".parquet":
                relation = (f"(SELECT file_row_number + 1 AS line_no, to_json(t)::VARCHAR AS line "
                            f"FROM read_parquet({_quote(str(file))}, file_row_number = true) t)")
                _load_chunk(con, relation, default_kind, file.name, report)
                continue
            done = 0
            for chunk in _jsonl_chunks(file):
                con.register("_chunk", chunk)
                try:
                    _load_chunk(con, "_chunk", default_kind, file.name, report)
                finally:
                    con.unregister("_chunk")
                done += chunk.num_rows
                progress(f"import {file.name}", done)
    log.info("%s", report.summary())
    return report
