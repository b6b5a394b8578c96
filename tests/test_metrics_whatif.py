"""What if (another cadence): hand-worked re-timings, a property on regular grids, the back-test.

Oracles: the expected values are worked out by hand from the histories written here (each test says
how), from PRODUCT.md's definitions, and from data/README.md for the demo's switch (Speech, 2 weeks
then 1 week from 2026-07-13). Days count from Monday 2024-01-01 00:00 UTC (tests/histories.py).
"""

from __future__ import annotations

import tempfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cadence import metrics
from cadence.config import Config
from cadence.metrics import whatif, whatif_retime
from cadence.metrics import whatif_grid as g
from cadence.metrics.km import km_quantile
from cadence.metrics.sql import Context
from cadence.warehouse.connection import connect
from histories import History, at, run

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"
DEMO_AS_OF = datetime(2026, 11, 26, tzinfo=timezone.utc)
SPEECH = "Speech (synthetic)"
CALENDAR = ["review_latency_median_h", "feedback_latency_median_h", "sprint_end_timebox_h",
            "sprint_end_overrun_rate", "carry_count_mean", "carried_share", "weeks_with_learning",
            "learnings_per_week"]


def _row(frame: pd.DataFrame, metric: str) -> pd.Series:
    return frame.set_index("metric").loc[metric]


def _what_if(path: Path, as_of: datetime, weeks: int, **kw) -> pd.DataFrame:
    return run(path, metrics.what_if, as_of, team="T", weeks=weeks, n_sim=kw.pop("n_sim", 50), **kw)


def _outcomes(path: Path, as_of: datetime, weeks: int, phase=None):
    """The items and their actual and re-timed outcomes, as the what-if frame computes them."""
    with connect(path, read_only=True) as con, Context(con, as_of, Config()) as ctx:
        h = whatif_retime.load(ctx, ["T"])
        period = whatif.team_period(h, "T")
        grid, _, _ = whatif.grid_for(period.sprints, period.low, weeks, phase)
        chosen = whatif_retime.select(h, period)
        return (chosen.items, whatif_retime.actual(chosen, period, h.as_of),
                whatif_retime.retimed(chosen, period, grid, h))


def _two_sprints(path: Path, items: list[tuple[str, float, float | None]], second_closed: bool = True) -> Path:
    """Sprints [day 0, 14) and [14, 28), closed on time; each item is committed to the first sprint
    at day 0 (``(key, start_day, done_day)``) and carried into the second if not done by day 14.
    Status changes are by the assignee, so they are not feedback."""
    h = History()
    first = h.sprint("1", 0, 14, 14)
    second = h.sprint("2", 14, 28, 28 if second_closed else None)
    for key, start, done in items:
        h.item(key, created=-1, assignees=["ann"]).add(key, first, 0).status(key, start, "in_progress", actor="ann")
        if done is None or done > 14:
            h.add(key, second, 14)
        if done is not None:
            h.status(key, done, "done", actor="ann")
    return h.save(path)


def test_day_3_of_a_2_week_sprint_waits_11_days_and_4_on_a_1_week_grid(db_path: Path) -> None:
    """Hand-worked. The sprint [day 0, 14) closes on time, Monday 00:00, so the grid's boundaries are
    Mondays 00:00 from day 0. Started on day 3, the item's check-in is day 14: 11 days = 264 h.
    On a 1-week grid with the same phase (boundaries on days 0, 7, 14, ...) it is day 7: 4 days = 96 h."""
    _two_sprints(db_path, [("A", 3, 5)])
    two, one = _what_if(db_path, at(30), 2), _what_if(db_path, at(30), 1, phase=0)
    assert _row(two, "review_latency_median_h")["actual"] == 11 * 24
    assert _row(two, "review_latency_median_h")["predicted"] == 11 * 24
    assert _row(one, "review_latency_median_h")["predicted"] == 4 * 24
    assert one["boundary"].iloc[0] == "Mondays 00:00 UTC" and one["phase"].iloc[0] == "pinned: 0"
    week = g.Grid(g.ns(pd.Series([at(0)]))[0], 1, (0,))
    assert g.next_boundary(g.ns(pd.Series([at(3)])), week)[0, 0] == g.ns(pd.Series([at(7)]))[0]


