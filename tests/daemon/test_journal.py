"""The journal: durable before feedback, group-committed, history and outbox kept."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path

import pytest

from scanctl.core import BadRead, Direction, PastScan, RawScan, Reason
from scanctl.core.ids import uuid7
from scanctl.daemon.bad_reads import BadReadEntry
from scanctl.daemon.journal import (
    MAX_RAW_BYTES,
    Journal,
    JournalClosed,
    JournalEntry,
    JournalSync,
)
from tests.daemon.gate_kit import wait_for

NOW = 1_764_320_000_000


def entry(
    ticket: str | None = "0a1b2c3d",
    *,
    allowed: bool = True,
    at_ms: int = NOW,
    nonce: str | None = None,
    direction: Direction = Direction.ENTRY,
    raw: bytes = b"payload",
) -> JournalEntry:
    return JournalEntry(
        scan_id=uuid7(at_ms),
        device_id="device-1",
        ticket_id=ticket,
        raw=raw,
        symbology="]Q1",
        scanner="north-1",
        gate="north",
        direction=direction,
        reason=Reason.ADMITTED if allowed else Reason.INVALID,
        allowed=allowed,
        decided_by="offline",
        scanned_at_ms=at_ms,
        nonce=nonce,
        nonce_expires_at_ms=None if nonce is None else at_ms + 35_000,
    )


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    opened = Journal(tmp_path / "gate.db", clock_ms=lambda: NOW + 5)
    yield opened  # type: ignore[misc]
    opened.close()


def test_an_appended_scan_is_on_disk_for_a_new_reader(journal: Journal) -> None:
    first = entry()
    journal.append_sync(first)
    reader = Journal(journal.path)
    try:
        assert reader.scan_ids() == {first.scan_id}
        assert reader.recent(1)[0]["recorded_at_ms"] == NOW + 5
    finally:
        reader.close()


def test_history_holds_admitted_passes_only(journal: Journal) -> None:
    journal.append_sync(
        entry(at_ms=NOW),
        entry(at_ms=NOW + 1, allowed=False),
        entry(at_ms=NOW + 2, direction=Direction.EXIT),
        entry(ticket=None, allowed=False),
    )
    assert journal.load_history() == {
        "0a1b2c3d": [
            PastScan(NOW, "north", Direction.ENTRY, "device-1"),
            PastScan(NOW + 2, "north", Direction.EXIT, "device-1"),
        ]
    }
    assert journal.count() == 4


def test_passes_from_elsewhere_join_the_history_once(journal: Journal) -> None:
    learnt = ("0a1b2c3d", PastScan(NOW - 5, "west", Direction.ENTRY, "device-9"), "backend", "x1")
    journal.record_passes([learnt, learnt])
    assert journal.load_history()["0a1b2c3d"] == [learnt[1]]


def test_nonces_are_kept_until_they_expire(journal: Journal) -> None:
    journal.append_sync(entry(nonce="00112233aabbccdd"))
    assert journal.load_nonces(NOW) == {"00112233aabbccdd": NOW + 35_000}
    assert journal.load_nonces(NOW + 35_000) == {}
    assert journal.forget_nonces(NOW + 35_000) == 1


def test_raw_payloads_are_bounded(journal: Journal) -> None:
    journal.append_sync(entry(raw=b"x" * 10_000))
    assert len(journal.unsent()[0].raw) == MAX_RAW_BYTES


def test_the_outbox_returns_unsent_scans_in_order_and_forgets_sent_ones(journal: Journal) -> None:
    entries = [entry(at_ms=NOW + i) for i in range(5)]
    journal.append_sync(*entries)
    unsent = journal.unsent(limit=3)
    assert [row.scan_id for row in unsent] == [e.scan_id for e in entries[:3]]
    assert unsent[0].reason is Reason.ADMITTED
    journal.mark_sent({row.scan_id: "accepted" for row in unsent}, NOW + 100)
    assert [row.scan_id for row in journal.unsent()] == [e.scan_id for e in entries[3:]]
    assert journal.unsent_count() == 2
    assert journal.recent(5)[-1]["sync_result"] == "accepted"


def test_a_scan_id_is_journaled_once(journal: Journal) -> None:
    once = entry()
    journal.append_sync(once)
    journal.append_sync(once)
    assert journal.count() == 1


@pytest.mark.parametrize("sync", list(JournalSync))
def test_appends_of_one_loop_turn_share_one_commit(tmp_path: Path, sync: JournalSync) -> None:
    journal = Journal(tmp_path / "gate.db", sync=sync)

    async def burst() -> None:
        await asyncio.gather(*(journal.append(entry(at_ms=NOW + i)) for i in range(100)))

    try:
        asyncio.run(burst())
        assert journal.count() == 100
        assert journal.commits == 1
        assert journal.durable == journal.committed == 100
    finally:
        journal.close()


def test_full_sync_answers_only_after_the_log_is_fsynced(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "gate.db", sync=JournalSync.FULL)

    async def one() -> tuple[int, int]:
        mark = journal.enqueue([entry()])
        await journal.wait(mark)
        return journal.keeper.flushed, journal.keeper.flushes

    try:
        flushed, flushes = asyncio.run(one())
        assert (flushed, flushes) == (journal.commits, 1)
    finally:
        journal.close()


def test_normal_sync_answers_after_the_commit_without_waiting_for_a_flush(
    tmp_path: Path,
) -> None:
    journal = Journal(tmp_path / "gate.db", sync=JournalSync.NORMAL, flush_interval_s=3600)

    async def one() -> None:
        await journal.wait(journal.enqueue([entry()]))

    try:
        asyncio.run(one())
        assert journal.count() == 1
        assert journal.keeper.flushes == 0
    finally:
        journal.close()


def test_close_commits_what_is_queued_and_refuses_more(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "gate.db")

    async def queue_then_close() -> None:
        marks = [journal.enqueue([entry(at_ms=NOW + i)]) for i in range(50)]
        journal.close()  # before the loop got to the commit
        await asyncio.wait_for(journal.wait(marks[-1]), 10)
        with pytest.raises(JournalClosed):
            journal.enqueue([entry()])
        with pytest.raises(JournalClosed):
            journal.append_sync(entry())

    asyncio.run(queue_then_close())
    reopened = Journal(tmp_path / "gate.db")
    assert reopened.count() == 50
    reopened.close()


WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from scanctl.core import Direction, Reason
    from scanctl.core.ids import uuid7
    from scanctl.daemon.journal import Journal, JournalEntry, JournalSync

    journal = Journal(Path(sys.argv[1]), sync=JournalSync(sys.argv[2]))
    for index in range(100_000):
        scan_id = uuid7()
        journal.append_sync(JournalEntry(scan_id, "d", f"{index:08x}", b"raw", None, "s", "g",
            Direction.ENTRY, Reason.ADMITTED, True, "offline", index))
        print(scan_id, flush=True)  # the "green light": only after the commit
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("sync", list(JournalSync))
@pytest.mark.parametrize("round_", range(3))
def test_kill_9_loses_no_acknowledged_scan(tmp_path: Path, round_: int, sync: JournalSync) -> None:
    path = tmp_path / "gate.db"
    command = [sys.executable, "-c", WRITER, str(path), sync.value]
    acknowledged: list[str] = []
    target = 200 + round_ * 150
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as writer:
        assert writer.stdout is not None
        deadline = time.monotonic() + 30
        while len(acknowledged) < target and time.monotonic() < deadline:
            acknowledged.append(writer.stdout.readline().strip())
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait(timeout=10)
        acknowledged += [line.strip() for line in writer.stdout if line.strip()]
    assert len(acknowledged) >= target
    journal = Journal(path)
    try:
        assert journal.integrity_ok()
        assert set(acknowledged) <= journal.scan_ids()
    finally:
        journal.close()


def test_a_failed_commit_stops_every_later_green_light(journal: Journal) -> None:
    async def scenario() -> None:
        good = journal.enqueue([entry()])
        await journal.wait(good)
        # A value SQLite cannot bind makes the commit itself fail, as a broken disk would.
        unbindable = replace(entry(), symbology=object())  # type: ignore[arg-type]
        bad = journal.enqueue([unbindable])
        with pytest.raises(JournalClosed, match="failed"):
            await journal.wait(bad)
        with pytest.raises(JournalClosed, match="failed"):
            journal.enqueue([entry()])

    asyncio.run(scenario())
    assert journal.count() == 1


def test_the_counts_are_kept_in_memory_and_match_the_file(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "gate.db")
    try:
        online = replace(entry(), scan_id=uuid7(NOW), decided_by="online")
        offline = [entry(at_ms=NOW + i) for i in range(4)]
        journal.append_sync(online, *offline)
        journal.append_sync(offline[0])  # seen before: ignored, counted once
        assert (journal.count(), journal.unsent_count()) == (5, 4)
        journal.mark_sent({offline[0].scan_id: "accepted"}, NOW + 10)
        journal.mark_sent({offline[0].scan_id: "duplicate"}, NOW + 20)  # again: no change
        assert (journal.count(), journal.unsent_count()) == (5, 3)
    finally:
        journal.close()
    reopened = Journal(tmp_path / "gate.db")
    try:
        assert (reopened.count(), reopened.unsent_count()) == (5, 3)
    finally:
        reopened.close()


def test_normal_sync_is_flushed_and_checkpointed_in_the_background(tmp_path: Path) -> None:
    journal = Journal(
        tmp_path / "gate.db",
        sync=JournalSync.NORMAL,
        flush_interval_s=0.01,
        checkpoint_interval_s=0.2,
    )
    try:
        journal.append_sync(*(entry(at_ms=NOW + i) for i in range(300)))
        wait_for(lambda: journal.keeper.flushed == journal.commits == 1, "a flush", 10)
        wait_for(lambda: journal.keeper.checkpoints >= 1, "a checkpoint", 10)
    finally:
        journal.close()


def test_no_commit_checkpoints_the_log_itself(tmp_path: Path) -> None:
    """SQLite would checkpoint inside the commit that passes 1,000 log pages, stalling
    that scan; the journal leaves it to the keeper, so the log grows past that between
    the keeper's checkpoints (here: none within the test)."""
    path = tmp_path / "gate.db"
    journal = Journal(path, sync=JournalSync.NORMAL, checkpoint_interval_s=3600)
    try:
        for index in range(1500):
            journal.append_sync(entry(at_ms=NOW + index, raw=b"x" * 400))
        wal_pages = path.with_name("gate.db-wal").stat().st_size // 4096
        assert wal_pages > 1500
    finally:
        journal.close()


def test_bad_reads_are_kept_hashed_apart_from_the_scans(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "gate.db", sync=JournalSync.NORMAL)
    try:
        secret = b"PRINTED-SECRET-0123456789abcdef"
        raw = RawScan(secret, "]C0", "north-1", 1.0, BadRead.SYMBOLOGY_NOT_ACCEPTED)
        entry = BadReadEntry.of(raw, BadRead.SYMBOLOGY_NOT_ACCEPTED, "north", 1_000)
        journal.record_bad_read(entry)
        assert journal.bad_read_counts_by_scanner() == {"north-1": {"SYMBOLOGY_NOT_ACCEPTED": 1}}
        (row,) = journal.recent_bad_reads()
        assert row["length"] == len(secret) and row["symbology"] == "]C0"
        assert secret not in repr(row).encode()
        # Not a scan: nothing to upload, nothing in the decision counts.
        assert (journal.count(), journal.unsent(), journal.counts_by_scanner()) == (0, [], {})
    finally:
        journal.close()
    assert secret not in b"".join(p.read_bytes() for p in tmp_path.glob("gate.db*"))
