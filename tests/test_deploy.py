"""deploy/: the systemd units verify and stay hardened; the udev rules keep scanners private."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
UNITS = ("scanctl-daemon.service", "scanctl-backend.service")
SCANCTL = Path(sys.executable).parent / "scanctl"
MAX_EXPOSURE = 4.0

needs_systemd = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None and os.environ.get("CI") != "true",
    reason="systemd-analyze is not installed (CI installs it and must run this)",
)


def _installed_copy(tmp_path: Path, unit: str) -> Path:
    """The unit with ExecStart pointing at this checkout's scanctl (verify checks it)."""
    text = (DEPLOY / unit).read_text().replace("/opt/scanctl/.venv/bin/scanctl", str(SCANCTL))
    path = tmp_path / unit
    path.write_text(text)
    return path


@needs_systemd
@pytest.mark.parametrize("unit", UNITS)
def test_units_verify_and_rate_at_most_4_on_systemd_analyze_security(
    tmp_path: Path, unit: str
) -> None:
    path = _installed_copy(tmp_path, unit)
    verify = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert verify.returncode == 0, verify.stderr
    assert verify.stderr.strip() == "", verify.stderr
    security = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", security.stdout)
    assert match is not None, security.stdout + security.stderr
    exposure = float(match.group(1))
    assert exposure <= MAX_EXPOSURE
    claimed = re.search(r"-> (\d+\.\d+) OK", (DEPLOY / unit).read_text())
    assert claimed is not None and float(claimed.group(1)) == exposure  # the comment is true


def test_the_daemon_runs_offline_first_and_with_no_blanket_device_groups() -> None:
    unit = (DEPLOY / "scanctl-daemon.service").read_text()
    assert "network-online" not in re.sub(r"(?m)^#.*$", "", unit)
    assert "SupplementaryGroups" not in unit
    backend = (DEPLOY / "scanctl-backend.service").read_text()
    for secret in ("hmac_secret", "jwt_secret", "manifest_signing_key"):
        assert f"LoadCredential={secret}:" in backend
        assert f"{secret.upper()}_FILE=%d/{secret}" in backend


def test_udev_rules_keep_scanners_from_modemmanager_and_the_desktop_seat() -> None:
    rules = [
        line
        for line in (DEPLOY / "99-scanctl-scanners.rules").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert rules
    assert not [line for line in rules if "uaccess" in line]
    for line in rules:
        if 'SUBSYSTEM=="tty"' in line:
            assert 'ENV{ID_MM_DEVICE_IGNORE}="1"' in line
        assert 'GROUP="scanctl"' in line and 'MODE="0660"' in line