def test_a_censored_item_stays_censored(db_path: Path) -> None:
    """Hand-worked, as of day 20 (sprint 2 [14, 28) still running):
    A starts day 3 -> check-in day 14: 264 h. B starts day 10 -> day 14: 96 h.
    C starts day 15 in sprint 2 -> its check-in (day 28) has not happened: censored at 5 days = 120 h.
    Kaplan-Meier: at 96 h S = 2/3, C leaves the risk set at 120 h, at 264 h S = 0, so the median is
    264 h. Dropping C would give 96 h, counting it as feedback 120 h. On a 1-week grid C's check-in
    is day 21, after day 20, so it is still censored (120 h), and A and B wait 96 h each: median 96 h."""
    _two_sprints(db_path, [("A", 3, 5), ("B", 10, 12), ("C", 15, None)], second_closed=False)
    two, one = _what_if(db_path, at(20), 2), _what_if(db_path, at(20), 1)
    review = _row(two, "review_latency_median_h")
    assert review["actual"] == 264 and review["predicted"] == 264 and review["n_actual"] == 3
    assert _row(one, "review_latency_median_h")["predicted"] == 96
    items, real, week = _outcomes(db_path, at(20), 1)
    c = int(np.flatnonzero(items["start"] == g.ns(pd.Series([at(15)]))[0])[0])
    assert not real.review_event[0, c] and not week.review_event[0, c]
    assert real.review_h[0, c] == 120 and week.review_h[0, c] == 120


@pytest.mark.parametrize("comment_day, weeks, expected_h", [
    (4, 2, 24), (4, 1, 24),  # a comment a day after the start beats both check-ins (day 14, day 7)
    (13, 2, 240),  # day 13 beats the 2-week check-in on day 14: 10 days
    (13, 1, 96),  # but the 1-week check-in on day 7 comes first: 4 days
])
def test_observed_feedback_earlier_than_the_check_in_wins(db_path: Path, comment_day, weeks, expected_h) -> None:
    """Hand-worked: the item starts on day 3; a teammate (not an assignee) comments on ``comment_day``."""
    _two_sprints(db_path, [("A", 3, 20)])
    h = History(prefix="c")
    h.comment("A", comment_day, actor="reviewer")
    h.save(db_path)
    frame = _what_if(db_path, at(30), weeks, phase=0)
    assert _row(frame, "feedback_latency_median_h")["predicted"] == expected_h
    if weeks == 2:
        assert _row(frame, "feedback_latency_median_h")["actual"] == expected_h


def test_carry_timebox_and_learnings_by_hand(db_path: Path) -> None:
    """Hand-worked on sprints [0, 14) and [14, 28), as of day 30, on a 1-week grid from day 0:
    - spike S (rule 4: type Spike, no other rule) starts day 3 and finishes day 12. Its timebox is the
      end of its sprint: day 14, 264 h, kept. On the 1-week grid it is day 7 (96 h) and overruns.
    - story L starts day 2 and finishes day 20: carried once at day 14 (actual). On the 1-week grid it
      crosses days 7 and 14: 2 carries. S crosses day 7: 1. Means: actual 1/2, 1-week grid 3/2.
    - learnings on days 1 and 16 (L's comments) and S's finish on day 12 (a finished spike). Actual:
      sprint 1 has weeks [0, 7) and [7, 14), both with a learning; sprint 2's week [14, 21) has one
      and [21, 28) none: shares 1 and 1/2, mean 3/4; learnings per week (2/2 + 1/2) / 2 = 3/4.
      The 1-week grid has 4 sprints, [21, 28) empty: 3/4 and (1 + 1 + 1 + 0) / 4 = 3/4."""
    h = History()
    first, second = h.sprint("1", 0, 14, 14), h.sprint("2", 14, 28, 28)
    h.item("S", created=-1, type="Spike", assignees=["ann"]).add("S", first, 0)
    h.status("S", 3, "in_progress", actor="ann").status("S", 12, "done", actor="ann")
    h.item("L", created=-1, assignees=["ann"]).add("L", first, 0).status("L", 2, "in_progress", actor="ann")
    h.add("L", second, 14).status("L", 20, "done", actor="ann")
    h.comment("L", 1, "Learning: the cache was cold", actor="ann").comment("L", 16, "Finding: it is I/O", actor="ann")
    h.save(db_path)
    one = _what_if(db_path, at(30), 1).set_index("metric")
    assert one.loc["sprint_end_timebox_h", "actual"] == 264 and one.loc["sprint_end_timebox_h", "predicted"] == 96
    assert one.loc["sprint_end_overrun_rate", "actual"] == 0 and one.loc["sprint_end_overrun_rate", "predicted"] == 1
    assert one.loc["carry_count_mean", "actual"] == 0.5 and one.loc["carry_count_mean", "predicted"] == 1.5
    assert one.loc["carried_share", "actual"] == 0.5 and one.loc["carried_share", "predicted"] == 1.0
    for metric in ("weeks_with_learning", "learnings_per_week"):
        assert one.loc[metric, "actual"] == 0.75 and one.loc[metric, "predicted"] == 0.75
    assert one.loc["weeks_with_learning", "n_actual"] == 2 and one.loc["weeks_with_learning", "n_predicted"] == 4


