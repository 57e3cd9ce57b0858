"""scanctl.report's public face."""

import scanctl.report


def test_public_names() -> None:
    assert set(scanctl.report.__all__) == {
        "Night",
        "OfflinePeriod",
        "Report",
        "build_report",
        "night_from_scans",
    }
