"""deploy/: the systemd units verify and stay hardened; the udev rules keep scanners private."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
UNITS = ("scanctl-daemon.service", "scanctl-backend.service")
SCANCTL = Path(sys.executable).parent / "scanctl"
MAX_EXPOSURE = 4.0

needs_systemd = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None,
    reason="systemd-analyze is not installed (.ci/run installs it where apt-get can)",
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


class _FullGate:
    """A gate with every kind of state (a backend, a held manifest), so every family shows."""

    def metric_lanes(self) -> list[Any]:
        return []

    def outbox_states(self) -> dict[str, int]:
        return {"pending": 0}

    def manifest_facts(self, now_ms: int) -> dict[str, Any]:
        return {
            "held": True,
            "age_ms": 0,
            "valid_until_ms": now_ms,
            "stale": False,
            "sequence": 1,
            "tickets": 0,
        }

    def link_facts(self) -> dict[str, Any]:
        return {"online": True, "circuit": "closed", "last_contact_ms": 0}

    def conflict_counts(self) -> dict[str, int]:
        return {}

    def active_alerts(self) -> dict[str, int]:
        return {}

    def uptime_s(self) -> float:
        return 0.0


_SUFFIXES = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_count", "_sum")}


def _exported(registry: CollectorRegistry) -> set[str]:
    names: set[str] = set()
    for family in registry.collect():
        names.add(family.name)
        names.update(family.name + suffix for suffix in _SUFFIXES.get(family.type, ()))
    return names


def test_every_dashboard_query_names_a_metric_the_code_exports(tmp_path: Path) -> None:
    from scanctl.backend.app import create_app
    from scanctl.backend.settings import load_settings
    from scanctl.backend.state import backend_state
    from scanctl.daemon.metrics import DaemonMetrics, GateCollector
    from tests.backend.helpers import base_env

    app = create_app(load_settings(environ=base_env(tmp_path)))
    daemon = DaemonMetrics()
    daemon.add(GateCollector(_FullGate(), lambda: 0))
    exported = _exported(backend_state(app).metrics.registry) | _exported(daemon.registry)

    dashboard = json.loads((DEPLOY / "grafana-dashboard.json").read_text())
    assert dashboard["panels"]
    for panel in dashboard["panels"]:
        named = {
            name
            for target in panel["targets"]
            for name in re.findall(r"\b(?:scanctl|process|python)_[a-z0-9_]+\b", target["expr"])
        }
        assert named, f"panel {panel['title']!r} queries no metric"
        assert named <= exported, f"panel {panel['title']!r}: {sorted(named - exported)}"


@needs_systemd
def test_sysusers_and_tmpfiles_make_the_user_and_private_directories(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    subprocess.run(
        ["systemd-sysusers", f"--root={tmp_path}", str(DEPLOY / "scanctl.sysusers.conf")],
        check=True,
        capture_output=True,
        timeout=60,
    )
    user = (tmp_path / "etc/passwd").read_text().splitlines()
    assert [line.split(":")[5] for line in user if line.startswith("scanctl:")] == [
        "/var/lib/scanctl"
    ]
    if os.geteuid() != 0:
        return  # tmpfiles sets owners: only root can
    subprocess.run(
        [
            "systemd-tmpfiles",
            f"--root={tmp_path}",
            "--create",
            str(DEPLOY / "scanctl.tmpfiles.conf"),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    modes = {
        path: (tmp_path / path).stat().st_mode & 0o777
        for path in ("etc/scanctl", "etc/scanctl/credentials", "var/lib/scanctl-backend")
    }
    assert modes == {
        "etc/scanctl": 0o750,
        "etc/scanctl/credentials": 0o700,
        "var/lib/scanctl-backend": 0o700,
    }
