"""Scanners at real doors: the real daemon, emulated Honeywell and Zebra scanners on ptys.

Every read gets an answer (a decision, or a bad read with its reason); Zebra SSI is
spoken both ways; a Bluetooth scanner's mid-code pause is survived when configured;
printed Code 128 tickets are decided where accepted and refused with a reason elsewhere.
"""

from __future__ import annotations

import hashlib
import signal
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.daemon.gate_kit import (
    SCANCTL,
    Gate,
    api,
    gate_toml,
    now_ms,
    provision,
    pty_pair,
    wait_for,
    wait_ready,
)
from tests.emulators import HoneywellHostAck, ZebraSsi

SSI_GOOD, SSI_BAD = 0x00, 0x16

LANES = {
    # name: (extra settings, emulator)
    "hw": ('feedback = "honeywell"\n', "honeywell"),
    "hw-qr-only": ('feedback = "honeywell"\nsymbologies = ["qr"]\n', "honeywell"),
    "bt-spp": ('feedback = "honeywell"\ninter_byte_timeout_ms = 400\n', "honeywell"),
    "zebra": ('feedback = "zebra-ssi"\n', "zebra"),
    "zebra-packets": ('feedback = "zebra-ssi"\nssi_packets = true\n', "zebra-packets"),
}


@dataclass
class Door:
    gate: Gate
    socket: Path
    scanners: dict[str, Any]

    def tickets(self, start: int, count: int) -> list[bytes]:
        return [
            self.gate.token(ticket, now_ms()).encode()
            for ticket in self.gate.tickets[start : start + count]
        ]

    def lane(self, name: str) -> dict[str, Any]:
        status = api(self.socket, "/status")
        return next(lane for lane in status["scanners"] if lane["name"] == name)

    def reasons(self, scanner: str) -> list[str]:
        rows = api(self.socket, "/scans?limit=1000")["scans"]
        return [row["reason"] for row in reversed(rows) if row["scanner"] == scanner]


@pytest.fixture(scope="module")
def door(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Door]:
    data_dir = tmp_path_factory.mktemp("door")
    gate = provision(data_dir, now_ms(), printed=3)
    with ExitStack() as stack:
        scanners: dict[str, Any] = {}
        tables = []
        for name, (extra, kind) in LANES.items():
            link = data_dir / f"tty-{name}"
            master = stack.enter_context(pty_pair(link))
            emulator: Any
            if kind == "honeywell":
                emulator = HoneywellHostAck(master)
            else:
                emulator = ZebraSsi(master, packeted=kind == "zebra-packets", nak_beeps=1)
            scanners[name] = stack.enter_context(emulator)
            tables.append(
                f'[[scanner]]\nname = "{name}"\ndriver = "serial"\npath = "{link}"\n'
                f'gate = "north"\n{extra}'
            )
        config = gate_toml(data_dir, "\n".join(tables))
        log = stack.enter_context((data_dir / "daemon.log").open("wb"))
        process = subprocess.Popen(
            [str(SCANCTL), "daemon", "run", "--config", str(config)], stderr=log
        )
        socket = data_dir / "daemon.sock"
        try:
            wait_ready(socket)
            yield Door(gate, socket, scanners)
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=15) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def test_every_read_a_host_ack_scanner_sends_is_answered_with_a_reason(door: Door) -> None:
    scanner = door.scanners["hw"]
    good = door.tickets(0, 1)[0]
    reads = [
        (b"]Q1" + good + b"\r", "good"),
        (b"\x00\xff\x10\x80\r", "bad"),  # line noise
        (b"]Q1" + b"x" * 600 + b"\r", "bad"),  # longer than any code
        (b"]E04006381333931\r", "bad"),  # a product's EAN-13
        (b"]Q1\r", "bad"),  # an AIM prefix and nothing else
        (b"]Q1" + good[:20], "bad"),  # cut off: nothing more comes
    ]
    for frame, expected in reads:
        assert scanner.scan(frame) == expected, frame[:30]
    assert len(scanner.answers) == len(reads)
    assert max(scanner.answered_after_s) < 2.0  # well inside the scanner's 10 s window
    lane = door.lane("hw")
    assert lane["bad_reads"] == {
        "UNREADABLE": 2,
        "TOO_LONG": 1,
        "SYMBOLOGY_NOT_ACCEPTED": 1,
        "INCOMPLETE": 1,
    }
    counters = lane["counters"]
    assert (counters["malformed"], counters["over_long"], counters["refused_symbology"]) == (
        2,
        1,
        1,
    )
    assert door.reasons("hw") == ["ADMITTED"]  # bad reads are not scans
    found = {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(_metrics(door.socket))
        for sample in family.samples
    }
    hw_north = {("gate", "north"), ("scanner", "hw")}
    too_long = frozenset({*hw_north, ("reason", "TOO_LONG")})
    assert found["scanctl_daemon_bad_reads_total", too_long] == 1
    refused = frozenset({*hw_north, ("counter", "refused_symbology")})
    assert found["scanctl_daemon_scanner_events_total", refused] == 1


