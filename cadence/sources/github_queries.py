"""The GraphQL documents the GitHub connector sends, as data.

Every document here (and every follow-up document ``follow_up_query`` can build) is validated
against GitHub's public schema in tests/test_github_queries.py, so a misspelled field fails the
test suite rather than a nightly sync.

Page sizes are GitHub's caps ("resource limitations": first/last within 1-100, at most 500,000
nodes a query, counted as the sum over connections of the product of the enclosing page sizes).
A page of 100 issues asks for 100 + 100 x (10 assignees + 20 labels + 5 project items + 100
timeline items + 10 pull requests) = 14,600 nodes; the first request of a repository
(``REPOSITORY_QUERY``: its milestones and first pages of issues and of pull requests together) asks
for 100 + 14,600 + 100 + 100 x 135 = 28,300. A typical issue has fewer than 100 timeline items, so
one request usually brings 100 complete issues; the rest is followed up.

When work started on an issue needs the history of its links to pull requests: cross-references
that will close it, manual links (connected/disconnected), and the pull requests whose closing
references include it, closed and merged ones too (``includeClosedPrs: true``), each with the
times that bound its open interval. These add no connection, so a page still costs 3 points;
they add timeline nodes (one per link event), so a busy issue overflows into a follow-up sooner.
"""

from __future__ import annotations

ITEM_PAGE = 100         # issues or pull requests per request
TIMELINE_PAGE = 100     # timeline items per issue in the bulk query
FOLLOW_UP_PAGE = 100    # nodes per follow-up page of one overflowing connection
FOLLOW_UPS_PER_QUERY = 20  # aliased follow-ups batched in one request (2,000 nodes)
MILESTONE_PAGE = 100
PROJECT_ITEM_PAGE = 100
NODE_LIMIT = 500_000    # GitHub's limit per query; tests/test_github_queries.py checks every document

RATE_LIMIT = "rateLimit { cost remaining resetAt }"

# Classic-project column events (MovedColumnsInProjectEvent.projectColumnName) are deprecated in the
# schema and were removed from the API on 2025-04-01, so no column names are requested.
_COMMON_ITEM_TYPES = (
    "ASSIGNED_EVENT UNASSIGNED_EVENT LABELED_EVENT UNLABELED_EVENT CLOSED_EVENT REOPENED_EVENT "
    "MILESTONED_EVENT DEMILESTONED_EVENT ADDED_TO_PROJECT_EVENT REMOVED_FROM_PROJECT_EVENT ISSUE_COMMENT"
).split()
# Links to pull requests matter for an issue's start only; a pull request's own start is its opening.
_LINK_ITEM_TYPES = ["CROSS_REFERENCED_EVENT", "CONNECTED_EVENT", "DISCONNECTED_EVENT"]
ISSUE_ITEM_TYPES = "[" + ", ".join(_COMMON_ITEM_TYPES + _LINK_ITEM_TYPES) + "]"
PR_ITEM_TYPES = "[" + ", ".join(_COMMON_ITEM_TYPES + ["PULL_REQUEST_REVIEW"]) + "]"

_EVENT_SELECTIONS = """
  __typename
  ... on AssignedEvent { id createdAt actor { ...ActorFields } assignee { ...AssigneeFields } }
  ... on UnassignedEvent { id createdAt actor { ...ActorFields } assignee { ...AssigneeFields } }
  ... on LabeledEvent { id createdAt actor { ...ActorFields } label { name } }
  ... on UnlabeledEvent { id createdAt actor { ...ActorFields } label { name } }
  ... on ClosedEvent { id createdAt actor { ...ActorFields } stateReason }
  ... on ReopenedEvent { id createdAt actor { ...ActorFields } }
  ... on MilestonedEvent { id createdAt actor { ...ActorFields } milestoneTitle }
  ... on DemilestonedEvent { id createdAt actor { ...ActorFields } milestoneTitle }
  ... on AddedToProjectEvent { id createdAt actor { ...ActorFields } }
  ... on RemovedFromProjectEvent { id createdAt actor { ...ActorFields } }
  ... on IssueComment { id createdAt author { ...ActorFields } body }
"""
# The pull request at the other end of a link, with what bounds its open interval. On an issue's
# timeline ConnectedEvent/DisconnectedEvent name the issue and the pull request in `source` and
# `subject`; both are read and the pull request is whichever one is a PullRequest.
_LINKED_PR = "{ __typename ... on PullRequest { id number createdAt closedAt mergedAt state } }"
_LINK_SELECTIONS = f"""
  ... on CrossReferencedEvent {{ id createdAt actor {{ ...ActorFields }} willCloseTarget source {_LINKED_PR} }}
  ... on ConnectedEvent {{ id createdAt actor {{ ...ActorFields }} source {_LINKED_PR} subject {_LINKED_PR} }}
  ... on DisconnectedEvent {{ id createdAt actor {{ ...ActorFields }} source {_LINKED_PR} subject {_LINKED_PR} }}
"""

