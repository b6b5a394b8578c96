"""Every metric hands out the columns docs/frames.md promises, even on an empty warehouse."""

from __future__ import annotations

import pytest

from cadence import metrics
from cadence.config import Config
from cadence.warehouse.connection import connect
from histories import at

FRAMES = {
    "sprints": "sprint_key, source, team, sprint_id, sprint_name, state, goal, planned_start, planned_end, "
               "actual_start, completed_at, start, end, completion, length_days, cadence_weeks, cadence, "
               "actual_length_days, length_mismatch, late_close_h",
    "issues": "source, team, key, type, summary, url, created, start, finish, cycle_time_h, status_category, "
              "resolution, carry_count, straight_to_done, start_signal, labels, assignees, story_points",
    "by_sprint": "team, sprint_id, sprint_name, state, start, end, completed_at, length_days, cadence_weeks, "
                 "committed, added, removed, completed, carried_over, say_do, feedback_latency_median_h, "
                 "timebox_overruns, learnings, learnings_per_week, jira_report, weeks_with_learning, "
                 "committed_points, added_points, removed_points, completed_points, carried_over_points, late_close_h, "
                 "feedback_observed_median_h, feedback_review_median_h, timeboxes, overrun_rate, "
                 "throughput_per_week, feedback_events, feedback_events_per_week, scope_added_per_week, "
                 "items_started, cadence, length_mismatch, sprint_key, source",
    "by_week": "team, week_start, iso_week, completed, started, added, learnings, feedback_events, has_learning",
    "feedback": "source, team, key, summary, url, start, sprint_key, sprint_id, cadence, observed_at, observed_kind, "
                "observed_h, observed_event, review_at, review_h, review_event, feedback_h, feedback_event, "
                "feedback_kind",
    "feedback_summary": "group, kind, n, n_events, median_h, median_ci_low, median_ci_high, p85_h, p85_ci_low, "
                        "p85_ci_high",
    "feedback_curves": "group, kind, t_h, survival, ci_low, ci_high",
    "overruns": "source, team, key, summary, url, type, rule, start, timebox_end, finish, finished, timebox_h, "
                "actual_h, overrun_size, sprint_key, sprint_id, sprint_name, carry_count, tolerance_h",
    "timebox_problems": "source, team, key, summary, url, type, problem, start, due_date, before_start_h, rule_used",
    "learnings": "source, team, key, summary, url, kind, marker, text, occurred_at, sprint_key, sprint_id, "
                 "sprint_name, iso_week",
    "compare_cadences": "metric, cadence, cadence_weeks, estimate, ci_low, ci_high, n_sprints, n_teams, "
                        "small_sample, warning, sample",
    "cadence_differences": "metric, cadence_a, cadence_b, estimate_a, estimate_b, ci_low_a, ci_high_a, ci_low_b, "
                           "ci_high_b, diff, diff_ci_low, diff_ci_high, effect_size, n_sprints_a, n_sprints_b, "
                           "n_teams_a, n_teams_b",
    "switches": "team, metric, switch_at, before_cadence, after_cadence, before_estimate, before_ci_low, "
                "before_ci_high, after_estimate, after_ci_low, after_ci_high, diff, diff_ci_low, diff_ci_high, "
                "n_before, n_after, warning, effect_size, sample",
    "reconciliation": "team, sprint_key, sprint_id, sprint_name, board_id, count, ours, jira, agrees, only_ours, "
                      "only_jira, causes",
    "reconciliation_keys": "team, sprint_key, sprint_id, sprint_name, board_id, count, ours, jira, key, side, "
                           "cause, url",
    "verdict": "question, answer, evidence, reason, basis, metric, side_a, side_b, estimate_a, estimate_b, diff, "
               "diff_ci_low, diff_ci_high, effect_size, across_teams, tradeoff",
    "what_if": "metric, actual, predicted, ci_low, ci_high, mechanism, assumption, actual_ci_low, actual_ci_high, "
               "label, unit, better, not_modelled, warning, team, weeks, grid, boundary, phase, n_actual, n_predicted",
    "what_if_backtest": "team, switch_at, before_cadence, after_cadence, metric, before, before_ci_low, "
                        "before_ci_high, predicted, ci_low, ci_high, actual, actual_ci_low, actual_ci_high, overlap, "
                        "label, unit, better, mechanism, assumption, not_modelled, warning, grid, n_before, "
                        "n_actual, n_predicted",
}
FRAMES["what_if_all"] = FRAMES["what_if"]
NEEDS_A_TEAM = {"what_if"}  # an empty warehouse has none: test_metrics_whatif.py checks its columns


@pytest.fixture(scope="module")
def empty():
    with connect(":memory:", read_only=False) as con:
        yield con


@pytest.mark.parametrize("name", sorted(set(FRAMES) - NEEDS_A_TEAM))
def test_columns_on_an_empty_warehouse(empty, name):
    frame = getattr(metrics, name)(empty, as_of=at(5), config=Config())
    assert list(frame.columns) == FRAMES[name].split(", ")


def test_the_public_functions_are_exactly_the_documented_ones():
    assert sorted(metrics.__all__) == sorted(FRAMES)
