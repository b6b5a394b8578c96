"""Fetching Jira's own Sprint Report. Fetch only: returns what the server answered.

``GET /rest/greenhopper/1.0/rapid/charts/sprintreport?rapidViewId=B&sprintId=S`` is what Jira's
Sprint Report page calls, on Cloud and Server/DC. It is undocumented, so every answer other than a
JSON body is an expected outcome, not an error:

- a refusal comes back as ``SprintReportAnswer(problem=...)``. A 404 or 400 may be about this one
  sprint (deleted, or moved to another board), so the caller may go on with the board's other
  sprints; anything else (403 no permission, 410 retired, 401, a server that keeps failing) is
  about the whole endpoint: ``board_wide``;
- a 200 whose body is not JSON (an SSO login page or a proxy's error page, in HTML) is board-wide
  too. It is read once, not retried: ``Http.get_json`` would retry a body that does not parse as a
  cut-off transfer, and a login page does not improve with retries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cadence.sources.http import Http, HttpError

PATH = "/rest/greenhopper/1.0/rapid/charts/sprintreport"


@dataclass(frozen=True)
class SprintReportAnswer:
    board_id: str
    sprint_id: str
    payload: Any = None  # the parsed JSON body, when there was one
    problem: str | None = None  # why there is no payload, one line
    board_wide: bool = False  # the refusal is the endpoint's, not this sprint's


def fetch_sprint_report(http: Http, board_id: str | int, sprint_id: str | int) -> SprintReportAnswer:
    """One sprint's report, or the one-line reason there is none. Counted in ``http.stats``."""
    board, sprint = str(board_id), str(sprint_id)
    try:
        response = http.request("GET", PATH, params={"rapidViewId": board, "sprintId": sprint})
    except HttpError as exc:
        return SprintReportAnswer(board, sprint, problem=str(exc), board_wide=exc.status not in (400, 404))
    kind = response.headers.get("Content-Type", "").split(";")[0].strip() or "no content type"
    try:
        payload = response.json()
    except ValueError:
        return SprintReportAnswer(board, sprint, problem=f"GET {PATH} answered {response.status_code} "
                                                         f"with a body that is not JSON ({kind})", board_wide=True)
    return SprintReportAnswer(board, sprint, payload=payload)