FRAGMENTS: dict[str, str] = {
    "ActorFields": "fragment ActorFields on Actor { __typename login }",
    "AssigneeFields": (
        "fragment AssigneeFields on Assignee { __typename "
        "... on User { login } ... on Bot { login } ... on Mannequin { login } ... on Organization { login } }"
    ),
    "IssueTimeline": "fragment IssueTimeline on IssueTimelineItems {" + _EVENT_SELECTIONS + _LINK_SELECTIONS + "}",
    "PullRequestTimeline": (
        "fragment PullRequestTimeline on PullRequestTimelineItems {" + _EVENT_SELECTIONS
        + "  ... on PullRequestReview { id createdAt submittedAt author { ...ActorFields } body state }\n}"
    ),
}
# Which fragments each fragment spreads, so a document carries exactly the ones it uses
# (GraphQL rejects unused fragments).
_FRAGMENT_NEEDS = {
    "IssueTimeline": ("ActorFields", "AssigneeFields"),
    "PullRequestTimeline": ("ActorFields", "AssigneeFields"),
}

_PAGE_INFO = "pageInfo { hasNextPage endCursor }"


# Reading projectItems needs the read:project scope; without it GitHub refuses the whole query
# (INSUFFICIENT_SCOPES), so the connector falls back to the same query without this selection.
PROJECT_ITEMS = """
    projectItems(first: 5) { nodes { project { number title }
      status: fieldValueByName(name: "Status") {
        __typename ... on ProjectV2ItemFieldSingleSelectValue { name optionId updatedAt } } } }"""


def _common_item_fields(kind: str) -> str:
    return f"""
    id number title body url createdAt updatedAt closedAt state
    author {{ ...ActorFields }}
    assignees(first: 10) {{ {_PAGE_INFO} nodes {{ login }} }}
    labels(first: 20) {{ {_PAGE_INFO} nodes {{ name }} }}
    milestone {{ number title }}{PROJECT_ITEMS}
    timelineItems(first: {TIMELINE_PAGE}, itemTypes: {ISSUE_ITEM_TYPES if kind == "Issue" else PR_ITEM_TYPES}) {{
      {_PAGE_INFO} nodes {{ ...{kind}Timeline }} }}"""


ISSUE_FIELDS = _common_item_fields("Issue") + """
    stateReason
    closedByPullRequestsReferences(first: 10, includeClosedPrs: true) {
      nodes { id number state createdAt closedAt mergedAt } }"""
PULL_REQUEST_FIELDS = _common_item_fields("PullRequest") + "\n    merged mergedAt isDraft"


def document(body: str, *fragments: str) -> str:
    """A query document: ``body`` followed by the named fragments and the ones they need."""
    names: list[str] = []
    for name in fragments:
        for needed in (*_FRAGMENT_NEEDS.get(name, ()), name):
            if needed not in names:
                names.append(needed)
    return "\n".join([body.strip(), *(FRAGMENTS[n] for n in names)])


ISSUES_QUERY = document(
    f"""
query Issues($owner: String!, $name: String!, $first: Int!, $after: String, $since: DateTime) {{
  repository(owner: $owner, name: $name) {{
    issues(first: $first, after: $after, orderBy: {{field: UPDATED_AT, direction: ASC}}, filterBy: {{since: $since}}) {{
      {_PAGE_INFO}
      nodes {{ {ISSUE_FIELDS} }}
    }}
  }}
  {RATE_LIMIT}
}}""",
    "IssueTimeline",
)

