"""`scanctl tui` in a real terminal (tmux) on a real daemon: it shows the gates, `q` ends it."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.tui.live_gate import SCANCTL, live_gate, wait_for

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux"),
]


def test_the_tui_shows_live_counts_in_a_terminal_and_q_ends_it(tmp_path: Path) -> None:
    server = f"scanctl-tui-{uuid.uuid4().hex[:8]}"

    def tmux(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["tmux", "-L", server, *args], capture_output=True, text=True, check=check
        )

    with live_gate(tmp_path) as live:
        for index in range(3):
            live.admit("north-1", index)
        live.settle()
        command = f"{SCANCTL} tui --socket {live.socket}"
        env = {**os.environ, "TERM": "xterm-256color"}
        subprocess.run(
            [
                "tmux",
                "-L",
                server,
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-x",
                "100",
                "-y",
                "30",
                command,
            ],
            check=True,
            env=env,
        )
        try:
            pane_pid = int(tmux("display-message", "-p", "#{pane_pid}").stdout)

            def screen() -> str:
                return tmux("capture-pane", "-p").stdout

            def gate_shows(count: int) -> bool:
                shown = screen()
                # once in the totals, once on the north gate's card
                return " north " in shown and shown.count(f"✔ {count} in") == 2

            wait_for(lambda: gate_shows(3), "the north gate's count on screen")
            shown = screen()
            assert " south " in shown and "LIVE" in shown

            live.admit("north-1", 5)  # and it stays live
            wait_for(lambda: gate_shows(4), "the new admission on screen")

            tmux("send-keys", "q")
            wait_for(lambda: tmux("has-session", check=False).returncode != 0, "the TUI to exit")
            wait_for(lambda: not _alive(pane_pid), "no TUI process left")
        finally:
            tmux("kill-server", check=False)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone in all but name (its parent, tmux, may not have reaped it yet).
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False