# -- the property: the team's own grid and phase reproduce its actual figures ---------------------------
HOUR = 1 / 24
# Times are half days from a sprint start (which is on any weekday and hour), so that starts,
# finishes, removals and learnings often fall exactly on a boundary, where mistakes show.
regular_items = st.fixed_dictionaries({
    "sprint": st.integers(0, 3),
    "entry": st.one_of(st.just(0), st.integers(1, 41)),  # 0: committed at the sprint's start
    "start": st.integers(-4, 42),  # after (or a little before) entering the sprint
    # At least half a day: membership.py reads the status at a completion with an ASOF join on the
    # time alone, so In Progress and Done at the same instant can read as not done (reported).
    "duration": st.one_of(st.none(), st.integers(1, 120)),
    "removed": st.one_of(st.none(), st.integers(1, 60)),  # taken out, unfinished, after entering
    "carries": st.one_of(st.none(), st.integers(0, 3)),  # left in its sprint after so many carries
    "spike": st.booleans(),
    "comments": st.lists(st.integers(-2, 60), max_size=2),
    # half days after the item's start, or ("week", w): exactly w weeks after the first sprint's start
    "learnings": st.lists(st.one_of(st.integers(-2, 60), st.tuples(st.just("week"), st.integers(0, 24))),
                          max_size=3),
})
regular_histories = st.fixed_dictionaries({
    "weeks": st.sampled_from([1, 2, 3]),
    "sprints": st.integers(1, 8),
    "weekday": st.integers(0, 6),
    "hour": st.integers(0, 23),
    "as_of": st.integers(1, 336),  # half days into the sprints' span (capped at its end)
    "items": st.lists(regular_items, min_size=1, max_size=6),
})


def build_regular(spec: dict) -> tuple[History, datetime]:
    """Back-to-back sprints closed on time, as in Jira: an item not done at a completion stays in that
    sprint and joins the next one at that moment. Times are whole hours, so nothing is rounded."""
    h, length, half = History(), 7 * spec["weeks"], 0.5
    t0 = spec["weekday"] + spec["hour"] * HOUR
    span = spec["sprints"] * length
    as_of = t0 + min(spec["as_of"] * half, span - half)
    keys = []
    for j in range(spec["sprints"]):
        start, end = t0 + j * length, t0 + (j + 1) * length
        state = "closed" if end <= as_of else ("active" if start <= as_of else "future")
        keys.append(h.sprint(str(j), start, end, end if state == "closed" else None, state=state))
    for i, item in enumerate(spec["items"]):
        j = item["sprint"] % spec["sprints"]
        entry = t0 + j * length + (item["entry"] % (2 * length)) * half
        start = entry + item["start"] * half
        done = None if item["duration"] is None else start + item["duration"] * half
        removed = None if item["removed"] is None else entry + item["removed"] * half
        if removed is not None and ((done is not None and removed >= done) or removed >= t0 + span):
            removed = None
        key = f"T-{i}"
        h.item(key, created=min(entry, start) - 1, type="Spike" if item["spike"] else "Story", assignees=["ann"])
        h.add(key, keys[j], entry).status(key, start, "in_progress", actor="ann")
        current = j  # the sprint it is in
        for m in range(j, spec["sprints"] - 1):  # carried over at each completion it is not done by
            boundary = t0 + (m + 1) * length
            if (done is not None and done <= boundary) or (removed is not None and removed <= boundary):
                break
            if item["carries"] is not None and m - j == item["carries"]:
                break  # not re-added: it stays in the closed sprint, unfinished
            h.add(key, keys[m + 1], boundary)
            current = m + 1
        if removed is not None:  # from the sprint it is in, possibly at that sprint's completion
            h.remove(key, keys[current], removed)
        if done is not None:
            h.status(key, done, "done", actor="ann")
        for c in item["comments"]:
            h.comment(key, start + c * half, "looks fine", actor="reviewer")
        for c in item["learnings"]:
            when = t0 + 7 * c[1] if isinstance(c, tuple) else start + c * half
            h.comment(key, when, "Learning: it works", actor="ann")
    return h, at(as_of)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(regular_histories)
