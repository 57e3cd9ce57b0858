"""The TUI's public surface, its packaged stylesheet, and its command line."""

from __future__ import annotations

import subprocess
from importlib import resources
from pathlib import Path

import scanctl.tui
from scanctl.cli.tui import _socket_for
from scanctl.tui import DoorApp
from tests.daemon.gate_kit import gate_toml
from tests.tui.live_gate import SCANCTL


def test_public_names() -> None:
    assert set(scanctl.tui.__all__) == {
        "DaemonClient",
        "DaemonRefused",
        "DaemonUnavailable",
        "DoorApp",
        "DoorSource",
        "LiveSource",
        "RecordedSource",
        "TuiError",
        "VenueError",
        "VenueSource",
        "build_app",
        "load_venue",
    }
    for name in scanctl.tui.__all__:
        assert getattr(scanctl.tui, name).__module__.startswith("scanctl.tui")


def test_the_stylesheet_ships_inside_the_package() -> None:
    stylesheet = resources.files("scanctl.tui") / str(DoorApp.CSS_PATH)
    assert stylesheet.is_file()
    assert "#gates" in stylesheet.read_text(encoding="utf-8")


def test_the_command_needs_a_socket_a_config_or_a_recording() -> None:
    result = subprocess.run([str(SCANCTL), "tui"], capture_output=True, text=True)
    assert result.returncode == 2
    assert "--socket, --config or --venue" in result.stderr


def test_a_bad_recording_is_a_usage_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"kind": "nonsense"}\n')
    result = subprocess.run(
        [str(SCANCTL), "tui", "--replay", str(bad)], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "not a recording" in result.stderr


def test_the_socket_is_found_from_the_gate_config(tmp_path: Path) -> None:
    config = gate_toml(
        tmp_path, '[[scanner]]\nname = "s"\ndriver = "serial"\npath = "/dev/null"\ngate = "g"\n'
    )
    assert _socket_for(config, None) == tmp_path / "daemon.sock"
    assert _socket_for(config, tmp_path / "other.sock") == tmp_path / "other.sock"


def test_a_bad_venue_file_is_a_usage_error_naming_every_problem(tmp_path: Path) -> None:
    venue = tmp_path / "venue.toml"
    venue.write_text('[[box]]\nname = "a b"\n[[box]]\nname = "b"\n')
    result = subprocess.run(
        [str(SCANCTL), "tui", "--venue", str(venue)], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "box 1: name" in result.stderr and "box b: socket" in result.stderr
