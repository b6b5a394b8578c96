"""cadence.toml: defaults, overrides, and errors that name the file, the key and what was expected."""

from __future__ import annotations

import re

import pytest

from cadence.config import Config, load_config
from cadence.errors import ConfigError


def test_no_file_gives_the_documented_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = load_config()
    assert config == Config()
    assert config.hours_per_day == 8.0 and config.days_per_week == 5
    assert "Learning" in config.learning_markers and "Spike" in config.timebox_types


def test_overrides_are_read(tmp_path):
    path = tmp_path / "cadence.toml"
    path.write_text(
        '[statuses]\n"In Review" = "in_progress"\n"10001" = "done"\n'
        '[teams]\n"jira:board:12" = "Vision"\n'
        '[timebox]\nhours_per_day = 6\n'
        '[estimate]\nfield = "customfield_10016"\n'
    )
    config = load_config(path)
    assert config.statuses == {"In Review": "in_progress", "10001": "done"}
    assert config.team_for("jira:board:12", "board 12") == "Vision"
    assert config.team_for("jira:board:13", "board 13") == "board 13"
    assert config.hours_per_day == 6
    assert config.estimate_field == "customfield_10016"


@pytest.mark.parametrize(
    "text, message",
    [
        ('[statuses]\n"Review" = "halfway"\n', "[statuses.Review] should be one of ['new', 'in_progress', 'done'], got 'halfway'"),
        ("[timebox]\nhours_per_day = -1\n", "[timebox.hours_per_day] should be a positive number, got -1"),
        ('[learning]\nmarkers = "Learning"\n', "[learning.markers] should be a list of strings, got 'Learning'"),
        ('[timebox]\nlabel_pattern = "^tb:(\\\\d+)$"\n', "[timebox.label_pattern] should be a pattern with two groups"),
        ("[colours]\nx = 1\n", "[colours] should be one of"),
        ("statuses = [\n", "not valid TOML"),
    ],
)
def test_errors_name_the_file_and_the_key(tmp_path, text, message):
    path = tmp_path / "cadence.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)


def test_a_missing_explicit_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="no such configuration file"):
        load_config(tmp_path / "nope.toml")


def test_timebox_tolerance_and_trend_window(tmp_path):
    """Defaults from PRODUCT.md (10% of the timebox, at least 1 hour); "10%" and 0.25 both read as shares."""
    assert (Config().timebox_tolerance, Config().timebox_min_tolerance_h, Config().trend_window) == (0.1, 1.0, 3)
    path = tmp_path / "cadence.toml"
    path.write_text('[timebox]\ntolerance = "25%"\nmin_tolerance_h = 0\n[report]\ntrend_window = 5\n')
    config = load_config(path)
    assert (config.timebox_tolerance, config.timebox_min_tolerance_h, config.trend_window) == (0.25, 0.0, 5)
    for text, message in [
        ('[timebox]\ntolerance = "lots"\n', '[timebox.tolerance] should be a share such as 0.1 or "10%"'),
        ("[timebox]\nmin_tolerance_h = -2\n", "[timebox.min_tolerance_h] should be a number of hours, 0 or more"),
        ("[report]\ntrend_window = 0\n", "[report.trend_window] should be a whole number from 1 to 52"),
    ]:
        path.write_text(text)
        with pytest.raises(ConfigError, match=re.escape(message)):
            load_config(path)
