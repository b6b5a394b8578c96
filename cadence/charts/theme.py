"""The one Altair theme every cadence chart uses, and the fixed colour of each cadence.

Colours come from the Okabe-Ito palette, which stays distinguishable under the common forms of
colour blindness. A cadence keeps its colour in every chart (1w is always blue), because the
colour scale is pinned with an explicit domain rather than left to the order data arrives in.
"""

from __future__ import annotations

from typing import Any

import altair as alt

THEME_NAME = "cadence"

CADENCES = ("1w", "2w", "3w", "other")
CADENCE_COLOURS = {"1w": "#0072B2", "2w": "#E69F00", "3w": "#009E73", "other": "#999999"}
# For categories that are not cadences (sprint report counts, feedback kinds).
CATEGORY_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#F0E442", "#000000")
HIGHLIGHT = "#D55E00"  # vermillion: rabbit holes, targets
MUTED = "#BBBBBB"

FONT = "Helvetica, Arial, sans-serif"


def cadence_scale() -> alt.Scale:
    """The colour scale that maps every cadence label to its fixed colour."""
    return alt.Scale(domain=list(CADENCES), range=[CADENCE_COLOURS[c] for c in CADENCES])


def cadence_color(field: str = "cadence", title: str = "Cadence") -> alt.Color:
    """A colour encoding for a cadence label column, with the fixed colours."""
    return alt.Color(f"{field}:N", title=title, scale=cadence_scale(), sort=list(CADENCES))


@alt.theme.register(THEME_NAME, enable=True)
def cadence_theme() -> alt.theme.ThemeConfig:
    """Readable defaults: larger type, light grid, colour-blind safe category range."""
    config: dict[str, Any] = {
        "config": {
            "font": FONT,
            "view": {"continuousWidth": 560, "continuousHeight": 260, "stroke": None},
            "title": {"fontSize": 16, "anchor": "start", "subtitleFontSize": 12, "subtitleColor": "#555555"},
            "axis": {"labelFontSize": 12, "titleFontSize": 13, "gridColor": "#E6E6E6", "domainColor": "#888888"},
            "legend": {"labelFontSize": 12, "titleFontSize": 13, "orient": "right"},
            "header": {"labelFontSize": 12, "titleFontSize": 13},
            "range": {"category": list(CATEGORY_COLOURS)},
            "point": {"size": 60, "filled": True},
            "line": {"strokeWidth": 2},
        }
    }
    return config  # type: ignore[return-value]
