"""Charts: every chart validates, renders to PNG, keeps cadence colours fixed and has an empty state."""

from __future__ import annotations

import json

import altair as alt
import numpy as np
import pandas as pd
import pytest
import vl_convert as vlc

from cadence import charts

UTC = "UTC"


def _t(s: str) -> pd.Timestamp:
    return pd.Timestamp(s, tz=UTC)


def by_sprint_frame() -> pd.DataFrame:
    """Team A ran 2-week sprints then switched to 1-week; team B runs 3-week sprints."""
    rows = [
        ("A", "11", "A 11", "2024-01-01", 14, "2w", 6, 1, 0, 5, 2, 0.5, 1.0),
        ("A", "12", "A 12", "2024-01-15", 14, "2w", 5, 2, 1, 4, 2, 0.25, 0.5),
        ("A", "13", "A 13", "2024-01-29", 7, "1w", 4, 0, 0, 4, 0, 0.0, 2.0),
        ("A", "14", "A 14", "2024-02-05", 7, "1w", 3, 1, 0, 3, 1, 0.0, 1.0),
        ("B", "21", "B <script>alert(1)</script>", "2024-01-01", 21, "3w", 9, 3, 2, 6, 4, 0.6, 0.33),
    ]
    frame = pd.DataFrame(
        rows,
        columns=[
            "team",
            "sprint_id",
            "sprint_name",
            "start",
            "length_days",
            "cadence",
            "committed",
            "added",
            "removed",
            "completed",
            "carried_over",
            "overrun_rate",
            "learnings_per_week",
        ],
    )
    frame["start"] = pd.to_datetime(frame["start"], utc=True)
    frame["end"] = frame["start"] + pd.to_timedelta(frame["length_days"], unit="D")
    frame["weeks_with_learning"] = [1.0, 0.5, 1.0, 1.0, 0.33]
    frame["state"] = "closed"
    return frame


def sprints_frame() -> pd.DataFrame:
    return by_sprint_frame()[["team", "sprint_id", "sprint_name", "state", "start", "end", "length_days", "cadence"]]


def compare_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "metric": ["say_do", "say_do", "feedback_latency_median_h", "feedback_latency_median_h"],
            "cadence": ["1w", "2w", "1w", "3w"],
            "cadence_weeks": [1, 2, 1, 3],
            "estimate": [0.8, 0.6, 20.0, 90.0],
            "ci_low": [0.7, 0.4, 12.0, 60.0],
            "ci_high": [0.9, 0.8, 30.0, 130.0],
            "n_sprints": [2, 2, 2, 1],
            "n_teams": [1, 1, 1, 1],
            "small_sample": [True, True, True, True],
            "warning": ["cadence and team cannot be told apart"] * 4,
        }
    )


def switches_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "team": ["A"],
            "metric": ["say_do"],
            "switch_at": [_t("2024-01-29")],
            "before_cadence": ["2w"],
            "after_cadence": ["1w"],
            "before_estimate": [0.6],
            "before_ci_low": [0.4],
            "before_ci_high": [0.8],
            "after_estimate": [0.9],
            "after_ci_low": [0.8],
            "after_ci_high": [1.0],
            "diff": [0.3],
            "diff_ci_low": [0.0],
            "diff_ci_high": [0.6],
            "n_before": [2],
            "n_after": [2],
            "warning": ["small sample"],
        }
    )


def feedback_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "team": ["A", "A", "B"],
            "key": ["A-1", "A-2", "B-1"],
            "cadence": ["1w", "2w", "3w"],
            "start": [_t("2024-01-29"), _t("2024-01-02"), _t("2024-01-02")],
            "observed_h": [5.0, 30.0, 400.0],
            "observed_event": [True, True, False],
            "review_h": [100.0, 300.0, 480.0],
            "review_event": [True, True, True],
        }
    )