def test_own_cadence_and_phase_reproduce_the_actual_figures(spec) -> None:
    """On a regular grid the team's own cadence, phase 0 (its own), gives exactly its actual figures."""
    history, as_of = build_regular(spec)
    with tempfile.TemporaryDirectory() as folder:
        path = history.save(Path(folder) / "w.duckdb")
        frame = _what_if(path, as_of, spec["weeks"], phase=0, n_sim=5).set_index("metric")
    for metric in CALENDAR:
        actual, predicted = frame.loc[metric, "actual"], frame.loc[metric, "predicted"]
        assert (np.isnan(actual) and np.isnan(predicted)) or actual == predicted, (metric, actual, predicted)


def test_the_default_phase_on_the_own_cadence_is_the_teams(db_path: Path) -> None:
    """Hand-worked: a 2-week team's own phase is phase 0 (its completions fall on the anchor's grid);
    'random' averages phases 0 and 1. Phase 1 puts boundaries on days 7, 21: A (start day 3) waits
    4 days = 96 h there, so the random estimate is (264 + 96) / 2 = 180 h."""
    _two_sprints(db_path, [("A", 3, 5)])
    own, drawn = _what_if(db_path, at(30), 2), _what_if(db_path, at(30), 2, phase="random")
    assert own["phase"].iloc[0] == "the team's own (0)" and drawn["phase"].iloc[0] == "random, over 2"
    assert _row(own, "review_latency_median_h")["predicted"] == 264
    assert _row(drawn, "review_latency_median_h")["predicted"] == 180


def test_every_row_says_what_is_not_modelled_and_bad_input_is_one_clear_error(db_path: Path) -> None:
    from cadence.errors import CadenceError

    _two_sprints(db_path, [("A", 3, 5)])
    frame = _what_if(db_path, at(30), 1)
    from test_metrics_frames import FRAMES  # the columns docs/frames.md promises

    assert list(frame.columns) == FRAMES["what_if"].split(", ")
    assert list(frame.columns[:7]) == ["metric", "actual", "predicted", "ci_low", "ci_high", "mechanism", "assumption"]
    assert frame["not_modelled"].str.contains("throughput, scope added and say/do").all()
    assert set(frame["metric"]) == set(CALENDAR)
    for bad, message in (({"weeks": 4}, "weeks must be 1, 2 or 3"), ({"weeks": 2, "phase": 2}, "phase must be 0 to 1"),
                         ({"weeks": 1, "phase": "soon"}, "phase must be 'random'")):
        with pytest.raises(CadenceError, match=message):
            run(db_path, metrics.what_if, at(30), team="T", n_sim=5, **bad)
    with pytest.raises(CadenceError, match="no team 'Z'.*teams: T"):
        run(db_path, metrics.what_if, at(30), team="Z", weeks=1)


# -- the back-test ----------------------------------------------------------------------------------------
def test_backtest_on_a_hand_built_switch(db_path: Path) -> None:
    """Hand-worked. Two 2-week sprints (days 0-28), then two 1-week sprints (28-42), all closed on
    time; as of day 42. Before: X starts day 3 (check-in day 14: 264 h), V day 2 (day 14: 288 h;
    done day 20, carried once), Y day 15 (day 28: 312 h): median 288 h. On the 1-week grid: X day 7
    (96 h), V day 7 (120 h), Y day 21 (144 h): median 120 h; V crosses days 7 and 14: 2 carries.
    After: Z day 29 (day 35: 144 h), W day 38 (day 42: 96 h): median 96 h."""
    h = History()
    a0, a1, b0, b1 = h.sprint("a0", 0, 14, 14), h.sprint("a1", 14, 28, 28), h.sprint("b0", 28, 35, 35), h.sprint(
        "b1", 35, 42, 42)
    for key, sprint, entry, start, done in (("X", a0, 0, 3, 6), ("V", a0, 0, 2, 20), ("Y", a1, 14, 15, 16),
                                            ("Z", b0, 28, 29, 30), ("W", b1, 35, 38, 39)):
        h.item(key, created=-1, assignees=["ann"]).add(key, sprint, entry).status(key, start, "in_progress",
                                                                                 actor="ann")
        h.status(key, done, "done", actor="ann")
    h.add("V", a1, 14)
    h.save(db_path)
    frame = run(db_path, metrics.what_if_backtest, at(42), n_sim=50).set_index("metric")
    assert (frame["before_cadence"] == "2w").all() and (frame["after_cadence"] == "1w").all()
    assert (frame["switch_at"] == pd.Timestamp(at(28))).all()
    review = frame.loc["review_latency_median_h"]
    assert (review["before"], review["predicted"], review["actual"]) == (288, 120, 96)
    carry = frame.loc["carry_count_mean"]
    assert (carry["before"], carry["predicted"], carry["actual"]) == (1 / 3, 2 / 3, 0)
    assert (review["n_before"], review["n_actual"]) == (3, 2)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from cadence.importer import import_path

    db = tmp_path_factory.mktemp("whatif") / "demo.duckdb"
    import_path(db, DEMO)
    return db


