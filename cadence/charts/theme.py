"""The one Altair theme every cadence chart uses, the fixed colour of each cadence, and team colours.

Colours come from the Okabe-Ito palette, which stays distinguishable under the common forms of
colour blindness. A cadence keeps its colour in every chart (1w is always blue), because the
colour scale is pinned with an explicit domain rather than left to the order data arrives in;
the domain holds only the cadences a chart draws, so no legend lists an unused one. Teams get
colours from their sorted names, so a team keeps its colour across the charts of one report.
"""

from __future__ import annotations

from typing import Any, Iterable

import altair as alt

THEME_NAME = "cadence"

CADENCES = ("1w", "2w", "3w", "other")
CADENCE_COLOURS = {"1w": "#0072B2", "2w": "#E69F00", "3w": "#009E73", "other": "#999999"}
# For categories that are not cadences (teams, sprint report counts, timebox rules).
CATEGORY_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#F0E442", "#000000")
TEAM_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#000000", "#999999")
HIGHLIGHT = "#D55E00"  # vermillion: rabbit holes, targets
MUTED = "#BBBBBB"
SLIDE_FONT_PX = 17  # the smallest type in a chart drawn for a slide (cadence.report.slides places it at >= 12 pt)

FONT = "Helvetica, Arial, sans-serif"


def present_cadences(values: Iterable[Any]) -> list[str]:
    """The cadence labels among ``values``, in the fixed order 1w, 2w, 3w, other."""
    seen = {str(v) for v in values if isinstance(v, str)}
    return [c for c in CADENCES if c in seen]


def cadence_scale(present: Iterable[Any] | None = None) -> alt.Scale:
    """The colour scale that maps each cadence label (of those ``present``; all when None) to its fixed colour."""
    domain = list(CADENCES) if present is None else present_cadences(present)
    return alt.Scale(domain=domain, range=[CADENCE_COLOURS[c] for c in domain])


def cadence_color(field: str = "cadence", title: str = "Cadence", present: Iterable[Any] | None = None) -> alt.Color:
    """A colour encoding for a cadence label column, with the fixed colours."""
    scale = cadence_scale(present)
    return alt.Color(f"{field}:N", title=title, scale=scale, sort=scale.domain)


def team_scale(teams: Iterable[Any]) -> alt.Scale:
    """Colours for teams, assigned in name order (the palette repeats after eight teams)."""
    names = sorted({str(t) for t in teams if isinstance(t, str)})
    return alt.Scale(domain=names, range=[TEAM_COLOURS[i % len(TEAM_COLOURS)] for i in range(len(names))])


def for_slides(chart: alt.TopLevelMixin, width: int | None = None, height: int | None = None) -> alt.TopLevelMixin:
    """The chart with every text at least ``SLIDE_FONT_PX``, for a picture on a projected slide.

    With ``width`` and ``height`` (CSS pixels) a single or layered chart is fitted to exactly that
    size, legends and axes included (Vega-Lite ``autosize: fit``).
    """
    size = SLIDE_FONT_PX
    if width and height and not isinstance(chart, (alt.FacetChart, alt.VConcatChart, alt.HConcatChart)):
        chart = chart.properties(width=width, height=height, autosize=alt.AutoSizeParams(type="fit", contains="padding"))
    return chart.configure(font=FONT).configure_axis(labelFontSize=size, titleFontSize=size).configure_legend(
        labelFontSize=size, titleFontSize=size, symbolSize=160, labelLimit=320
    ).configure_header(labelFontSize=size, titleFontSize=size).configure_title(
        fontSize=size + 4, subtitleFontSize=size
    ).configure_text(fontSize=size)


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
