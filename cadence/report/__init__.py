"""Documents built from the warehouse: the nightly HTML report and the retro slides."""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    # Import lazily so that `cadence.report.render` does not pull in python-pptx.
    if name == "build_report":
        from cadence.report.report import build_report

        return build_report
    if name == "build_slides":
        from cadence.report.slides import build_slides

        return build_slides
    raise AttributeError(name)


__all__ = ["build_report", "build_slides"]