def curves_frame() -> pd.DataFrame:
    rows = []
    for group in ("1w", "2w"):
        for kind in ("headline", "observed", "review"):
            for t, s in ((0.0, 1.0), (10.0, 0.5), (50.0, 0.0)):
                rows.append((group, kind, t, s, max(0.0, s - 0.2), min(1.0, s + 0.2)))
    return pd.DataFrame(rows, columns=["group", "kind", "t_h", "survival", "ci_low", "ci_high"])


def issues_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "team": ["A", "A", "A", "B"],
            "key": ["A-1", "A-2", "A-3", "B-1"],
            "carry_count": [0, 1, 3, 2],
            "assignees": [["Alice Secret"], [], ["Bob"], []],
        }
    )


CHARTS = {
    "cadence_comparison": lambda: charts.cadence_comparison(compare_frame()),
    "before_after": lambda: charts.before_after(switches_frame()),
    "feedback_curves": lambda: charts.feedback_curves(curves_frame()),
    "feedback_distribution": lambda: charts.feedback_distribution(feedback_frame()),
    "overrun_rate": lambda: charts.overrun_rate(by_sprint_frame()),
    "carry_counts": lambda: charts.carry_counts(issues_frame()),
    "learnings_per_week": lambda: charts.learnings_per_week(by_sprint_frame()),
    "weeks_with_learning": lambda: charts.weeks_with_learning(by_sprint_frame()),
    "scorecard": lambda: charts.scorecard(by_sprint_frame(), "A"),
    "team_timeline": lambda: charts.team_timeline(sprints_frame()),
}

EMPTY = {
    "cadence_comparison": lambda: charts.cadence_comparison(compare_frame().iloc[0:0]),
    "before_after": lambda: charts.before_after(switches_frame().iloc[0:0]),
    "feedback_curves": lambda: charts.feedback_curves(curves_frame().iloc[0:0]),
    "feedback_distribution": lambda: charts.feedback_distribution(feedback_frame().iloc[0:0]),
    "overrun_rate": lambda: charts.overrun_rate(by_sprint_frame().iloc[0:0]),
    "carry_counts": lambda: charts.carry_counts(issues_frame().iloc[0:0]),
    "learnings_per_week": lambda: charts.learnings_per_week(by_sprint_frame().iloc[0:0]),
    "weeks_with_learning": lambda: charts.weeks_with_learning(by_sprint_frame().iloc[0:0]),
    "scorecard": lambda: charts.scorecard(by_sprint_frame(), "nobody"),
    "team_timeline": lambda: charts.team_timeline(sprints_frame().iloc[0:0]),
}


