"""No scan lost: kill -9 the daemon mid-burst; every scan that got feedback is journaled.

A real daemon process reads a real pty with Honeywell host-ACK feedback; a thread
writes a burst of valid codes while the test reads acknowledgements. One lane answers
in the order it journals, so the N answers the scanner got must be the first N
journaled decisions, good and bad alike, and the journal must pass an integrity check.
(Counting frames instead would be wrong: under load a frame can be split by the
inter-byte timeout, which the driver rightly refuses as a partial frame plus noise.)
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

from scanctl.daemon.journal import Journal, JournalSync
from tests.daemon.gate_kit import (
    SCANCTL,
    gate_toml,
    now_ms,
    provision,
    pty_pair,
    wait_ready,
)

ACK = 3  # ESC 7 , / ESC 8 ,
GOOD = b"\x1b7,"
BURST = 10_000


def start(config: Path, sync: JournalSync) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(SCANCTL), "daemon", "run", "--config", str(config)],
        stderr=subprocess.DEVNULL,
        env={**os.environ, "SCANCTL_JOURNAL_SYNC": sync.value},
    )


def burst_then(
    tmp_path: Path, signum: int, after_s: float, sync: JournalSync = JournalSync.NORMAL
) -> tuple[list[bool], list[bool], int]:
    """Write a burst, send ``signum`` after ``after_s``.

    Returns the answers the scanner got (True for a good-read ack), the journal's
    decisions in journal order (allowed or not), and the daemon's exit status.
    """
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
        daemon = start(config, sync)
        try:
            wait_ready(tmp_path / "daemon.sock")
            stop = threading.Event()

            def write() -> None:
                for frame in frames:
                    rest = frame
                    while rest and not stop.is_set():
                        if select.select([], [master], [], 0.05)[1]:
                            rest = rest[os.write(master, rest) :]  # a tty may take part
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
        decided = [row.allowed for row in journal.unsent(limit=2 * BURST)]
    finally:
        journal.close()
    answers = [acks[i : i + ACK] == GOOD for i in range(0, len(acks) - len(acks) % ACK, ACK)]
    return answers, decided, code


@pytest.mark.slow
@pytest.mark.parametrize("sync", list(JournalSync))
@pytest.mark.parametrize("round_", range(5))
def test_kill_9_mid_burst_loses_nothing_that_got_feedback(
    tmp_path: Path, round_: int, sync: JournalSync
) -> None:
    after = random.Random(round_).uniform(0.2, 1.2)
    answers, decided, code = burst_then(tmp_path, signal.SIGKILL, after, sync)
    assert code == -signal.SIGKILL
    assert answers, "no scan was answered before the kill"
    # One lane answers in journal order: the i-th answer is the i-th journaled decision.
    assert len(decided) >= len(answers)
    assert decided[: len(answers)] == answers
    assert sum(answers) > 0.9 * len(answers)  # they were real admissions, not noise


@pytest.mark.slow
def test_sigterm_mid_burst_drains_answers_everything_and_exits_0(tmp_path: Path) -> None:
    answers, decided, code = burst_then(tmp_path, signal.SIGTERM, 0.5)
    assert code == 0
    assert answers
    # Every decided scan was answered before exit, each with its own decision.
    assert decided == answers
