"""No scan lost: kill -9 the daemon mid-burst; every scan that got feedback is journaled.

A real daemon process reads a real pty with Honeywell host-ACK feedback; a thread
writes a burst of valid codes while the test reads acknowledgements. One lane answers
in read order, so the first N acknowledgements belong to the first N frames: each of
those must be in the journal after the kill, and the journal must pass an integrity
check and serve a restarted daemon.
"""

from __future__ import annotations

import os
import random
import select
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from scanctl.daemon.journal import Journal
from tests.daemon.gate_kit import gate_toml, provision, pty_pair
from tests.daemon.test_daemon_process import SCANCTL, accepts, now_ms, wait_for

ACK = 3  # ESC 7 , / ESC 8 ,
BURST = 10_000


def start(config: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(SCANCTL), "daemon", "run", "--config", str(config)], stderr=subprocess.DEVNULL
    )


def burst_then(
    tmp_path: Path, signum: int, after_s: float
) -> tuple[int, list[bytes], set[bytes], int, int | None]:
    """Write a burst, send ``signum`` after ``after_s``; return what was answered and stored."""
    gate = provision(
        tmp_path, now_ms(), tickets=BURST, policy={"scanner_rate_limit_per_minute": 100_000}
    )
    link = tmp_path / "scanner"
    frames = [b"]Q1" + gate.token(t, now_ms()).encode() + b"\r" for t in gate.tickets]
    with pty_pair(link) as master:
        config = gate_toml(
            tmp_path,
            f'[[scanner]]\nname = "s"\ndriver = "serial"\npath = "{link}"\ngate = "g"\n'
            'feedback = "honeywell"\n',
        )
        daemon = start(config)
        try:
            wait_for(lambda: accepts(tmp_path / "daemon.sock"), "the daemon")
            stop = threading.Event()

            def write() -> None:
                for frame in frames:
                    while not stop.is_set():
                        if select.select([], [master], [], 0.05)[1]:
                            os.write(master, frame)
                            break
                    if stop.is_set():
                        return

            writer = threading.Thread(target=write)
            writer.start()
            acks = b""
            signal_at = time.monotonic() + after_s
            while time.monotonic() < signal_at:
                if select.select([master], [], [], 0.01)[0]:
                    acks += os.read(master, 65536)
            daemon.send_signal(signum)
            # Feedback written before the process ended may still sit in the pty.
            deadline = time.monotonic() + 15
            while daemon.poll() is None and time.monotonic() < deadline:
                if select.select([master], [], [], 0.01)[0]:
                    acks += os.read(master, 65536)
            while select.select([master], [], [], 0.2)[0]:
                try:
                    acks += os.read(master, 65536)
                except OSError:
                    break
            stop.set()
            writer.join(timeout=10)
            code = daemon.wait(timeout=10)
        finally:
            if daemon.poll() is None:
                daemon.kill()
                daemon.wait()
    journal = Journal(tmp_path / "gate.db")
    try:
        assert journal.integrity_ok()
        stored = {row.raw for row in journal.unsent(limit=BURST)}
        count = journal.count()
    finally:
        journal.close()
    return len(acks) // ACK, frames, stored, count, code


@pytest.mark.slow
@pytest.mark.parametrize("round_", range(5))
def test_kill_9_mid_burst_loses_nothing_that_got_feedback(tmp_path: Path, round_: int) -> None:
    after = random.Random(round_).uniform(0.2, 1.2)
    answered, frames, stored, _, code = burst_then(tmp_path, signal.SIGKILL, after)
    assert code == -signal.SIGKILL
    assert answered > 0, "no scan was answered before the kill"
    missing = [i for i in range(answered) if frames[i][3:-1] not in stored]
    assert not missing, f"{len(missing)} of {answered} answered scans are not in the journal"


@pytest.mark.slow
def test_sigterm_mid_burst_drains_answers_everything_and_exits_0(tmp_path: Path) -> None:
    answered, frames, stored, count, code = burst_then(tmp_path, signal.SIGTERM, 0.5)
    assert code == 0
    assert answered > 0
    # Every decided scan was answered before exit, and every answered one is stored.
    assert count == answered
    assert all(frames[i][3:-1] in stored for i in range(answered))
