"""Chart files (PNG, SVG, Vega-Lite JSON) and the inline JavaScript that draws them offline."""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Mapping

import vl_convert as vlc

from cadence.charts import AnyChart

log = logging.getLogger(__name__)


def template(name: str) -> str:
    """A file from cadence/report/templates."""
    return resources.files("cadence.report").joinpath("templates", name).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def vega_bundle() -> str:
    """Vega, Vega-Lite and vega-embed as one script, from vl-convert: no CDN, works offline."""
    return vlc.javascript_bundle()


def script_json(value: object) -> str:
    """JSON that is safe inside a <script> element: no '<', '>' or '&' can end it early."""
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def write_chart(chart: AnyChart, stem: Path, png_scale: float = 2.0) -> dict:
    """Write ``stem``.vl.json, .svg and .png; return the Vega-Lite spec."""
    spec = chart.to_dict()  # validated against the Vega-Lite schema
    stem.with_suffix(".vl.json").write_text(json.dumps(spec, indent=1, default=str), encoding="utf-8")
    # Run Vega's dataflow once, for the SVG, and rasterise that: vega_to_png would run it again.
    svg = vlc.vegalite_to_svg(spec)
    stem.with_suffix(".svg").write_text(svg, encoding="utf-8")
    stem.with_suffix(".png").write_bytes(vlc.svg_to_png(svg, scale=png_scale))
    return spec


def write_charts(charts: Mapping[str, AnyChart], folder: Path, workers: int = 2) -> dict[str, dict]:
    """Write every chart's files into ``folder``, a few at a time (vl-convert releases the GIL); return name -> spec."""
    folder.mkdir(parents=True, exist_ok=True)
    log.info("rendering %d charts", len(charts))
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = {name: pool.submit(write_chart, chart, folder / name) for name, chart in charts.items()}
        return {name: future.result() for name, future in futures.items()}


def chart_div(name: str, alt_text: str) -> str:
    """The placeholder a chart is drawn into; the embed script finds it by ``data-chart``."""
    from cadence.report.html import esc

    return (
        f'<div class="cadence-chart" id="chart-{esc(name)}" data-chart="{esc(name)}" '
        f'role="img" aria-label="{esc(alt_text)}"></div>'
    )


def after_body(specs: Mapping[str, dict]) -> str:
    """The scripts placed at the end of the page: DataTables (for the listings), the Vega bundle, each spec,
    and the embed loop."""
    from cadence.report.tables import datatables_init

    parts = [datatables_init(), f"<script>\n{vega_bundle()}\n</script>"]
    for name, spec in specs.items():
        parts.append(f'<script type="application/json" id="cadence-spec-{name}">{script_json(spec)}</script>')
    parts.append(f"<script>\n{template('embed.js')}\n</script>")
    return "\n".join(parts)
