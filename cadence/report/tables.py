"""Listings a lead can drive: sortable, filterable tables, 20 rows a page, offline in the one file.

The tables are DataTables, through itables in its offline mode (``connected=False``): the
DataTables bundle that itables ships is inlined once into the page (``datatables_init``), and each
table's rows travel as JSON beside it. Cells are built by :mod:`cadence.report.html` (formatted,
scrubbed, escaped) and handed over with ``allow_html=True``, so itables never sees a raw tracker
value. Before the script runs, and without JavaScript, itables shows a static first page.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Callable, Sequence

import pandas as pd

from cadence.report.html import Column, cells, esc

PAGE_ROWS = 20  # a listing shows this many rows, then pages


def _table_id(name: str) -> str:
    return "listing-" + (re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-") or "table")


@lru_cache(maxsize=1)
def datatables_init() -> str:
    """The script that loads itables' bundled DataTables (JavaScript and CSS) from the page itself."""
    from itables import options
    from itables.javascript import generate_init_offline_itables_html

    return generate_init_offline_itables_html(options.dt_bundle)


def listing(frame: pd.DataFrame, columns: Sequence[Column], scrub: Callable[[Any], str], name: str) -> str:
    """``frame`` as a sortable, filterable table of ``PAGE_ROWS`` rows a page; rows keep the frame's order."""
    if frame.empty:
        return '<p class="empty">None.</p>'
    from itables import to_html_datatable

    shown = pd.DataFrame(cells(frame, columns, scrub), columns=[esc(c.header) for c in columns])
    long = len(shown) > PAGE_ROWS
    # A search box on every listing; the page-length menu, the count and the pages when there is more than a page.
    layout = {"topStart": "pageLength" if long else None, "topEnd": "search",
              "bottomStart": "info" if long else None, "bottomEnd": "paging" if long else None}
    return to_html_datatable(
        shown,
        connected=False,
        allow_html=True,  # the cells are escaped HTML already (links included)
        table_id=_table_id(name),
        showIndex=False,
        pageLength=PAGE_ROWS,
        lengthMenu=[PAGE_ROWS, 50, 100, 500],
        layout=layout,
        maxBytes=0,  # never downsample: the reader sorts the whole listing
        classes=["display", "compact", "cadence-listing"],
        style={"width": "100%", "table-layout": "auto", "margin": "0"},
        order=[],  # keep our order (largest overrun first, newest learning first) until the reader sorts
        text_in_header_can_be_selected=False,  # a click on a header sorts
        display_logo_when_loading=False,
    )