def _walk(node):
    """Every dict inside a Vega-Lite spec."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _values(spec: dict) -> list[dict]:
    """Every data row in a spec, whether inline or in the top-level named datasets."""
    tables = [d["values"] for d in _walk(spec) if isinstance(d.get("values"), list)]
    tables += list(spec.get("datasets", {}).values())
    return [row for table in tables for row in table if isinstance(row, dict)]


def _title(spec: dict) -> str:
    title = spec.get("title")
    return title["text"] if isinstance(title, dict) else title


@pytest.mark.parametrize("name", sorted(CHARTS))
def test_chart_validates_and_renders_png(name: str) -> None:
    chart = CHARTS[name]()
    spec = chart.to_dict(validate=True)
    assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/v")
    assert _title(spec)
    png = vlc.vegalite_to_png(spec, scale=1)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 2000


@pytest.mark.parametrize("name", sorted(CHARTS))
def test_chart_has_axis_titles_and_tooltips(name: str) -> None:
    spec = CHARTS[name]().to_dict()
    encodings = [d["encoding"] for d in _walk(spec) if isinstance(d.get("encoding"), dict)]
    axis_titles = [
        enc[ch]["title"]
        for enc in encodings
        for ch in ("x", "y")
        if isinstance(enc.get(ch), dict) and "title" in enc[ch]
    ]
    assert len(axis_titles) >= 2 and all(axis_titles)
    assert any("tooltip" in enc for enc in encodings)


@pytest.mark.parametrize("name", sorted(EMPTY))
def test_empty_frame_gives_a_message_not_an_empty_axis(name: str) -> None:
    spec = EMPTY[name]().to_dict(validate=True)
    assert spec["mark"]["type"] == "text"
    messages = [row["message"] for row in _values(spec)]
    assert len(messages) == 1 and len(messages[0]) > 10
    assert _title(spec)
    vlc.vegalite_to_png(spec)


def _cadence_scales(spec: dict) -> list[dict]:
    return [d["scale"] for d in _walk(spec) if d.get("field") == "cadence" and "scale" in d]


def test_cadence_colours_are_fixed_whatever_the_data() -> None:
    """2w is orange even in a chart where it is the only cadence, and 1w blue everywhere."""
    only_3w = by_sprint_frame().query("team == 'B'")
    for chart in (
        charts.overrun_rate(only_3w),
        charts.team_timeline(sprints_frame()),
        charts.cadence_comparison(compare_frame()),
    ):
        scales = _cadence_scales(chart.to_dict())
        assert scales
        for scale in scales:
            mapping = dict(zip(scale["domain"], scale["range"], strict=True))
            assert mapping == {"1w": "#0072B2", "2w": "#E69F00", "3w": "#009E73", "other": "#999999"}


def test_theme_is_registered_and_active() -> None:
    assert alt.theme.active == "cadence"
    spec = charts.overrun_rate(by_sprint_frame()).to_dict()
    assert spec["config"]["font"].startswith("Helvetica")


def test_charts_carry_only_the_columns_they_draw() -> None:
    """The assignees column of the issues frame never reaches the chart's data (privacy)."""
    spec = charts.carry_counts(issues_frame()).to_dict()
    assert "Alice Secret" not in json.dumps(spec)
    assert {tuple(sorted(row)) for row in _values(spec)} == {("carry_count", "team")}


def test_scorecard_shows_the_chosen_sprint_and_its_predecessors() -> None:
    spec = charts.scorecard(by_sprint_frame(), "A", sprint_id="13", previous=1).to_dict()
    rows = _values(spec)
    assert len(rows) == 2 * 5  # sprints 12 and 13, five counts each
    this = {r["count"]: r["items"] for r in rows if r["which"] == "this sprint"}
    assert this == {"committed": 4, "added": 0, "removed": 0, "completed": 4, "carried_over": 0}
    assert {r["sprint_label"] for r in rows if r["which"] == "previous"} == {"A 12"}


def test_feedback_distribution_leaves_out_censored_items() -> None:
    spec = charts.feedback_distribution(feedback_frame()).to_dict()
    rows = _values(spec)
    # 2 observed events (B-1's observed feedback is censored) and 3 review events.
    assert sorted((r["kind"], r["hours"]) for r in rows) == [
        ("observed", 5.0),
        ("observed", 30.0),
        ("review", 100.0),
        ("review", 300.0),
        ("review", 480.0),
    ]


def test_before_after_has_both_sides_with_their_cadence() -> None:
    rows = _values(charts.before_after(switches_frame()).to_dict())
    assert sorted((r["period"], r["cadence"], r["estimate"]) for r in rows) == [
        ("after", "1w", 0.9),
        ("before", "2w", 0.6),
    ]


def test_large_frames_are_not_refused() -> None:
    """A nightly report covers far more than Altair's default 5,000-row limit."""
    n = 6000
    frame = pd.DataFrame({"team": ["A"] * n, "carry_count": np.arange(n) % 4})
    assert len(_values(charts.carry_counts(frame).to_dict())) == n


def test_trend_rings_the_highlighted_sprint() -> None:
    spec = charts.overrun_rate(by_sprint_frame(), highlight="13").to_dict(validate=True)
    filters = [t["filter"] for layer in spec["layer"] for t in layer.get("transform", [])]
    assert filters == ["(datum.sprint_id === '13')"]
    assert vlc.vegalite_to_png(spec)[:4] == b"\x89PNG"
