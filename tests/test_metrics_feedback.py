"""Feedback-loop latency on hand-worked histories, and the Kaplan-Meier estimates."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter

from cadence import metrics
from cadence.metrics.km import km_quantile, km_quantile_sql, summary
from histories import History, at, run


def fb(path, as_of, key):
    return run(path, metrics.feedback, as_of).set_index("key").loc[key]


def test_comment_by_the_assignee_is_not_feedback(db_path):
    h = History()
    h.item("G").assign("G", 0.5, to="ann").status("G", 1, "in_progress", actor="ann")
    h.comment("G", 2, actor="ann").comment("G", 3, actor="bob")
    row = fb(h.save(db_path), at(9), "G")
    assert row["observed_at"] == at(3) and row["observed_h"] == 48.0 and row["observed_kind"] == "comment"


def test_current_assignees_are_used_without_assignee_events(db_path):
    h = History()
    h.item("G", assignees=["ann"]).status("G", 1, "in_progress", actor="ann").comment("G", 2, actor="ann")
    h.status("G", 3, "in_progress", status_id="4", name="In Review", actor="ann")  # the assignee's own move
    h.status("G", 4, "done", actor="carol")  # a status change by someone else is feedback
    row = fb(h.save(db_path), at(9), "G")
    assert row["observed_at"] == at(4) and row["observed_kind"] == "status"


def test_a_former_assignee_gives_feedback(db_path):
    h = History()
    h.item("G").assign("G", 0.5, to="ann").status("G", 1, "in_progress")
    h.assign("G", 2.5, to="bob", frm="ann").comment("G", 2, actor="ann").comment("G", 3, actor="ann")
    row = fb(h.save(db_path), at(9), "G")
    assert row["observed_at"] == at(3)


def test_a_person_first_seen_being_unassigned_was_an_assignee_before(db_path):
    h = History()
    h.item("G").status("G", 1, "in_progress").comment("G", 2, actor="ann").assign("G", 4, frm="ann")
    h.comment("G", 5, actor="ann")
    assert fb(h.save(db_path), at(9), "G")["observed_at"] == at(5)


def test_comment_by_a_bot_is_not_feedback(db_path):
    h = History()
    h.item("B").status("B", 1, "in_progress").comment("B", 2, actor="ci-bot", actor_kind="bot")
    h.review("B", 3, actor="dependabot", actor_kind="bot").comment("B", 5, actor="bob")
    row = fb(h.save(db_path), at(9), "B")
    assert row["observed_at"] == at(5) and row["observed_h"] == 96.0


def test_review_counts_and_comment_before_start_does_not(db_path):
    h = History()
    h.item("V").comment("V", 0.5, actor="bob").status("V", 1, "in_progress").review("V", 1.5, actor="bob")
    row = fb(h.save(db_path), at(9), "V")
    assert row["observed_kind"] == "review" and row["observed_h"] == 12.0


def test_censored_item_is_kept_at_as_of(db_path):
    h = History()
    h.sprint("1", 0, 14)
    h.item("H").status("H", 1, "in_progress").comment("H", 2, actor="H-bot", actor_kind="bot")
    row = fb(h.save(db_path), at(5), "H")
    assert not row["feedback_event"] and row["feedback_h"] == 96.0 and row["feedback_kind"] is None
    assert not row["observed_event"] and row["observed_h"] == 96.0 and pd.isna(row["observed_at"])


def test_review_feedback_is_the_check_in_and_headline_is_the_first(db_path):
    h = History()
    s1 = h.sprint("1", 0, 7, 7)
    h.sprint("2", 7, 14, 14)
    # J: started day 2, sprint 1 closes day 7 holding it: check-in after 120 h; comment on day 9.
    h.item("J").add("J", s1, -1).status("J", 2, "in_progress").comment("J", 9, actor="bob")
    # K: a comment on day 3 comes first.
    h.item("K").add("K", s1, -1).status("K", 2, "in_progress").comment("K", 3, actor="bob")
    frame = run(h.save(db_path), metrics.feedback, at(10)).set_index("key")
    j, k = frame.loc["J"], frame.loc["K"]
    assert (j["review_h"], j["observed_h"], j["feedback_h"], j["feedback_kind"]) == (120.0, 168.0, 120.0, "check-in")
    assert (k["review_h"], k["observed_h"], k["feedback_h"], k["feedback_kind"]) == (120.0, 24.0, 24.0, "comment")
    # Per sprint: the KM median over J (120) and K (24): S(24) = 1/2 -> 24.
    by_sprint = run(db_path, metrics.by_sprint, at(10)).set_index("sprint_id")
    assert by_sprint.loc["1", "feedback_latency_median_h"] == 24.0
    assert by_sprint.loc["1", "feedback_review_median_h"] == 120.0
    assert by_sprint.loc["1", "items_started"] == 2
    # K's comment (day 3) falls in sprint 1; J's (day 9) in the team's sprint 2.
    assert by_sprint.loc["1", "feedback_events"] == 1 and by_sprint.loc["2", "feedback_events"] == 1


def frame_of(latencies: list[tuple[float, bool]], group: str = "g") -> pd.DataFrame:
    t = [x for x, _ in latencies]
    e = [y for _, y in latencies]
    return pd.DataFrame({"sprint_key": group, "cadence": group, "team": group, "feedback_h": t, "feedback_event": e,
                         "observed_h": t, "observed_event": e, "review_h": t, "review_event": e})


def test_km_median_by_hand():
    # 10 e, 20 e, 30 censored, 40 e: S(10) = 3/4, S(20) = 3/4 * 2/3 = 1/2 -> median 20; S(40) = 0 -> p85 40.
    frame = frame_of([(10, True), (20, True), (30, False), (40, True)])
    assert km_quantile(frame["sprint_key"], frame["feedback_h"], frame["feedback_event"], 0.5)["g"] == 20.0
    row = summary(frame, "cadence").set_index(["group", "kind"]).loc[("g", "headline")]
    assert (row["n"], row["n_events"], row["median_h"], row["p85_h"]) == (4, 3, 20.0, 40.0)
    assert row["median_ci_low"] <= 20.0


def test_km_median_not_reached_is_nan_not_the_median_of_events():
    # 10 e, 15 c, 20 e, 30 c, 40 c: S(10) = 4/5, S(20) = 4/5 * 2/3 = 0.533 > 0.5: not reached.
    frame = frame_of([(10, True), (15, False), (20, True), (30, False), (40, False)])
    assert np.isnan(km_quantile(frame["sprint_key"], frame["feedback_h"], frame["feedback_event"], 0.5)["g"])
    assert np.isnan(summary(frame, "team").set_index(["group", "kind"]).loc[("g", "observed"), "median_h"])


def lifelines_quantile(durations: pd.Series, events: pd.Series, q: float) -> float:
    """Oracle: the first time on lifelines' Kaplan-Meier curve at which the survival is q or below,
    an exact tie (within 1e-9, where lifelines' own percentile() goes by rounding) counted as reached."""
    curve = KaplanMeierFitter().fit(durations, events).survival_function_.iloc[:, 0]
    reached = curve[curve <= q + 1e-9]
    return float(reached.index[0]) if len(reached) else np.nan


@pytest.mark.filterwarnings("ignore::lifelines.exceptions.ApproximationWarning")
def test_lifelines_percentile_decides_an_exact_tie_by_rounding():
    # Why the oracle above: 8 items, events at 1..7 h, one censored at 100 h. S(4) = 4/8 = 1/2 exactly
    # (worked by hand), so the median is 4 h; lifelines' percentile() says 5 h, its S(4) being 0.5 + 1e-16.
    t = pd.Series([1, 2, 3, 4, 5, 6, 7, 100], dtype=float)
    e = pd.Series([True] * 7 + [False])
    assert KaplanMeierFitter().fit(t, e).percentile(0.5) == 5.0
    assert km_quantile(pd.Series(["g"] * 8), t, e, 0.5)["g"] == 4.0 == lifelines_quantile(t, e, 0.5)
    assert _sql_quantiles(frame_of(list(zip(t, e))), 0.5) == {"g": 4.0}


@pytest.mark.filterwarnings("ignore::lifelines.exceptions.ApproximationWarning")
@pytest.mark.parametrize("seed", range(5))
def test_vectorised_km_equals_lifelines_on_random_data(seed):
    rng = np.random.default_rng(seed)
    n = 300
    groups = pd.Series(rng.integers(0, 6, n))
    durations = pd.Series(rng.integers(1, 40, n).astype(float))  # many ties
    events = pd.Series(rng.random(n) < 0.6)
    for q in (0.5, 0.15):
        ours = km_quantile(groups, durations, events, q)
        for g in groups.unique():
            expected = lifelines_quantile(durations[groups == g], events[groups == g], q)
            assert (np.isnan(ours[g]) and np.isnan(expected)) or ours[g] == expected


def _sql_quantiles(frame: pd.DataFrame, q: float) -> dict:
    with duckdb.connect() as con:
        con.register("latency", frame)
        rows = con.execute(km_quantile_sql("latency", ["sprint_key"], "feedback_h", "feedback_event", q)).fetchall()
    return {g: (np.nan if value is None else value) for g, value in rows}


def test_km_median_in_sql_by_hand():
    # The cases worked by hand above: an exact tie at 1/2 (3/4 * 2/3) is reached, 0.533 is not, and a
    # last step where every item at risk has its event drops the survival to 0 (p85 = 40).
    reached = frame_of([(10, True), (20, True), (30, False), (40, True)], "a")
    not_reached = frame_of([(10, True), (15, False), (20, True), (30, False), (40, False)], "b")
    both = pd.concat([reached, not_reached], ignore_index=True)
    assert _sql_quantiles(both, 0.5)["a"] == 20.0 and np.isnan(_sql_quantiles(both, 0.5)["b"])
    assert _sql_quantiles(reached, 0.15) == {"a": 40.0}


@pytest.mark.filterwarnings("ignore::lifelines.exceptions.ApproximationWarning")
@pytest.mark.parametrize("seed", range(5))
def test_km_in_sql_equals_lifelines_on_random_data(seed):
    """Oracle: lifelines, an independent implementation of Kaplan-Meier."""
    rng = np.random.default_rng(100 + seed)
    n = 400
    frame = pd.DataFrame({"sprint_key": rng.integers(0, 7, n).astype(str),
                          "feedback_h": rng.integers(1, 30, n).astype(float),  # many ties
                          "feedback_event": rng.random(n) < 0.55})
    for q in (0.5, 0.15):
        ours = _sql_quantiles(frame, q)
        assert set(ours) == set(frame["sprint_key"])
        for g, part in frame.groupby("sprint_key"):
            expected = lifelines_quantile(part["feedback_h"], part["feedback_event"], q)
            assert (np.isnan(ours[g]) and np.isnan(expected)) or ours[g] == expected, (g, q)


def test_feedback_summary_and_curves_through_the_warehouse(db_path):
    h = History()
    s1 = h.sprint("1", 0, 14)
    h.item("A").add("A", s1, -1).status("A", 1, "in_progress").comment("A", 2, actor="bob")
    h.item("B").add("B", s1, -1).status("B", 1, "in_progress")
    path = h.save(db_path)
    table = run(path, metrics.feedback_summary, at(5), by="cadence").set_index(["group", "kind"])
    # A: 24 h (event), B: censored at 96 h -> S(24) = 1/2 -> median 24.
    assert table.loc[("2w", "headline"), "median_h"] == 24.0 and table.loc[("all", "observed"), "n_events"] == 1
    curve = run(path, metrics.feedback_curves, at(5))
    steps = curve[(curve["group"] == "2w") & (curve["kind"] == "headline")]
    assert steps["t_h"].tolist() == [0.0, 24.0, 96.0] and steps["survival"].tolist() == [1.0, 0.5, 0.5]
    with pytest.raises(ValueError):
        run(path, metrics.feedback_summary, at(5), by="nope")


@pytest.mark.filterwarnings("ignore::lifelines.exceptions.ApproximationWarning")
def test_every_sprint_median_of_the_demo_equals_lifelines_over_its_items(tmp_path):
    """Oracle: lifelines' Kaplan-Meier over each sprint's rows of the ``feedback`` frame (the items
    that started in it): the per-sprint medians are computed in SQL, and each leads back to its items."""
    from datetime import datetime, timezone
    from pathlib import Path

    from cadence.importer import import_path

    db = tmp_path / "demo.duckdb"
    import_path(db, Path(__file__).resolve().parents[1] / "data" / "demo")
    as_of = datetime(2026, 11, 26, tzinfo=timezone.utc)
    per_sprint = run(db, metrics.by_sprint, as_of).set_index("sprint_key")
    items = run(db, metrics.feedback, as_of)
    checked = 0
    for sprint_key, part in items.dropna(subset=["sprint_key"]).groupby("sprint_key"):
        for column, (dur, ev) in {"feedback_latency_median_h": ("feedback_h", "feedback_event"),
                                  "feedback_review_median_h": ("review_h", "review_event")}.items():
            expected = lifelines_quantile(part[dur], part[ev], 0.5)
            ours = per_sprint.loc[sprint_key, column]
            assert (np.isnan(ours) and np.isnan(expected)) or ours == expected, sprint_key
            checked += 1
    assert checked > 40  # the demo's sprints with started items, two latencies each