# Pull requests have no `since` filter: they come newest first and the sync stops past its cursor.
PULL_REQUESTS_QUERY = document(
    f"""
query PullRequests($owner: String!, $name: String!, $first: Int!, $after: String) {{
  repository(owner: $owner, name: $name) {{
    pullRequests(first: $first, after: $after, orderBy: {{field: UPDATED_AT, direction: DESC}}) {{
      {_PAGE_INFO}
      nodes {{ {PULL_REQUEST_FIELDS} }}
    }}
  }}
  {RATE_LIMIT}
}}""",
    "PullRequestTimeline",
)

# When a page cannot be read even one node at a time, the one node that breaks it is asked for
# again with only what identifies it, so that it is kept (and counted) and the page moves past it.
_KEY_FIELDS = "id number url updatedAt"
ISSUE_KEYS_QUERY = f"""
query IssueKeys($owner: String!, $name: String!, $first: Int!, $after: String, $since: DateTime) {{
  repository(owner: $owner, name: $name) {{
    issues(first: $first, after: $after, orderBy: {{field: UPDATED_AT, direction: ASC}}, filterBy: {{since: $since}}) {{
      {_PAGE_INFO}
      nodes {{ {_KEY_FIELDS} }}
    }}
  }}
  {RATE_LIMIT}
}}""".strip()
PULL_REQUEST_KEYS_QUERY = f"""
query PullRequestKeys($owner: String!, $name: String!, $first: Int!, $after: String) {{
  repository(owner: $owner, name: $name) {{
    pullRequests(first: $first, after: $after, orderBy: {{field: UPDATED_AT, direction: DESC}}) {{
      {_PAGE_INFO}
      nodes {{ {_KEY_FIELDS} }}
    }}
  }}
  {RATE_LIMIT}
}}""".strip()

ISSUES_QUERY_WITHOUT_PROJECTS = ISSUES_QUERY.replace(PROJECT_ITEMS, "")
PULL_REQUESTS_QUERY_WITHOUT_PROJECTS = PULL_REQUESTS_QUERY.replace(PROJECT_ITEMS, "")

_MILESTONES = f"""milestones(first: {MILESTONE_PAGE}, after: $after, orderBy: {{field: NUMBER, direction: ASC}}) {{
      {_PAGE_INFO}
      nodes {{ id number title description state dueOn createdAt closedAt url }}
    }}"""
MILESTONES_QUERY = f"""
query Milestones($owner: String!, $name: String!, $after: String) {{
  repository(owner: $owner, name: $name) {{
    nameWithOwner
    {_MILESTONES}
  }}
  {RATE_LIMIT}
}}""".strip()

# The first request of a repository: its milestones and the first page of issues and of pull
# requests at once, so a repository of up to 100 of each costs one request (9 points). Later pages
# use ISSUES_QUERY and PULL_REQUESTS_QUERY from the cursors this one returns.
REPOSITORY_QUERY = document(
    f"""
query Repository($owner: String!, $name: String!, $first: Int!, $since: DateTime) {{
  repository(owner: $owner, name: $name) {{
    nameWithOwner
    {_MILESTONES.replace("after: $after, ", "")}
    issues(first: $first, orderBy: {{field: UPDATED_AT, direction: ASC}}, filterBy: {{since: $since}}) {{
      {_PAGE_INFO}
      nodes {{ {ISSUE_FIELDS} }}
    }}
    pullRequests(first: $first, orderBy: {{field: UPDATED_AT, direction: DESC}}) {{
      {_PAGE_INFO}
      nodes {{ {PULL_REQUEST_FIELDS} }}
    }}
  }}
  {RATE_LIMIT}
}}""",
    "IssueTimeline",
    "PullRequestTimeline",
)
REPOSITORY_QUERY_WITHOUT_PROJECTS = REPOSITORY_QUERY.replace(PROJECT_ITEMS, "")

_ITERATION = "id title startDate duration"
PROJECT_QUERY = f"""
query Project($owner: String!, $number: Int!) {{
  repositoryOwner(login: $owner) {{
    ... on ProjectV2Owner {{
      projectV2(number: $number) {{
        id number title url closed
        fields(first: 50) {{
          nodes {{
            __typename
            ... on ProjectV2IterationField {{ id name configuration {{ duration startDay
              iterations {{ {_ITERATION} }} completedIterations {{ {_ITERATION} }} }} }}
            ... on ProjectV2SingleSelectField {{ id name options {{ id name }} }}
          }}
        }}
      }}
    }}
  }}
  {RATE_LIMIT}
}}""".strip()

