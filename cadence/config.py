"""``cadence.toml``: status mappings, team mapping, learning and timebox rules, the estimate field.

Every key is optional. An error names the file, the key and what was expected::

    [statuses]                    # status name or id -> new | in_progress | done
    "In Review" = "in_progress"
    "10001" = "done"

    [teams]                       # board id, repository or project -> team name
    "jira:board:12" = "Vision"
    "github:acme/models" = "Vision"

    [learning]
    types = ["Spike", "Research", "Experiment", "Investigation"]
    labels = ["learning", "finding", "experiment", "spike", "eda"]
    markers = ["Learning", "Finding", "Outcome", "Result", "Decision", "TIL"]
    dropped_resolutions = ["Won't Do", "Duplicate", "Not Planned", "Dropped", ...]

    [timebox]
    label_pattern = '^timebox:(\\d+(?:\\.\\d+)?)(h|d|w)$'
    hours_per_day = 8
    days_per_week = 5
    tolerance = 0.1               # an overrun within 10% of the timebox ("10%" works too) does not count...
    min_tolerance_h = 1           # ...nor one within this many hours, whichever is larger
    types = ["Spike", "Research", "Experiment", "Investigation", "EDA"]
    labels = ["spike", "research", "experiment", "investigation", "eda"]

    [estimate]
    field = "customfield_10016"   # overrides the field found on the board

    [github]
    in_progress_labels = ["in progress", "wip"]

    [privacy]
    pseudonymize = false          # store only hashed person ids

    [report]
    trend_window = 3              # sprints that the report's arrows and the retro scorecard compare against

    [[sources]]                   # what `cadence nightly` syncs
    kind = "jira"
    url = "https://example.atlassian.net"
    projects = ["ML"]
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cadence.errors import ConfigError
from cadence.records import CATEGORIES

CONFIG_FILE = "cadence.toml"

LEARNING_TYPES = ("Spike", "Research", "Experiment", "Investigation")
LEARNING_LABELS = ("learning", "finding", "experiment", "spike", "eda")
LEARNING_MARKERS = ("Learning", "Finding", "Outcome", "Result", "Decision", "TIL")
DROPPED_RESOLUTIONS = (
    "Won't Do",
    "Wont Do",
    "Won't Fix",
    "Duplicate",
    "Not Planned",
    "not_planned",
    "Dropped",
    "Cannot Reproduce",
    "Declined",
)
TIMEBOX_TYPES = ("Spike", "Research", "Experiment", "Investigation", "EDA")
TIMEBOX_LABELS = ("spike", "research", "experiment", "investigation", "eda")
TIMEBOX_PATTERN = r"^timebox:(\d+(?:\.\d+)?)(h|d|w)$"


@dataclass(frozen=True)
class Config:
    statuses: dict[str, str] = field(default_factory=dict)
    teams: dict[str, str] = field(default_factory=dict)
    learning_types: tuple[str, ...] = LEARNING_TYPES
    learning_labels: tuple[str, ...] = LEARNING_LABELS
    learning_markers: tuple[str, ...] = LEARNING_MARKERS
    dropped_resolutions: tuple[str, ...] = DROPPED_RESOLUTIONS
    timebox_label_pattern: str = TIMEBOX_PATTERN
    hours_per_day: float = 8.0
    days_per_week: int = 5
    timebox_types: tuple[str, ...] = TIMEBOX_TYPES
    timebox_labels: tuple[str, ...] = TIMEBOX_LABELS
    timebox_tolerance: float = 0.1  # share of the timebox
    timebox_min_tolerance_h: float = 1.0
    estimate_field: str | None = None
    in_progress_labels: tuple[str, ...] = ("in progress", "wip")
    pseudonymize: bool = False
    sources: tuple[dict[str, Any], ...] = ()
    trend_window: int = 3
    path: Path | None = None

    def team_for(self, scope: str, default: str) -> str:
        """The team a board, repository or project belongs to."""
        return self.teams.get(scope, default)


def _expect(cond: bool, path: Path, key: str, expected: str, got: Any) -> None:
    if not cond:
        raise ConfigError(f"{path}: [{key}] should be {expected}, got {got!r}")


def _strings(raw: dict, section: str, key: str, path: Path, default: tuple[str, ...]) -> tuple[str, ...]:
    value = raw.get(key, default)
    _expect(
        isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value),
        path, f"{section}.{key}", "a list of strings", value,
    )
    return tuple(value)


def _number(raw: dict, section: str, key: str, path: Path, default: float) -> float:
    value = raw.get(key, default)
    _expect(isinstance(value, (int, float)) and value > 0, path, f"{section}.{key}", "a positive number", value)
    return value


def _share(raw: dict, section: str, key: str, path: Path, default: float) -> float:
    """A share such as ``0.1`` or ``"10%"``, from 0 up to (not including) 10."""
    value = raw.get(key, default)
    if isinstance(value, str) and re.fullmatch(r"\s*\d+(?:\.\d+)?\s*%\s*", value):
        value = float(value.strip().rstrip("%")) / 100
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < 10
    _expect(ok, path, f"{section}.{key}", 'a share such as 0.1 or "10%"', value)
    return float(value)


def _hours(raw: dict, section: str, key: str, path: Path, default: float) -> float:
    value = raw.get(key, default)
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0
    _expect(ok, path, f"{section}.{key}", "a number of hours, 0 or more", value)
    return float(value)


def _count(raw: dict, section: str, key: str, path: Path, default: int) -> int:
    value = raw.get(key, default)
    ok = isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 52
    _expect(ok, path, f"{section}.{key}", "a whole number from 1 to 52", value)
    return value


def _table(data: dict, key: str, path: Path) -> dict:
    value = data.get(key, {})
    _expect(isinstance(value, dict), path, key, "a table", value)
    return value


def parse_config(data: dict[str, Any], path: Path) -> Config:
    known = {"statuses", "teams", "learning", "timebox", "estimate", "github", "privacy", "sources", "report"}
    unknown = sorted(set(data) - known)
    _expect(not unknown, path, ", ".join(unknown), f"one of {sorted(known)}", unknown)
    statuses = _table(data, "statuses", path)
    for name, category in statuses.items():
        _expect(category in CATEGORIES, path, f"statuses.{name}", f"one of {list(CATEGORIES)}", category)
    teams = _table(data, "teams", path)
    for scope, team in teams.items():
        _expect(isinstance(team, str) and team, path, f"teams.{scope}", "a team name", team)
    learning = _table(data, "learning", path)
    timebox = _table(data, "timebox", path)
    pattern = timebox.get("label_pattern", TIMEBOX_PATTERN)
    try:
        compiled = re.compile(pattern)
    except (re.error, TypeError) as exc:
        raise ConfigError(f"{path}: [timebox.label_pattern] should be a regular expression: {exc}") from None
    _expect(compiled.groups == 2, path, "timebox.label_pattern", "a pattern with two groups (number, unit)", pattern)
    estimate = _table(data, "estimate", path)
    est_field = estimate.get("field")
    _expect(est_field is None or isinstance(est_field, str), path, "estimate.field", "a field id", est_field)
    github = _table(data, "github", path)
    privacy = _table(data, "privacy", path)
    report = _table(data, "report", path)
    pseudo = privacy.get("pseudonymize", False)
    _expect(isinstance(pseudo, bool), path, "privacy.pseudonymize", "true or false", pseudo)
    sources = data.get("sources", [])
    _expect(
        isinstance(sources, list) and all(isinstance(s, dict) and s.get("kind") in ("jira", "github") for s in sources),
        path, "sources", 'a list of tables with kind = "jira" or "github"', sources,
    )
    return Config(
        statuses=dict(statuses),
        teams=dict(teams),
        learning_types=_strings(learning, "learning", "types", path, LEARNING_TYPES),
        learning_labels=_strings(learning, "learning", "labels", path, LEARNING_LABELS),
        learning_markers=_strings(learning, "learning", "markers", path, LEARNING_MARKERS),
        dropped_resolutions=_strings(learning, "learning", "dropped_resolutions", path, DROPPED_RESOLUTIONS),
        timebox_label_pattern=pattern,
        hours_per_day=_number(timebox, "timebox", "hours_per_day", path, 8.0),
        days_per_week=int(_number(timebox, "timebox", "days_per_week", path, 5)),
        timebox_types=_strings(timebox, "timebox", "types", path, TIMEBOX_TYPES),
        timebox_labels=_strings(timebox, "timebox", "labels", path, TIMEBOX_LABELS),
        timebox_tolerance=_share(timebox, "timebox", "tolerance", path, 0.1),
        timebox_min_tolerance_h=_hours(timebox, "timebox", "min_tolerance_h", path, 1.0),
        estimate_field=est_field,
        in_progress_labels=_strings(github, "github", "in_progress_labels", path, ("in progress", "wip")),
        pseudonymize=pseudo,
        sources=tuple(sources),
        trend_window=_count(report, "report", "trend_window", path, 3),
        path=path,
    )


def load_config(path: str | Path | None = None) -> Config:
    """Read ``path``, or ``./cadence.toml`` when it exists, or return the defaults."""
    if path is None:
        path = Path(CONFIG_FILE)
        if not path.exists():
            return Config()
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such configuration file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_config(data, path)