def test_backtest_on_the_demos_switch(demo_db: Path, capsys: pytest.CaptureFixture) -> None:
    """data/README.md: Speech ran 2-week sprints, then 1-week ones from 2026-07-13; the only switch.
    Its before and after periods split Speech's items started since its first sprint (issues frame).
    On a 1-week grid no sprint item waits more than a week for its check-in, so the predicted
    median is at most 168 h."""
    frame = run(demo_db, metrics.what_if_backtest, DEMO_AS_OF)
    assert set(frame["team"]) == {SPEECH} and len(frame) == len(CALENDAR)
    assert (frame["switch_at"].dt.strftime("%Y-%m-%d") == "2026-07-13").all()
    assert set(frame["before_cadence"]) == {"2w"} and set(frame["after_cadence"]) == {"1w"}
    issues = run(demo_db, metrics.issues, DEMO_AS_OF)
    sprints = run(demo_db, metrics.sprints, DEMO_AS_OF)
    first = sprints.loc[sprints["team"] == SPEECH, "start"].min()
    started = issues[(issues["team"] == SPEECH) & (issues["start"] >= first)]
    review = frame.set_index("metric").loc["review_latency_median_h"]
    assert review["n_before"] + review["n_actual"] == len(started)
    assert 0 < review["predicted"] <= 168 and review["ci_high"] <= 168
    assert frame["overlap"].dtype == bool
    with capsys.disabled():  # the figures for the issue's note
        shown = frame[["metric", "before", "predicted", "ci_low", "ci_high", "actual", "actual_ci_low",
                       "actual_ci_high", "overlap"]]
        print("\n" + shown.round(3).to_string(index=False))


def test_actual_figures_are_the_products_own(demo_db: Path) -> None:
    """The actual column is the product's metrics over the team's sprints: the Kaplan-Meier medians of
    the ``feedback`` frame (``km.km_quantile``, checked against lifelines elsewhere) and the means of
    ``by_sprint``'s weeks_with_learning and learnings_per_week over the team's closed sprints."""
    frame = run(demo_db, metrics.what_if, DEMO_AS_OF, team=SPEECH, weeks=1, n_sim=20).set_index("metric")
    latency = run(demo_db, metrics.feedback, DEMO_AS_OF)
    latency = latency[latency["team"] == SPEECH]
    for metric, (hours, event) in {"review_latency_median_h": ("review_h", "review_event"),
                                   "feedback_latency_median_h": ("feedback_h", "feedback_event")}.items():
        expected = km_quantile(pd.Series("all", index=latency.index), latency[hours], latency[event]).iloc[0]
        assert frame.loc[metric, "actual"] == pytest.approx(expected, abs=1e-9)
    per_sprint = run(demo_db, metrics.by_sprint, DEMO_AS_OF)
    closed = per_sprint[(per_sprint["team"] == SPEECH) & (per_sprint["state"] == "closed")]
    for metric in ("weeks_with_learning", "learnings_per_week"):
        assert frame.loc[metric, "actual"] == pytest.approx(closed[metric].astype(float).mean(), abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 12), st.booleans(), st.integers(0, 3)), min_size=1, max_size=12))
def test_weighted_medians_equal_the_medians_of_the_expanded_samples(rows) -> None:
    """Oracle: numpy.median and km.km_quantile (itself checked against lifelines in
    test_metrics_feedback.py) on the sample with each item repeated ``count`` times."""
    hours = np.array([r[0] for r in rows], dtype=float) * 6
    events, counts = np.array([r[1] for r in rows]), np.array([[r[2] for r in rows]], dtype=np.int32)  # 1 sample
    expanded_h, expanded_e = np.repeat(hours, counts[0]), np.repeat(events, counts[0])
    median = g.weighted_median(hours, counts)[0]
    km = g.km_median(hours, events, counts)[0]
    if counts.sum() == 0:
        assert np.isnan(median) and np.isnan(km)
        return
    assert median == np.median(expanded_h)
    expected = km_quantile(pd.Series(["x"] * expanded_h.size), pd.Series(expanded_h), pd.Series(expanded_e)).iloc[0]
    assert (np.isnan(km) and np.isnan(expected)) or km == expected