PROJECT_ITEMS_QUERY = f"""
query ProjectItems($id: ID!, $after: String, $iterationField: String!, $statusField: String!) {{
  node(id: $id) {{
    ... on ProjectV2 {{
      items(first: {PROJECT_ITEM_PAGE}, after: $after) {{
        {_PAGE_INFO}
        nodes {{
          id isArchived updatedAt
          content {{
            __typename
            ... on Issue {{ number repository {{ nameWithOwner }} }}
            ... on PullRequest {{ number repository {{ nameWithOwner }} }}
          }}
          iteration: fieldValueByName(name: $iterationField) {{
            __typename ... on ProjectV2ItemFieldIterationValue {{ iterationId title startDate duration }} }}
          status: fieldValueByName(name: $statusField) {{
            __typename ... on ProjectV2ItemFieldSingleSelectValue {{ name optionId updatedAt }} }}
        }}
      }}
    }}
  }}
  {RATE_LIMIT}
}}""".strip()

# Follow-ups of nested connections that overflowed, keyed by (node type, connection). Each is
# sent as one aliased `node(id:)` selection, so one request continues many nodes at their own cursors.
FOLLOW_UP_SELECTIONS: dict[tuple[str, str], tuple[str, tuple[str, ...]]] = {
    ("Issue", "timelineItems"): (
        f"timelineItems(first: {FOLLOW_UP_PAGE}, after: $after{{i}}, itemTypes: {ISSUE_ITEM_TYPES}) "
        f"{{ {_PAGE_INFO} nodes {{ ...IssueTimeline }} }}",
        ("IssueTimeline",),
    ),
    ("PullRequest", "timelineItems"): (
        f"timelineItems(first: {FOLLOW_UP_PAGE}, after: $after{{i}}, itemTypes: {PR_ITEM_TYPES}) "
        f"{{ {_PAGE_INFO} nodes {{ ...PullRequestTimeline }} }}",
        ("PullRequestTimeline",),
    ),
    ("Issue", "labels"): (f"labels(first: {FOLLOW_UP_PAGE}, after: $after{{i}}) {{ {_PAGE_INFO} nodes {{ name }} }}", ()),
    ("PullRequest", "labels"): (f"labels(first: {FOLLOW_UP_PAGE}, after: $after{{i}}) {{ {_PAGE_INFO} nodes {{ name }} }}", ()),
    ("Issue", "assignees"): (f"assignees(first: {FOLLOW_UP_PAGE}, after: $after{{i}}) {{ {_PAGE_INFO} nodes {{ login }} }}", ()),
    ("PullRequest", "assignees"): (
        f"assignees(first: {FOLLOW_UP_PAGE}, after: $after{{i}}) {{ {_PAGE_INFO} nodes {{ login }} }}", ()
    ),
}


def follow_up_query(requests: list[tuple[str, str]]) -> str:
    """One document continuing each (node type, connection) in ``requests``.

    Variables are ``id{i}`` and ``after{i}``; the answer for request i is under alias ``f{i}``.
    """
    variables, selections, fragments = [], [], []
    for i, (type_name, connection) in enumerate(requests):
        selection, needs = FOLLOW_UP_SELECTIONS[(type_name, connection)]
        variables.append(f"$id{i}: ID!, $after{i}: String")
        selections.append(f"  f{i}: node(id: $id{i}) {{ ... on {type_name} {{ {selection.replace('{i}', str(i))} }} }}")
        fragments.extend(needs)
    body = "query FollowUp(" + ", ".join(variables) + ") {\n" + "\n".join(selections) + f"\n  {RATE_LIMIT}\n}}"
    return document(body, *fragments)


ALL_QUERIES = {
    "Issues": ISSUES_QUERY,
    "PullRequests": PULL_REQUESTS_QUERY,
    "IssuesWithoutProjects": ISSUES_QUERY_WITHOUT_PROJECTS,
    "PullRequestsWithoutProjects": PULL_REQUESTS_QUERY_WITHOUT_PROJECTS,
    "IssueKeys": ISSUE_KEYS_QUERY,
    "PullRequestKeys": PULL_REQUEST_KEYS_QUERY,
    "Milestones": MILESTONES_QUERY,
    "Repository": REPOSITORY_QUERY,
    "RepositoryWithoutProjects": REPOSITORY_QUERY_WITHOUT_PROJECTS,
    "Project": PROJECT_QUERY,
    "ProjectItems": PROJECT_ITEMS_QUERY,
}
