"""The neutral format as data (``SPECS``) and the set-based SQL that checks and loads one batch of lines.

For each record kind one statement parses every line of the batch once (``from_json`` into a struct of
that kind's fields as text), casts each field once, and names the first problem of each row; the rows
without one are upserted by natural key. See docs/neutral-format.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from cadence.records import ACTOR_KINDS, CATEGORIES, EVENT_KINDS, SPRINT_STATES

KINDS = ("team", "status", "sprint", "item", "event")


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
EXPECTED = {"TIMESTAMPTZ": "an ISO-8601 time", "DOUBLE": "a number", "BOOLEAN": "true or false",
            "DATE": "a date YYYY-MM-DD"}


def quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _struct(kind: str) -> str:
    """The struct each line is parsed into: ``record`` and the kind's fields, text for scalars, JSON for lists."""
    _, fields = SPECS[kind]
    parts = ['"record": "VARCHAR"'] + [f'"{f.name}": "{"JSON" if f.type == "LIST" else "VARCHAR"}"' for f in fields]
    return "{" + ", ".join(parts) + "}"


def _typed(f: Field) -> str:
    """The field's value as stored, from its text ``f.name``; NULL when it does not cast."""
    if f.type == "LIST":
        return f"CASE WHEN json_type({f.name}) = 'ARRAY' THEN from_json({f.name}, '[\"VARCHAR\"]') END"
    return f.name if f.type == "VARCHAR" else f"try_cast({f.name} AS {f.type})"


def _problems(f: Field) -> list[tuple[str, str]]:
    """(SQL condition, message) pairs that reject a row for this field; ``_v`` is the typed value."""
    checks = []
    if f.required:
        checks.append((f"{f.name} IS NULL OR {f.name} = ''", "missing"))
    if f.type == "LIST":
        checks.append((f"{f.name} IS NOT NULL AND {f.name}_v IS NULL", "should be a list of strings"))
    elif f.type != "VARCHAR":
        checks.append((f"{f.name} IS NOT NULL AND {f.name}_v IS NULL", f"should be {EXPECTED[f.type]}"))
    if f.choices:
        options = ", ".join(quote(c) for c in f.choices)
        checks.append((f"{f.name} IS NOT NULL AND {f.name} NOT IN ({options})",
                       f"should be one of {', '.join(f.choices)}"))
    return [(cond, f"{f.name}: {message}") for cond, message in checks]


def check_sql(kind: str, lines: str, default_kind: str | None, first: bool) -> str:
    """A SELECT of the lines in ``lines`` (line_no, line): line_no, record, the kind's typed values
    (``<field>_v``) and ``error``, the first problem of the row (NULL for a good row).

    The ``first`` pass over a batch also names the problems of the line itself (not JSON, not an
    object, no known record kind) and keeps the rows of other kinds, with a NULL error, for their pass.
    A blank line has no record and no error. Each line is parsed once and each field cast once (a typed
    value is a column of the inner query, so the check and the insert read it, not a second cast).
    """
    _, fields = SPECS[kind]
    cases = []
    if first:
        cases += ["WHEN NOT valid THEN CASE WHEN NOT blank THEN 'not valid JSON' END",
                  "WHEN NOT is_object THEN 'not a JSON object'",
                  f"WHEN record IS NULL OR record NOT IN ({', '.join(map(quote, KINDS))}) "
                  f"THEN 'record: should be one of {', '.join(KINDS)}'",
                  f"WHEN record <> {quote(kind)} THEN NULL"]
    cases += [f"WHEN {cond} THEN {quote(message)}" for f in fields for cond, message in _problems(f)]
    typed = ", ".join(f"{_typed(f)} AS {f.name}_v" for f in fields)
    default = quote(default_kind) if default_kind else "NULL"
    # json_valid is cheap next to from_json. Only a line that is not valid JSON pays for the trim that
    # tells a blank line (no record and no error: skipped) from a broken one; a WHERE on it cost more
    # than the parse of a JSON object.
    return f"""
        SELECT line_no, record, {', '.join(f'{f.name}_v' for f in fields)},
               CASE {' '.join(cases)} END AS error
        FROM (SELECT *, {typed} FROM (
              SELECT line_no, valid, blank, is_object,
                     CASE WHEN valid THEN coalesce(r.record, {default}) END AS record,
                     {', '.join(f'r.{f.name} AS {f.name}' for f in fields)}
              FROM (SELECT line_no, valid,
                           CASE WHEN NOT valid THEN trim(line, ' ' || chr(9) || chr(10) || chr(13)) = '' END AS blank,
                           CASE WHEN valid THEN starts_with(line, '{{') OR ltrim(line)[1] = '{{' END AS is_object,
                           CASE WHEN valid THEN from_json(line, {quote(_struct(kind))}) END AS r
                    FROM (SELECT line_no, line, json_valid(line) AS valid FROM {lines}))))
    """


def rows_sql(kind: str, checked: str, deduplicate: bool, redact: str | None) -> tuple[list[str], str]:
    """(columns, SELECT) of the good rows of ``checked`` (a ``check_sql`` result) as the kind's table
    stores them; with ``deduplicate``, the last line of each natural key only. ``redact`` names a SQL
    function applied to every text value (keys too, so a re-import finds what it stored)."""
    _, fields = SPECS[kind]
    values = {f.name: f"{f.name}_v" for f in fields}
    if redact:
        for f in fields:
            if f.type == "VARCHAR":
                values[f.name] = f"{redact}({f.name}_v)"
            elif f.type == "LIST":
                values[f.name] = f"list_transform({f.name}_v, lambda v: {redact}(v))"
    if kind == "sprint":
        values["sprint_key"] = f"{values['source']} || ':' || {values['sprint_id']}"
    if kind == "event":
        # Membership events name the source's sprint id; the warehouse keys sprints by sprint_key.
        for name in ("from_id", "to_id"):
            values[name] = (f"CASE WHEN kind_v IN ('sprint_added', 'sprint_removed') "
                            f"THEN {values['source']} || ':' || {values[name]} ELSE {values[name]} END")
    select = ", ".join(f"{expr} AS {name}" for name, expr in values.items())
    keys = ", ".join(f"{k}_v" for k in KEYS[kind])
    latest = f" QUALIFY row_number() OVER (PARTITION BY {keys} ORDER BY line_no DESC) = 1" if deduplicate else ""
    return list(values), f"SELECT {select} FROM {checked} WHERE record = {quote(kind)} AND error IS NULL{latest}"


def duplicates_sql(kind: str, checked: str) -> str:
    """How many good rows of ``kind`` in ``checked`` repeat a natural key of an earlier one."""
    keys = ", ".join(f"{k}_v" for k in KEYS[kind])
    return (f"SELECT count(*) - count(DISTINCT ({keys})) FROM {checked} "
            f"WHERE record = {quote(kind)} AND error IS NULL")
