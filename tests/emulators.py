"""Scanner emulators that behave like the hardware, on the scanner's side of a real pty.

Each runs a thread that reads what the host sends and answers as the device does, so
the daemon under test talks to something with the device's manners, not to a mock:

- ``HoneywellHostAck``: in host-ACK mode a Honeywell scanner sends a read and then
  stays locked, taking no further reads, until the host answers ``ESC 7 ,`` (good) or
  ``ESC 8 ,`` (bad; a good answer followed by two low beeps, ``ESC 4 ,``, is the
  host's "admitted with a warning"), or its timeout runs out (up to 10 s): a read the host never
  answers is a person stuck at the door. ``scan`` fails the test in that case.
- ``ZebraSsi``: a Zebra decoder in SSI mode answers every host packet with CMD_ACK (or
  CMD_NAK, for as many beeps as told to), sends codes either as plain text with a CR
  suffix or as DECODE_DATA packets, and sends a packet again when the host NAKs it.

Pauses inside ``send`` (a Bluetooth scanner stalling mid-code, a person scanning again
20 ms later) pace the device; they never stand in for waiting on a result.
"""

from __future__ import annotations

import os
import re
import select
import threading
import time
from types import TracebackType

from tests.polling import wait_for

__all__ = ["HoneywellHostAck", "ZebraSsi", "ssi_packet"]

HOST_ACK_WINDOW_S = 10.0
"""The longest a Honeywell scanner waits for the host's answer before unlocking."""

_HOST_ANSWER = re.compile(rb"[0-6]?\x1b([78]),((?:[0-6]?\x1b4,)*)")


def ssi_packet(opcode: int, data: bytes = b"", *, status: int = 0, source: int = 0x00) -> bytes:
    """An SSI packet as the programmer's guide lays it out (written out independently)."""
    body = bytes((4 + len(data), opcode, source, status)) + data
    return body + ((0x10000 - sum(body)) % 0x10000).to_bytes(2, "big")


class _Emulator:
    def __init__(self, master: int) -> None:
        self.master = master
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()

    def __enter__(self) -> _Emulator:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def send(self, data: bytes, *, pause_at: int | None = None, pause_s: float = 0.0) -> None:
        """Send bytes as the device does; with ``pause_at``, stall ``pause_s`` there."""
        if pause_at is None:
            os.write(self.master, data)
            return
        os.write(self.master, data[:pause_at])
        self._stop.wait(pause_s)  # the device's own stall, not a wait for a result
        os.write(self.master, data[pause_at:])

    def pace(self, seconds: float) -> None:
        """The gap between two reads, as a person with a scanner makes it."""
        self._stop.wait(seconds)

    def _listen(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.02)
            if not ready:
                continue
            try:
                data = os.read(self.master, 4096)
            except OSError:
                return
            with self.lock:
                self.from_host(data)

    def from_host(self, data: bytes) -> None:
        raise NotImplementedError


class HoneywellHostAck(_Emulator):
    """A Honeywell scanner in host-ACK mode (see the module doc)."""

    def __init__(self, master: int) -> None:
        self.answers: list[str] = []
        self.answered_after_s: list[float] = []
        self._pending = b""
        self._sent_at = 0.0
        super().__init__(master)

    def scan(self, frame: bytes, *, pause_at: int | None = None, pause_s: float = 0.0) -> str:
        """Send one read, stay locked until the host answers; ``"good"``, ``"bad"`` or
        ``"warning"`` (good, then two low beeps)."""
        with self.lock:
            before = len(self.answers)
            self._sent_at = time.monotonic()
        self.send(frame, pause_at=pause_at, pause_s=pause_s)
        wait_for(
            lambda: len(self.answers) > before,
            f"the host's answer to {frame[:40]!r} (the scanner stays locked without one)",
            HOST_ACK_WINDOW_S,
            interval=0.002,
        )
        return self.answers[before]

    def next_answer(self, seen: int) -> str:
        """Wait for the answer after the first ``seen`` ones (a read the host split)."""
        wait_for(lambda: len(self.answers) > seen, "another answer", HOST_ACK_WINDOW_S)
        return self.answers[seen]

    def from_host(self, data: bytes) -> None:
        self._pending += data
        for match in _HOST_ANSWER.finditer(self._pending):
            if match.group(1) == b"8":
                self.answers.append("bad")
            else:
                self.answers.append("warning" if match.group(2).count(b"\x1b4,") >= 2 else "good")
            self.answered_after_s.append(time.monotonic() - self._sent_at)
        last = list(_HOST_ANSWER.finditer(self._pending))
        if last:
            self._pending = self._pending[last[-1].end() :]


class ZebraSsi(_Emulator):
    """A Zebra decoder in SSI mode (see the module doc)."""

    BEEP, CMD_ACK, CMD_NAK, DECODE_DATA = 0xE6, 0xD0, 0xD1, 0xF3
    QR, CODE128 = 0x1C, 0x03

    def __init__(self, master: int, *, packeted: bool = False, nak_beeps: int = 0) -> None:
        self.packeted = packeted
        self.beeps: list[int] = []
        """Beep codes received intact and ACKed, in order."""
        self.naked = 0
        self.decodes_acked = 0
        self.host_packets_damaged = 0
        self._nak_beeps = nak_beeps
        self._buffer = b""
        self._last_decode = b""
        super().__init__(master)

    def scan(self, code: bytes, *, code_type: int = QR, aim: bytes = b"]Q1") -> None:
        """Send one decoded code, as a packet or as text with a CR suffix."""
        if self.packeted:
            packet = ssi_packet(self.DECODE_DATA, bytes((code_type,)) + code)
            with self.lock:
                self._last_decode = packet
            self.send(packet)
        else:
            self.send(aim + code + b"\r")

    def scan_all(self, codes: list[bytes], *, gap_s: float, code_type: int = QR) -> None:
        """Send codes one after the other, ``gap_s`` apart, as a fast queue does."""
        for code in codes:
            self.scan(code, code_type=code_type)
            self.pace(gap_s)

    def wait_beeps(self, count: int, timeout: float = 10.0) -> list[int]:
        wait_for(lambda: len(self.beeps) >= count, f"{count} beep(s)", timeout, interval=0.002)
        return list(self.beeps)

    def from_host(self, data: bytes) -> None:
        self._buffer += data
        while self._buffer and len(self._buffer) >= self._buffer[0] + 2:
            size = self._buffer[0] + 2
            packet, self._buffer = self._buffer[:size], self._buffer[size:]
            if ssi_packet(packet[1], packet[4:-2], status=packet[3], source=packet[2]) != packet:
                self.host_packets_damaged += 1
                os.write(self.master, ssi_packet(self.CMD_NAK, b"\x01"))
                continue
            self._on_packet(packet[1], packet[4:-2])

    def _on_packet(self, opcode: int, data: bytes) -> None:
        if opcode == self.CMD_ACK:
            self.decodes_acked += 1
        elif opcode == self.CMD_NAK:
            resent = bytearray(self._last_decode)
            resent[3] |= 0x01
            os.write(self.master, ssi_packet(resent[1], bytes(resent[4:-2]), status=resent[3]))
        elif opcode == self.BEEP and self._nak_beeps:
            self._nak_beeps -= 1
            self.naked += 1
            os.write(self.master, ssi_packet(self.CMD_NAK, b"\x01"))
        else:
            if opcode == self.BEEP:
                self.beeps.append(data[0])
            os.write(self.master, ssi_packet(self.CMD_ACK))
