"""Charts: every chart validates, renders to PNG, keeps cadence colours fixed and has an empty state.

Beyond ``to_dict()`` validation, the specs are compiled to Vega by vl-convert (the same engine that
draws the report's images) to check what a reader sees: a legend for every coloured mark, log
axes, legend entries only for what is drawn.
"""

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
            "sample": ["rough", "rough", "can't tell", "can't tell"],
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
            "effect_size": [1.2],
            "sample": ["can't tell"],
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


def overruns_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "team": ["A", "A", "B"],
            "key": ["A-1", "A-2", "B-1"],
            "rule": ["label", "due_date", "label"],
            "overrun_size": [0.5, 12.0, 0.2],
        }
    )


CHARTS = {
    "overrun_sizes": lambda: charts.overrun_sizes(overruns_frame()),
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
    "overrun_sizes": lambda: charts.overrun_sizes(overruns_frame().iloc[0:0]),
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
    return [d["scale"] for d in _walk(spec) if d.get("field") == "cadence" and "range" in d.get("scale", {})]


def test_cadence_colours_are_fixed_and_only_the_drawn_cadences_are_listed() -> None:
    """3w is green even in a chart where it is the only cadence; no legend lists an unused "other"."""
    only_3w = by_sprint_frame().query("team == 'B'")
    cases = [
        (charts.overrun_rate(only_3w), None),  # trends colour teams; cadence is a shape there
        (charts.team_timeline(sprints_frame()), ["1w", "2w", "3w"]),
        (charts.cadence_comparison(compare_frame()), ["1w", "2w", "3w"]),
        (charts.team_timeline(sprints_frame().query("team == 'B'")), ["3w"]),
        (charts.feedback_curves(curves_frame()), ["1w", "2w"]),
    ]
    for chart, domain in cases:
        scales = _cadence_scales(chart.to_dict())
        if domain is None:
            assert all(set(s["domain"]) == {"3w"} for s in scales)
            continue
        assert scales
        for scale in scales:
            mapping = dict(zip(scale["domain"], scale["range"], strict=True))
            assert scale["domain"] == domain and "other" not in mapping
            assert mapping == {c: charts.CADENCE_COLOURS[c] for c in domain}


def _vega(chart) -> dict:
    return vlc.vegalite_to_vega(chart.to_dict())


def _legend_titles(vega: dict) -> list:
    return [legend.get("title") for d in _walk(vega) for legend in d.get("legends", [])]


@pytest.mark.parametrize("name", sorted(CHARTS))
def test_every_coloured_mark_has_a_legend(name: str) -> None:
    """If anything is coloured by a field, the compiled chart has a legend for it."""
    chart = CHARTS[name]()
    coloured = [
        enc[ch]["field"]
        for enc in (d["encoding"] for d in _walk(chart.to_dict()) if isinstance(d.get("encoding"), dict))
        for ch in ("color", "fill", "stroke")
        if isinstance(enc.get(ch), dict) and "field" in enc[ch]
    ]
    assert coloured, name  # every chart colours something by a field
    assert _legend_titles(_vega(chart)), name


def test_kaplan_meier_curves_have_a_cadence_legend_and_a_log_axis_with_readable_ticks() -> None:
    chart = charts.feedback_curves(curves_frame())
    assert "Cadence" in _legend_titles(_vega(chart))
    x = chart.to_dict()["spec"]["layer"][0]["encoding"]["x"]
    assert x["scale"]["type"] == "symlog"
    assert x["axis"]["values"] == [0, 0.25, 1, 4, 8, 24, 48]  # the curves run to 50 h
    assert "datum.value == 24 ? '1 d'" in x["axis"]["labelExpr"] and "datum.value == 0.25 ? '15 min'" in x["axis"][
        "labelExpr"]


def test_histograms_of_hours_and_sizes_use_log_axes() -> None:
    for chart, ticks in (
        (charts.feedback_distribution(feedback_frame()), [0.25, 1, 4, 8, 24, 48, 168, 336]),
        (charts.overrun_sizes(overruns_frame()), [0.1, 0.3, 1, 3, 10]),
    ):
        x = chart.to_dict()["encoding"]["x"]
        assert x["scale"]["type"] == "log" and x["axis"]["values"] == ticks


def test_carry_counts_keep_the_rabbit_holes_visible() -> None:
    """A symlog count axis, the count on each bar, and a legend naming the highlight."""
    spec = charts.carry_counts(issues_frame()).to_dict()
    bars, labels = spec["layer"]
    assert bars["encoding"]["y"]["scale"]["type"] == "symlog"
    assert labels["mark"]["type"] == "text" and labels["encoding"]["text"]["field"] == "items"
    assert bars["encoding"]["color"]["scale"]["domain"] == ["2+ times: rabbit holes", "fewer than 2 times"]


def test_axis_titles_name_the_unit_and_which_way_is_better() -> None:
    spec = charts.cadence_comparison(compare_frame()).to_dict()
    titles = {d["encoding"]["x"]["title"] for d in _walk(spec) if "x" in d.get("encoding", {})}
    assert titles == {"Say/do (share of committed done), higher is better",
                      "Median feedback latency (hours), lower is better"}
    assert "Estimate (unit in row label)" not in str(spec)
    trend = charts.metric_trend(by_sprint_frame(), "overrun_rate", percent=True).to_dict()
    assert trend["layer"][0]["encoding"]["y"]["title"] == "Timebox overrun rate (share), lower is better"


def test_cant_tell_is_a_cross_with_words_not_a_bar() -> None:
    spec = charts.cadence_comparison(compare_frame()).to_dict()
    panel = spec["vconcat"][1]  # median latency: both cadences can't tell
    rule, point, words = panel["layer"]
    assert rule["transform"][1] == {"filter": "!(datum.sample === \"can't tell\")"}
    assert words["encoding"]["text"] == {"value": "can't tell"}
    assert point["encoding"]["shape"]["scale"] == {"domain": ["rough", "can't tell"],
                                                   "range": ["triangle-down", "cross"]}


def test_teams_that_share_a_cadence_get_their_own_colours() -> None:
    """Two 1-week teams are told apart by colour; their cadence is a shape."""
    frame = by_sprint_frame().assign(team=["A", "A", "A", "C", "B"], cadence=["1w", "1w", "1w", "1w", "3w"])
    layers = charts.metric_trend(frame, "say_do" if "say_do" in frame else "overrun_rate").to_dict()["layer"]
    points = layers[1]["encoding"]
    assert points["color"]["field"] == "team" and points["color"]["scale"]["domain"] == ["A", "B", "C"]
    assert len(set(points["color"]["scale"]["range"])) == 3
    assert points["shape"]["field"] == "cadence" and points["shape"]["scale"]["domain"] == ["1w", "3w"]


def test_many_teams_become_small_multiples() -> None:
    rows = by_sprint_frame().iloc[[0]].loc[[0] * 12].assign(team=[f"T{i:02}" for i in range(12)])
    spec = charts.overrun_rate(rows).to_dict()
    assert spec["facet"]["field"] == "team" and spec["columns"] == 3


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


def test_trend_rings_the_highlighted_sprint_with_a_legend_entry() -> None:
    spec = charts.overrun_rate(by_sprint_frame(), highlight="13").to_dict(validate=True)
    ring = spec["layer"][2]
    assert ring["transform"][0]["filter"] == "((datum.sprint_id === '13') && isValid(datum['overrun_rate']))"
    assert ring["encoding"]["stroke"]["scale"] == {"domain": ["this sprint"], "range": ["#000000"]}
    assert "this sprint" in json.dumps(_vega(charts.overrun_rate(by_sprint_frame(), highlight="13")))
    assert vlc.vegalite_to_png(spec)[:4] == b"\x89PNG"


def test_a_sprint_without_a_value_is_not_drawn_at_all() -> None:
    """The retro's sprint with no latency yet: no point and no ring (it landed in the legend area)."""
    frame = by_sprint_frame().assign(overrun_rate=[0.5, 0.25, 0.0, float("nan"), 0.6])
    spec = charts.overrun_rate(frame, highlight="14").to_dict()
    assert "14" not in {row.get("sprint_id") for row in _values(spec)}