def test_printed_code128_tickets_decided_where_accepted_refused_with_a_reason_elsewhere(
    door: Door,
) -> None:
    assert door.gate.printed is not None
    (first, ticket), (second, _), _ = door.gate.printed.items()
    code128 = b"]C0" + first.encode() + b"\r"
    assert door.scanners["hw-qr-only"].scan(code128) == "bad"
    assert door.lane("hw-qr-only")["bad_reads"] == {"SYMBOLOGY_NOT_ACCEPTED": 1}
    assert door.reasons("hw-qr-only") == []
    assert door.scanners["hw"].scan(code128) == "good"
    rows = api(door.socket, "/scans?limit=1000")["scans"]
    assert any(r["ticket_id"] == ticket and r["reason"] == "ADMITTED" for r in rows)

    # A refused printed code is journaled as a hash: its secret is never stored in clear.
    assert door.scanners["hw-qr-only"].scan(b"]C0" + second.encode() + b"\r") == "bad"
    database = door.gate.data_dir / "gate.db"
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as reader:
        hashes = {row[0] for row in reader.execute("SELECT payload_sha256 FROM bad_reads")}
    assert hashlib.sha256(second.encode()).hexdigest() in hashes
    stored = b"".join(path.read_bytes() for path in database.parent.glob("gate.db*"))
    assert second.encode() not in stored


def test_back_to_back_ssi_reads_20_ms_apart_are_all_decided(door: Door) -> None:
    scanner = door.scanners["zebra"]
    codes = door.tickets(10, 8)
    scanner.scan_all(codes, gap_s=0.02)
    # The first beep was NAKed by the decoder: it was sent again, so all 8 beeped.
    assert scanner.wait_beeps(len(codes)) == [SSI_GOOD] * len(codes)
    assert scanner.naked == 1
    assert door.reasons("zebra") == ["ADMITTED"] * len(codes)
    counters = door.lane("zebra")["counters"]
    assert counters["partial_discarded"] == 0
    assert counters["malformed"] == 0
    assert counters["feedback_retried"] == 1
    wait_for(lambda: door.lane("zebra")["counters"]["ssi_acks"] == len(codes), "every ACK")


def test_packeted_ssi_codes_are_acked_decided_and_answered(door: Door) -> None:
    scanner = door.scanners["zebra-packets"]
    codes = door.tickets(20, 5)
    scanner.scan_all(codes, gap_s=0.02)
    scanner.scan(b"4006381333931", code_type=0x0B)  # EAN-13: refused, with a bad beep
    beeps = scanner.wait_beeps(len(codes) + 1)
    assert beeps == [SSI_GOOD] * len(codes) + [SSI_BAD]
    wait_for(lambda: scanner.decodes_acked == len(codes) + 1, "an ACK for every packet")
    assert door.reasons("zebra-packets") == ["ADMITTED"] * len(codes)
    assert door.lane("zebra-packets")["bad_reads"] == {"SYMBOLOGY_NOT_ACCEPTED": 1}


def test_a_bluetooth_pause_mid_code_is_survived_when_configured(door: Door) -> None:
    slow, default = door.tickets(30, 2)
    frame = b"]Q1" + slow + b"\r"
    assert door.scanners["bt-spp"].scan(frame, pause_at=40, pause_s=0.15) == "good"
    assert door.reasons("bt-spp") == ["ADMITTED"]
    # The same pause on a lane left at the 100 ms default cuts the code in two; both
    # halves are still answered (neither opens the gate), none is left hanging.
    scanner = door.scanners["hw-qr-only"]
    seen = len(scanner.answers)
    first = scanner.scan(b"]Q1" + default + b"\r", pause_at=40, pause_s=0.15)
    assert (first, scanner.next_answer(seen + 1)) == ("bad", "bad")
    assert door.lane("hw-qr-only")["bad_reads"]["INCOMPLETE"] == 1


def _metrics(socket: Path) -> str:
    transport = httpx.HTTPTransport(uds=str(socket))
    with httpx.Client(transport=transport, base_url="http://daemon", timeout=5) as client:
        return client.get("/metrics").text
