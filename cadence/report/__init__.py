"""Documents built from the warehouse: the nightly HTML report and the retro slides."""

from cadence.report.report import build_report
from cadence.report.slides import build_slides

__all__ = ["build_report", "build_slides"]
