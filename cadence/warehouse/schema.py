"""The warehouse schema, as ordered, named migrations.

Each migration runs in its own transaction and is recorded in ``schema_migrations``.
No table is ever changed outside a migration. Version numbers leave room so that
work on different parts can add migrations without renumbering: 1-9 core,
10-19 Jira, 20-29 GitHub, 30-39 metrics, 40-49 nightly job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import duckdb


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    apply: Callable[[duckdb.DuckDBPyConnection], None]


def _core_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        """
        CREATE TABLE teams (
            team        VARCHAR PRIMARY KEY,
            source      VARCHAR,
            scope       VARCHAR,          -- board id, repository or project it comes from
            synthetic   BOOLEAN DEFAULT FALSE
        );

        -- A sprint is keyed by sprint_key, unique across sources; sprint_id is the source's own id
        -- (Jira sprint id, iteration id, milestone number), which is what users see.
        CREATE TABLE sprints (
            sprint_key     VARCHAR PRIMARY KEY,
            source         VARCHAR NOT NULL,
            sprint_id      VARCHAR NOT NULL,
            team           VARCHAR,
            name           VARCHAR,
            state          VARCHAR,       -- future | active | closed
            goal           VARCHAR,
            planned_start  TIMESTAMPTZ,
            planned_end    TIMESTAMPTZ,
            actual_start   TIMESTAMPTZ,   -- Jira's activatedDate where it exists
            completed_at   TIMESTAMPTZ,
            board_id       VARCHAR        -- origin board
        );

        CREATE TABLE items (
            source              VARCHAR NOT NULL,
            key                 VARCHAR NOT NULL,  -- PROJ-123 or owner/repo#123
            team                VARCHAR,
            type                VARCHAR,
            summary             VARCHAR,
            description         VARCHAR,
            url                 VARCHAR,
            created             TIMESTAMPTZ,
            updated             TIMESTAMPTZ,
            resolved            TIMESTAMPTZ,
            status              VARCHAR,
            status_id           VARCHAR,
            status_category     VARCHAR,           -- new | in_progress | done
            resolution          VARCHAR,           -- as the source names it; NULL when unresolved
            labels              VARCHAR[],
            assignees           VARCHAR[],
            original_estimate_h DOUBLE,
            time_spent_h        DOUBLE,
            due_date            DATE,
            story_points        DOUBLE,
            PRIMARY KEY (source, key)
        );

        -- One row per change, keyed by (source, event_id). There is no PRIMARY KEY index: DuckDB's
        -- index made upserts of millions of events 5x slower, so writers replace by key with a
        -- hash join (write.py, importer.py) instead.
        -- kind is one of: status, sprint_added, sprint_removed, assignee,
        -- estimate, comment, review, label_added, label_removed, worklog.
        -- See cadence/records.py for what each column holds per kind.
        CREATE TABLE events (
            source         VARCHAR NOT NULL,
            event_id       VARCHAR NOT NULL,
            key            VARCHAR NOT NULL,
            occurred_at    TIMESTAMPTZ NOT NULL,
            kind           VARCHAR NOT NULL,
            actor          VARCHAR,
            actor_kind     VARCHAR,           -- human | bot | unknown
            field          VARCHAR,
            from_id        VARCHAR,
            from_value     VARCHAR,
            to_id          VARCHAR,
            to_value       VARCHAR,
            from_category  VARCHAR,
            to_category    VARCHAR,
            text           VARCHAR
        );

        CREATE TABLE statuses (
            source     VARCHAR NOT NULL,
            status_id  VARCHAR NOT NULL,
            name       VARCHAR,
            category   VARCHAR,               -- new | in_progress | done
            PRIMARY KEY (source, status_id)
        );

        -- What a sync saw of sources that keep no history (Projects v2 iteration membership).
        CREATE TABLE snapshots (
            sprint_key  VARCHAR NOT NULL,
            source      VARCHAR NOT NULL,
            key         VARCHAR NOT NULL,
            seen_at     TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (sprint_key, key, seen_at)
        );

        CREATE TABLE raw (
            source      VARCHAR NOT NULL,
            entity      VARCHAR NOT NULL,     -- issue, sprint, board, comment_page, ...
            entity_id   VARCHAR NOT NULL,
            fetched_at  TIMESTAMPTZ NOT NULL,
            payload     JSON,
            PRIMARY KEY (source, entity, entity_id)
        );

        CREATE TABLE sync_state (
            source          VARCHAR NOT NULL,
            scope           VARCHAR NOT NULL,  -- project, JQL, repository, board
            cursor          VARCHAR,
            last_success_at TIMESTAMPTZ,
            details         JSON,
            PRIMARY KEY (source, scope)
        );

        CREATE TABLE data_quality (
            source      VARCHAR NOT NULL,
            entity      VARCHAR NOT NULL,
            entity_id   VARCHAR NOT NULL,
            problem     VARCHAR NOT NULL,
            detail      VARCHAR,
            first_seen  TIMESTAMPTZ,
            last_seen   TIMESTAMPTZ,
            PRIMARY KEY (source, entity, entity_id, problem)
        );

        CREATE TABLE runs (
            run_id      VARCHAR PRIMARY KEY,
            command     VARCHAR,
            started_at  TIMESTAMPTZ,
            ended_at    TIMESTAMPTZ,
            status      VARCHAR,              -- running | ok | partial | failed
            details     JSON                  -- per-source counts, requests, errors
        );
        """
    )


def _events_initial(con: duckdb.DuckDBPyConnection) -> None:
    # Values an item was created with, rebuilt as events at ``created`` (see cadence/records.py).
    con.execute("ALTER TABLE events ADD COLUMN initial BOOLEAN DEFAULT FALSE")


def _jira_sprint_reports(con: duckdb.DuckDBPyConnection) -> None:
    # Jira's own Sprint Report per closed sprint (greenhopper rapid/charts/sprintreport), parsed; the
    # payload itself is in raw (entity 'sprint_report'). Every try leaves a row, so a sprint is asked
    # for once; a refetched report replaces its sprint's rows.
    con.execute(
        """
        CREATE TABLE sprint_reports (
            sprint_key                 VARCHAR PRIMARY KEY,
            source                     VARCHAR NOT NULL,
            sprint_id                  VARCHAR NOT NULL,
            board_id                   VARCHAR NOT NULL,  -- the rapidViewId it was fetched for
            fetched_at                 TIMESTAMPTZ NOT NULL,
            status                     VARCHAR NOT NULL,  -- parsed | unparsed (kept raw) | refused
            problem                    VARCHAR,           -- why it is not parsed, one line
            report_state               VARCHAR,
            estimate_field             VARCHAR,
            -- the report's sums; NULL where Jira sends {"text": "null"} (no estimate at all)
            completed_initial_sum      DOUBLE,
            completed_sum              DOUBLE,
            not_completed_initial_sum  DOUBLE,
            not_completed_sum          DOUBLE,
            punted_initial_sum         DOUBLE,
            punted_sum                 DOUBLE,
            other_sprint_initial_sum   DOUBLE,
            other_sprint_sum           DOUBLE,
            all_issues_sum             DOUBLE,
            added_keys                 VARCHAR[]  -- issueKeysAddedDuringSprint
        );

        CREATE TABLE sprint_report_issues (
            sprint_key           VARCHAR NOT NULL,
            section              VARCHAR NOT NULL,  -- completed | not_completed | punted | completed_in_another_sprint
            key                  VARCHAR NOT NULL,
            issue_id             VARCHAR,
            added_during_sprint  BOOLEAN NOT NULL,
            type_name            VARCHAR,
            status_id            VARCHAR,
            status_name          VARCHAR,
            done                 BOOLEAN,
            hidden               BOOLEAN,
            estimate_initial     DOUBLE,           -- estimateStatistic
            estimate_current     DOUBLE,           -- currentEstimateStatistic
            PRIMARY KEY (sprint_key, section, key)
        );
        """
    )


MIGRATIONS: list[Migration] = [
    Migration(1, "core_tables", _core_tables),
    Migration(2, "events_initial_values", _events_initial),
    Migration(10, "jira_sprint_reports", _jira_sprint_reports),
]

# The newest schema this build of cadence understands.
SCHEMA_VERSION = max(m.version for m in MIGRATIONS)
