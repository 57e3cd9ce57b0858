"""The night's report (`scanctl report EVENT`): an event's scans as figures, charts and
one self-contained HTML page. Pure over what the backend's scans API answers; the CLI
fetches, this computes and draws."""

from scanctl.report.figures import Night, OfflinePeriod, night_from_scans
from scanctl.report.page import Report, build_report

__all__ = ["Night", "OfflinePeriod", "Report", "build_report", "night_from_scans"]
