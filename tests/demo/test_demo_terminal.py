"""`scanctl demo` in a real terminal (tmux): live gates within a deadline, `q` ends it all."""

from __future__ import annotations

import os
import re
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.daemon.gate_kit import SCANCTL, wait_for
from tests.demo.test_demo import scanctl_processes

pytestmark = pytest.mark.slow

NON_ZERO_ADMITTED = re.compile(r"✔ [1-9][0-9,]* in")


def test_the_demo_shows_live_gates_and_q_stops_everything(tmp_path: Path) -> None:
    server = f"scanctl-demo-{uuid.uuid4().hex[:8]}"

    def tmux(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["tmux", "-L", server, *args], capture_output=True, text=True, check=check
        )

    before = scanctl_processes()
    env = {**os.environ, "TERM": "xterm-256color", "TMPDIR": str(tmp_path)}
    command = f"{SCANCTL} demo --tickets 2000"
    session = ["new-session", "-d", "-x", "100", "-y", "30", command]
    subprocess.run(
        ["tmux", "-L", server, "-f", "/dev/null", *session],
        check=True,
        env=env,
    )
    try:

        def screen() -> str:
            return tmux("capture-pane", "-p").stdout

        wait_for(
            lambda: " north " in screen() and len(NON_ZERO_ADMITTED.findall(screen())) >= 2,
            "gates with admissions on screen",
            timeout=90,
        )
        assert "LIVE" in screen()
        tmux("send-keys", "q")
        wait_for(lambda: tmux("has-session", check=False).returncode != 0, "the demo to end", 60)
    finally:
        tmux("kill-server", check=False)
    wait_for(lambda: scanctl_processes() <= before, "no backend or daemon left", timeout=30)
    wait_for(lambda: not list(tmp_path.iterdir()), "the temporary directory removed", 30)
