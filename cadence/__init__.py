"""cadence: is our sprint cadence giving us fast feedback, honest timeboxes and steady learnings?"""

from __future__ import annotations

from typing import Any

from cadence.config import Config, load_config
from cadence.api import SparkMetrics, Warehouse, open_spark, open_warehouse as open  # noqa: A001 - the documented name

__version__ = "0.1.0"
__all__ = ["open", "open_spark", "Warehouse", "SparkMetrics", "Config", "load_config", "sync_jira", "sync_github", "__version__"]


def __getattr__(name: str) -> Any:
    # Charts pull in Altair and syncs httpx; load them only when asked for.
    import importlib

    if name == "charts":
        return importlib.import_module("cadence.charts")
    if name in ("sync_jira", "sync_github"):
        return getattr(importlib.import_module("cadence.sync"), name)
    raise AttributeError(name)
