"""Pure helpers for Jira payloads: times, people, field discovery and the Sprint field in every form.

The Sprint field comes in three shapes, and all of them are read here:

- Cloud (and Server 8+): a list of objects ``{"id": 225, "name": ..., "state": "closed", "boardId": 24, ...}``;
- old Server: a list of strings
  ``com.atlassian.greenhopper.service.sprint.Sprint@21d00be2[id=225,rapidViewId=24,state=CLOSED,name=...]``,
  whose ``name`` (and ``goal``) may contain commas, so the string is split on the *known* keys only;
- changelog ``from``/``to`` values: comma-separated sprint ids, ``"225, 229"``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Mapping

SPRINT_SCHEMA = "com.pyxis.greenhopper.jira:gh-sprint"
# When no board says which field holds story points, these custom field types and names are the
# ones Jira Software itself creates ("Story Points" on Server and company-managed Cloud projects,
# "Story point estimate" on team-managed ones).
STORY_POINT_NAMES = ("story points", "story point estimate")
NUMBER_SCHEMAS = ("com.atlassian.jira.plugin.system.customfieldtypes:float", "com.atlassian.jira.plugin.system.customfieldtypes:jwm-story-points")

# Changelog items whose from/to name a person (ids, and display names in fromString/toString).
PERSON_FIELDS = ("assignee", "reporter", "creator")

CATEGORY_BY_KEY = {"new": "new", "indeterminate": "in_progress", "done": "done"}

# Keys Jira writes in the old sprint string, in any order. Splitting only before these keeps
# commas inside a name ("Sprint 5, the big one") or a goal intact.
_SPRINT_STRING_KEYS = (
    "id", "rapidViewId", "state", "name", "goal", "startDate", "endDate", "completeDate",
    "activatedDate", "sequence", "autoStartStop", "synced", "incompleteIssuesDestinationId",
)
_SPRINT_SPLIT = re.compile(r",(?=(?:%s)=)" % "|".join(_SPRINT_STRING_KEYS))
_SPRINT_BODY = re.compile(r"^[\w.$]*Sprint@[0-9a-fA-F]*\[(?P<body>.*)\]\s*$", re.S)


class MalformedSprint(ValueError):
    """A Sprint field value that none of the known shapes fits."""


def jira_time(value: Any) -> datetime | None:
    """A Jira timestamp as an aware UTC datetime.

    Jira writes ``2017-10-16T10:04:13.458-0400`` (no colon in the offset); the bulk changelog
    example in Atlassian's spec uses epoch seconds, so numbers are read as epoch seconds or
    milliseconds. Raises ValueError for anything else.
    """
    if value is None or value == "" or value == "<null>":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = value / 1000 if value > 10**11 else value
        try:
            parsed = datetime.fromtimestamp(seconds, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):  # inf, nan, or beyond the platform's time_t
            raise ValueError(f"not a time: {value!r}") from None
    elif isinstance(value, str):
        # Python 3.11's fromisoformat reads "-0400" and "Z"; it is ~7x faster than any regex here.
        parsed = datetime.fromisoformat(value.strip())
    else:
        raise ValueError(f"not a time: {value!r}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    # The warehouse stores times as pandas/DuckDB nanosecond instants: years 1678-2261.
    if not 1678 <= parsed.year <= 2261:
        raise ValueError(f"time out of range: {value!r}")
    return parsed.astimezone(timezone.utc)


@dataclass(frozen=True)
class People:
    """Turns a Jira user object into the id we store: accountId (Cloud) or name/key (Server).

    With ``pseudonymize`` the id is replaced by a short sha256 hash, so no account id or user
    name is ever stored.
    """

    pseudonymize: bool = False

    def id_of(self, user: Any) -> str | None:
        if isinstance(user, str):
            return self.hide(user)
        if not isinstance(user, dict):  # dict, not typing.Mapping: ABC checks are slow in this hot path
            return None
        raw = user.get("accountId") or user.get("name") or user.get("key")
        return self.hide(str(raw)) if raw else None

    def hide(self, person: str | None) -> str | None:
        if not person or not self.pseudonymize:
            return person
        return "p:" + hashlib.sha256(person.encode("utf-8")).hexdigest()[:12]

    @staticmethod
    def kind_of(user: Any) -> str:
        """``bot`` for an app account, ``unknown`` for a missing (deleted) user, else ``human``."""
        if not isinstance(user, dict) or not user:
            return "unknown"
        return "bot" if user.get("accountType") == "app" else "human"

    def scrub(self, payload: Any) -> Any:
        """A copy of a raw payload with every user object reduced to its (hashed) id, and people in
        assignee/reporter changelog items hashed. Free text (comment bodies, @mentions) is kept."""
        if not self.pseudonymize:
            return payload
        if isinstance(payload, list):
            return [self.scrub(v) for v in payload]
        if not isinstance(payload, dict):
            return payload
        if _looks_like_user(payload):
            return {"accountId": self.id_of(payload), "accountType": payload.get("accountType")}
        if payload.get("field") in PERSON_FIELDS:  # a changelog item naming people in from/to
            return {k: self.hide(v) if k in ("from", "to", "fromString", "toString") else v for k, v in payload.items()}
        return {k: self.scrub(v) for k, v in payload.items() if k not in ("emailAddress", "displayName")}


def _looks_like_user(obj: Mapping[str, Any]) -> bool:
    if "accountId" in obj:
        return True
    return "/user?" in str(obj.get("self", "")) or ("displayName" in obj and ("name" in obj or "key" in obj))


@dataclass(frozen=True)
class Fields:
    """The fields this site uses for sprints and story points, found from ``/field``."""

    sprint: str | None = None
    sprint_name: str | None = None
    story_points: str | None = None
    names: Mapping[str, str] = field(default_factory=dict)

    def request_list(self) -> list[str]:
        """The ``fields`` a search asks for: what normalising reads, and nothing bigger."""
        wanted = [
            "summary", "issuetype", "status", "created", "updated", "resolutiondate", "resolution",
            "labels", "assignee", "timeoriginalestimate", "timespent", "duedate", "description",
            "project", "comment",
        ]
        return wanted + [f for f in (self.sprint, self.story_points) if f]


def discover_fields(field_list: Any, estimate_field: str | None = None) -> Fields:
    """Pick the Sprint field by its schema type (names are not unique) and a story-point field.

    ``estimate_field`` (from the board configuration or cadence.toml) wins over the name-based guess.
    """
    fields = [f for f in field_list or [] if isinstance(f, Mapping) and f.get("id")]
    names = {str(f["id"]): str(f.get("name") or "") for f in fields}
    sprint = next((f for f in fields if (f.get("schema") or {}).get("custom") == SPRINT_SCHEMA), None)
    points = estimate_field
    if points is None:
        guess = next(
            (f for f in fields
             if (f.get("schema") or {}).get("custom") in NUMBER_SCHEMAS
             and str(f.get("name", "")).lower() in STORY_POINT_NAMES),
            None,
        )
        points = guess["id"] if guess else None
    return Fields(
        sprint=sprint["id"] if sprint else None,
        sprint_name=sprint.get("name") if sprint else None,
        story_points=points,
        names=names,
    )


def sprint_ids(value: Any) -> set[str]:
    """The sprint ids in a changelog ``from``/``to`` value such as ``"225, 229"``."""
    if value is None:
        return set()
    return {part.strip() for part in str(value).split(",") if part.strip().isdigit()}


def parse_sprint_string(text: str) -> dict[str, Any]:
    """One old-style ``...Sprint@hash[id=..,name=..,...]`` string as a dict of its values."""
    match = _SPRINT_BODY.match(text.strip())
    if not match:
        raise MalformedSprint(f"not a sprint string: {text[:80]!r}")
    values: dict[str, Any] = {}
    for part in _SPRINT_SPLIT.split(match.group("body")):
        key, sep, value = part.partition("=")
        if not sep:
            raise MalformedSprint(f"no key=value in sprint string part {part[:40]!r}")
        values[key] = None if value in ("<null>", "") else value
    if not str(values.get("id") or "").isdigit():
        raise MalformedSprint(f"sprint string without a numeric id: {text[:80]!r}")
    return {
        "id": values["id"],
        "name": values.get("name"),
        "state": (values.get("state") or "").lower() or None,
        "goal": values.get("goal"),
        "startDate": values.get("startDate"),
        "endDate": values.get("endDate"),
        "completeDate": values.get("completeDate"),
        "activatedDate": values.get("activatedDate"),
        "boardId": values.get("rapidViewId"),
    }


def parse_sprint_field(value: Any) -> list[dict[str, Any]]:
    """Every sprint in an issue's Sprint field, whichever shape it came in, as Cloud-style dicts."""
    if value is None or value == "":
        return []
    entries = value if isinstance(value, list) else [value]
    sprints = []
    for entry in entries:
        if isinstance(entry, Mapping):
            if entry.get("id") is None:
                raise MalformedSprint("sprint object without an id")
            sprints.append({**entry, "id": str(entry["id"]), "boardId": entry.get("boardId") or entry.get("originBoardId")})
        elif isinstance(entry, str):
            sprints.append(parse_sprint_string(entry))
        else:
            raise MalformedSprint(f"unexpected sprint value {type(entry).__name__}")
    return sprints


def category_of(status: Mapping[str, Any] | None, overrides: Mapping[str, str]) -> str | None:
    """new | in_progress | done for a status object; cadence.toml wins by id, then by name."""
    if not status:
        return None
    for ref in (str(status.get("id", "")), str(status.get("name", ""))):
        if ref and ref in overrides:
            return overrides[ref]
    key = (status.get("statusCategory") or {}).get("key")
    return CATEGORY_BY_KEY.get(key)


def text_of(value: Any) -> str | None:
    """Plain text from a v2 string or a v3 Atlassian Document Format body (paragraphs on lines)."""
    if value is None or isinstance(value, str):
        return value
    if not isinstance(value, Mapping):
        return str(value)
    if value.get("type") == "text":
        return str(value.get("text", ""))
    parts = [text_of(child) or "" for child in value.get("content") or []]
    block = value.get("type") in ("doc", "bulletList", "orderedList", "listItem")
    return ("\n" if block else "").join(parts)


def number(value: Any) -> float | None:
    """A story-point or estimate value as a float, or None when empty or not a number."""
    if value in (None, ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None

