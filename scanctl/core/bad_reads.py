"""Why a read never became a code to decide: the reasons a bad-read answer carries."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["BadRead", "bad_read_message"]


class BadRead(StrEnum):
    """Why a frame a scanner sent could not be decided at all.

    A read that fails here is still answered (a bad beep, so a host-ACK scanner does
    not lock up and the holder knows to try again) and journaled, but it is not a
    scan: it carries no ticket and is never uploaded. The values are a contract like
    ``Reason``'s: never rename one; add new ones at the end.
    """

    UNREADABLE = "UNREADABLE"
    """Bytes no code carries (line noise, binary), a frame cut short or empty."""
    INCOMPLETE = "INCOMPLETE"
    """The frame stopped mid-way: no byte within the lane's inter-byte timeout."""
    TOO_LONG = "TOO_LONG"
    """Longer than any code a gate can decide."""
    SYMBOLOGY_NOT_ACCEPTED = "SYMBOLOGY_NOT_ACCEPTED"
    """A barcode type this lane does not take (a product barcode at a ticket gate)."""


_MESSAGES: dict[BadRead, str] = {
    BadRead.UNREADABLE: "The code could not be read: scan it again.",
    BadRead.INCOMPLETE: "The code arrived incomplete: scan it again.",
    BadRead.TOO_LONG: "This code is too long to be a ticket.",
    BadRead.SYMBOLOGY_NOT_ACCEPTED: "This kind of barcode is not accepted at this lane.",
}


def bad_read_message(reason: BadRead) -> str:
    """The human message shown for a bad read."""
    return _MESSAGES[reason]
