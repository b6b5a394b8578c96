"""Comparing cadences: estimates, the two-stage bootstrap and its coverage, marks, warnings, switches."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cadence import metrics
from cadence.metrics.compare import (
    FEW_TEAMS, ONE_TEAM, boot_mean, boot_two_stage_mean, compare, differences, sample_mark, switches,
)
from histories import History, at, run


def per_sprint(rows: list[tuple[str, str, float, float]], metric: str = "say_do") -> pd.DataFrame:
    """rows: (team, cadence, start day, value) of closed sprints."""
    frame = pd.DataFrame(rows, columns=["team", "cadence", "start", metric])
    frame["state"] = "closed"
    frame["sprint_key"] = [f"s{i}" for i in range(len(frame))]
    frame["cadence_weeks"] = frame["cadence"].map({"1w": 1, "2w": 2, "3w": 3}).astype("Int64")
    for other in metrics.compare.METRICS:
        if other not in frame:
            frame[other] = np.nan
    return frame


def test_estimate_is_the_mean_and_the_interval_resamples_teams_then_sprints():
    """Hand-worked: 2w has team A (1, 3) and team B (5); the estimate is their mean, 3.

    Two-stage draws: teams AA, AB, BA, BB with 1/4 each, then each drawn team's sprints again.
    BB gives 5 (probability 1/4), so the 97.5th percentile is 5. AA gives the mean of four draws of
    1 or 3: 1 with probability 1/4 * 1/16 = 1.6% and 1.5 with 1/4 * 4/16 = 6.3%, so the 2.5th
    percentile is 1.5. (Resampling teams alone could never go below 2, the mean of A.)
    """
    frame = per_sprint([("A", "2w", 0, 1.0), ("A", "2w", 14, 3.0), ("B", "2w", 0, 5.0),
                        ("C", "1w", 0, 2.0), ("C", "1w", 7, 4.0), ("C", "1w", 14, 6.0)])
    out = compare(frame, seed=1, n_boot=2000).set_index(["metric", "cadence"])
    two = out.loc[("say_do", "2w")]
    assert (two["estimate"], two["ci_low"], two["ci_high"]) == (3.0, 1.5, 5.0)
    assert (two["n_sprints"], two["n_teams"], bool(two["small_sample"]), two["warning"], two["sample"]) == (
        3, 2, True, FEW_TEAMS, "can't tell")
    one = out.loc[("say_do", "1w")]
    assert one["estimate"] == 4.0 and one["warning"] == ONE_TEAM and 2.0 <= one["ci_low"] < one["ci_high"] <= 6.0
    assert out.loc[("throughput_per_week", "1w"), "n_sprints"] == 0  # no values: counted as 0, never hidden


def test_sample_marks_tell_three_levels_apart():
    """PRODUCT.md: under 3 teams or 6 sprints "can't tell"; our rule: under 5 teams or 12 sprints "rough"."""
    assert [sample_mark(s, t) for s, t in [(52, 2), (5, 4), (6, 3), (11, 6), (12, 4), (12, 5), (40, 9)]] == [
        "can't tell", "can't tell", "rough", "rough", "rough", "enough data", "enough data"]


def _draw(rng: np.random.Generator, mean: float, teams: int, sprints: int, team_sd: float, sprint_sd: float):
    """A cadence's history: each team has its own level (team_sd around ``mean``), and sprints vary about it."""
    sizes = rng.integers(sprints // 2, sprints * 3 // 2 + 1, size=teams)
    levels = mean + rng.normal(0, team_sd, size=teams)
    values = np.concatenate([rng.normal(level, sprint_sd, size=n) for level, n in zip(levels, sizes)])
    return values, np.repeat(np.arange(teams), sizes)


def _coverage(boot, draws: int = 200, teams: int = 12, seed: int = 14) -> tuple[float, float]:
    """Share of simulated histories whose 95% interval holds the true mean of 1w, and the true 2w - 1w = 0.5."""
    rng = np.random.default_rng(seed)
    hit_mean = hit_diff = 0
    for _ in range(draws):
        one = boot(*_draw(rng, 1.0, teams, 10, 0.5, 1.0), rng)
        two = boot(*_draw(rng, 1.5, teams, 10, 0.5, 1.0), rng)
        low, high = np.percentile(one, [2.5, 97.5])
        hit_mean += low <= 1.0 <= high
        low, high = np.percentile(two - one, [2.5, 97.5])
        hit_diff += low <= 0.5 <= high
    return hit_mean / draws, hit_diff / draws


def test_two_stage_interval_covers_the_truth_about_95_percent_of_the_time():
    """Simulation (the oracle is the known truth of the simulated histories): 200 histories of 12 teams
    per cadence, team levels that differ (sd 0.5) and sprints about them (sd 1). The two-stage interval
    holds the true mean and the true difference in about 95% of them; the sprint-only bootstrap, which
    ignores that sprints of one team are alike, does not (the test can fail)."""
    def two_stage(values, teams, rng):
        return boot_two_stage_mean(values, teams, rng, 500)

    def sprints_only(values, teams, rng):
        return boot_mean(values, rng, 500)

    mean_cover, diff_cover = _coverage(two_stage)
    assert 0.91 <= mean_cover <= 0.99 and 0.91 <= diff_cover <= 0.99, (mean_cover, diff_cover)
    naive_mean, naive_diff = _coverage(sprints_only)
    assert naive_mean < 0.85 and naive_diff < 0.85, (naive_mean, naive_diff)


def test_two_stage_bootstrap_in_chunks_is_the_same_distribution():
    """Large warehouses are bootstrapped in chunks; a chunk of one row at a time gives the same draws."""
    from cadence.metrics import compare as module

    values, teams = np.array([1.0, 3.0, 5.0, 7.0, 2.0]), np.array(["A", "A", "B", "B", "C"])
    whole = boot_two_stage_mean(values, teams, np.random.default_rng(3), 4000)
    chunk, module._CHUNK = module._CHUNK, 7  # one bootstrap row per chunk
    try:
        pieces = boot_two_stage_mean(values, teams, np.random.default_rng(4), 4000)
    finally:
        module._CHUNK = chunk
    assert whole.shape == pieces.shape == (4000,)
    assert np.all((pieces >= 1.0) & (pieces <= 7.0))
    # The bootstrap mean of a pooled mean is near the pooled mean, 3.6, in both.
    assert abs(whole.mean() - 3.6) < 0.1 and abs(pieces.mean() - 3.6) < 0.1
    assert np.allclose(np.percentile(whole, [2.5, 97.5]), np.percentile(pieces, [2.5, 97.5]), atol=0.3)


def test_differences_between_cadences():
    """1w: team C (2, 4, 6), mean 4; 2w: A (1, 3) and B (5), mean 3: 1w - 2w = 1, d = 1 / sqrt(4) = 0.5."""
    frame = per_sprint([("A", "2w", 0, 1.0), ("A", "2w", 14, 3.0), ("B", "2w", 0, 5.0),
                        ("C", "1w", 0, 2.0), ("C", "1w", 7, 4.0), ("C", "1w", 14, 6.0)])
    out = differences(frame, seed=0, n_boot=1000)
    row = out[out["metric"] == "say_do"].iloc[0]
    assert (row["cadence_a"], row["cadence_b"], row["diff"]) == ("1w", "2w", 1.0)
    assert row["effect_size"] == 0.5  # pooled sd: both sides have variance 4
    assert row["diff_ci_low"] < 0 < row["diff_ci_high"]
    assert (row["n_teams_a"], row["n_teams_b"], row["n_sprints_a"], row["n_sprints_b"]) == (1, 2, 3, 3)
    assert set(out["metric"]) == {"say_do"}  # metrics without values on both sides give no row


def test_bootstrap_is_reproducible_with_a_seed():
    rows = [(t, "2w", d, v) for t, d, v in [("A", 0, 0.2), ("A", 14, 0.9), ("B", 0, 0.5), ("B", 14, 0.4),
                                            ("C", 0, 0.7), ("C", 14, 0.1), ("C", 28, 0.3)]]
    a = compare(per_sprint(rows), seed=7, n_boot=500)
    b = compare(per_sprint(rows), seed=7, n_boot=500)
    pd.testing.assert_frame_equal(a, b)
    row = a.set_index(["metric", "cadence"]).loc[("say_do", "2w")]
    assert row["n_sprints"] == 7 and row["n_teams"] == 3 and row["sample"] == "rough" and row["small_sample"]


def test_open_sprints_are_left_out():
    frame = per_sprint([("A", "2w", 0, 1.0), ("B", "2w", 0, 3.0), ("B", "2w", 14, 100.0)])
    frame.loc[2, "state"] = "active"
    row = compare(frame, n_boot=100).set_index(["metric", "cadence"]).loc[("say_do", "2w")]
    assert row["estimate"] == 2.0 and row["n_sprints"] == 2


def test_switch_before_and_after():
    frame = per_sprint([("A", "2w", 0, 1.0), ("A", "2w", 14, 2.0), ("A", "2w", 28, 3.0),
                        ("A", "other", 42, 50.0), ("A", "1w", 60, 4.0), ("A", "1w", 67, 6.0),
                        ("B", "2w", 0, 1.0), ("B", "2w", 14, 1.0)])
    out = switches(frame, seed=0, n_boot=1000)
    row = out[out["metric"] == "say_do"].iloc[0]
    assert len(out[out["metric"] == "say_do"]) == 1 and row["team"] == "A" and row["switch_at"] == 60
    assert (row["before_cadence"], row["after_cadence"], row["n_before"], row["n_after"]) == ("2w", "1w", 3, 2)
    assert (row["before_estimate"], row["after_estimate"], row["diff"]) == (2.0, 5.0, 3.0)
    assert 1.0 <= row["diff_ci_low"] <= row["diff_ci_high"] <= 5.0 and row["warning"].startswith("small sample")
    assert row["sample"] == "can't tell"  # 2 sprints after the switch
    # d: (5 - 2) over the pooled sd of (1, 2, 3) and (4, 6): sqrt((2 * 1 + 1 * 2) / 3)
    assert row["effect_size"] == pytest.approx(3 / np.sqrt(4 / 3))


def test_compare_cadences_through_the_warehouse(db_path):
    h = History()
    for team, length in (("A", 7), ("B", 14)):
        s = h.sprint(f"{team}1", 0, length, length, team=team)
        for n in range(2):
            key = f"{team}-{n}"
            h.item(key, team=team).add(key, s, -1).status(key, 1, "in_progress").status(key, 3, "done")
    out = run(h.save(db_path), metrics.compare_cadences, at(20), seed=0, n_boot=200).set_index(["metric", "cadence"])
    assert out.loc[("throughput_per_week", "1w"), "estimate"] == 2.0
    assert out.loc[("throughput_per_week", "2w"), "estimate"] == 1.0
    assert out.loc[("say_do", "2w"), "estimate"] == 1.0 and out.loc[("say_do", "2w"), "warning"] == ONE_TEAM
    assert list(out.reset_index().columns) == ["metric", "cadence", "cadence_weeks", "estimate", "ci_low", "ci_high",
                                               "n_sprints", "n_teams", "small_sample", "warning", "sample"]
    assert run(db_path, metrics.switches, at(20)).empty
