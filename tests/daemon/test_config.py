"""gate.toml: validated at start, every problem named at once, environment overrides."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from scanctl.core import Direction, ScanMode
from scanctl.daemon.config import ConfigError, DriverKind, ScannerSettings, load_settings
from scanctl.daemon.journal import JournalSync

GOOD = """
backend = "http://127.0.0.1:3009"
event_id = "9d8c7b6a-2222-4b4b-9c9c-000000000002"
data_dir = "{data}"
mode = "online-first"

[[scanner]]
name = "north-1"
driver = "serial"
path = "/dev/ttyUSB0"
gate = "north"

[[scanner]]
name = "exit-1"
driver = "simulated"
gate = "south"
direction = "exit"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gate.toml"
    path.write_text(text.format(data=tmp_path))
    return path


def test_a_good_file_loads(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, GOOD))
    assert settings.mode is ScanMode.ONLINE_FIRST
    assert [s.driver for s in settings.scanner] == [DriverKind.SERIAL, DriverKind.SIMULATED]
    assert settings.scanner[1].direction is Direction.EXIT
    assert settings.socket_path == tmp_path / "daemon.sock"
    assert settings.online_deadline_ms == 300
    assert (settings.journal_sync, settings.journal_flush_ms) == (JournalSync.NORMAL, 100)


def test_the_environment_overrides_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCANCTL_ONLINE_DEADLINE_MS", "150")
    monkeypatch.setenv("SCANCTL_JOURNAL_SYNC", "full")
    settings = load_settings(write(tmp_path, GOOD))
    assert (settings.online_deadline_ms, settings.journal_sync) == (150, JournalSync.FULL)


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    bad = """
event_id = ""
data_dir = "/tmp"
mode = "online-first"
colour = "blue"
journal_sync = "sometimes"

[[scanner]]
name = "a"
driver = "serial"
gate = "north"

[[scanner]]
name = "b"
driver = "laser"
gate = "north"
"""
    with pytest.raises(ConfigError) as raised:
        load_settings(write(tmp_path, bad))
    text = "\n".join(raised.value.problems)
    assert "event_id" in text
    assert "colour" in text
    assert "needs `path`" in text
    assert "scanner.1.driver" in text
    assert "journal_sync" in text
    assert len(raised.value.problems) >= 5


def test_online_first_needs_a_backend(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="needs `backend`"):
        load_settings(write(tmp_path, GOOD.replace('backend = "http://127.0.0.1:3009"', "")))


def test_duplicate_scanner_names_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unique: north-1"):
        load_settings(write(tmp_path, GOOD.replace('"exit-1"', '"north-1"')))


def test_unreadable_and_broken_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(write(tmp_path, "backend = "))


def test_lanes_default_to_what_venues_print_and_the_drivers_own_pause(tmp_path: Path) -> None:
    scanner = load_settings(write(tmp_path, GOOD)).scanner[0]
    assert scanner.symbologies == ["qr", "code128", "pdf417", "aztec", "datamatrix"]
    assert scanner.inter_byte_timeout_ms is None
    assert scanner.ssi_packets is False


def test_scanner_protocol_settings_are_validated(tmp_path: Path) -> None:
    base = GOOD.split("[[scanner]]")[0]
    lanes = (
        '[[scanner]]\nname = "a"\ndriver = "serial"\npath = "/dev/x"\ngate = "g"\n'
        "inter_byte_timeout_ms = 5\nssi_packets = true\n"
        '[[scanner]]\nname = "b"\ndriver = "tcp"\nurl = "tcp://h:1"\ngate = "g"\n'
        'feedback = "honeywell"\n'
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, base + lanes))
    text = str(caught.value)
    assert "inter_byte_timeout_ms" in text
    assert "feedback honeywell needs a serial scanner" in text
    spp = '[[scanner]]\nname = "bt"\ndriver = "serial"\npath = "/dev/rfcomm0"\ngate = "g"\n'
    settings = load_settings(write(tmp_path, base + spp + "inter_byte_timeout_ms = 300\n"))
    assert settings.scanner[0].inter_byte_timeout_ms == 300
    zebra = spp + 'feedback = "zebra-ssi"\nssi_packets = true\n'
    assert load_settings(write(tmp_path, base + zebra)).scanner[0].ssi_packets


@pytest.mark.parametrize(
    ("field", "value"),
    [("name", "-lane"), ("name", "_lane"), ("gate", "?north"), ("gate", "north\n"), ("zone", "")],
)
def test_names_the_backend_would_refuse_are_refused_here(field: str, value: str) -> None:
    """A lane, gate or zone name the backend refuses (422) would make every online scan of
    the lane fall back offline: refuse it at start instead."""
    scanner = {"name": "lane-1", "driver": "stdin", "gate": "north", field: value}
    with pytest.raises(ValidationError):
        ScannerSettings.model_validate(scanner)
