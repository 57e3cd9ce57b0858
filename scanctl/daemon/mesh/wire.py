"""The gate mesh's datagrams: what crosses the venue LAN, sealed and signed.

Layout (one UDP datagram; lengths in bytes):

    offset  size  field
    0       4     magic b"SCG1" (scanctl gate mesh, version 1)
    4       16    event id (UUID bytes): a gate drops other events' traffic unread
    20      16    sender device id (UUID bytes)
    36      12    AEAD nonce (random)
    48      N     ChaCha20-Poly1305 of the JSON body, with bytes 0..48 as associated data
    48+N    64    Ed25519 signature of bytes 0..48+N by the sender's device key

Why both: the AEAD key (``derive_mesh_key``) is derived from the sealed event key, so
only the event's gates can read a body (ticket ids never cross the LAN in clear) or make
one; the signature says WHICH gate made it, with the key the signed manifest lists for
that device, so one gate cannot speak for another and a revoked one drops out with the
next manifest. A body carries its send time: older than ``REPLAY_WINDOW_MS`` (or as far
in the future) is refused, and within the window each nonce is taken once.

Every refusal is a ``MeshRefused`` whose ``why`` is one of ``REFUSALS``: counted per kind
by the node, never an exception that escapes.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from scanctl.core import Direction

__all__ = [
    "MAX_DATAGRAM_BYTES",
    "REFUSALS",
    "REPLAY_WINDOW_MS",
    "MeshCodec",
    "MeshRecord",
    "MeshRefused",
    "Summary",
    "derive_mesh_key",
]

MAGIC = b"SCG1"
_ID = 16
_NONCE = 12
_SIGNATURE = 64
_HEAD = len(MAGIC) + 2 * _ID + _NONCE
_TAG = 16
MAX_DATAGRAM_BYTES = 1400
"""Records are packed into datagrams up to this size: one Ethernet frame, no fragments."""
REPLAY_WINDOW_MS = 120_000
"""How old (or how far ahead, for a gate whose clock runs fast) a datagram may be."""

REFUSALS = (
    "malformed",
    "foreign-event",
    "unknown-sender",
    "bad-signature",
    "undecryptable",
    "stale",
    "replayed",
)
"""Why a datagram was dropped, in the order the checks run (the labels of the counts)."""


class MeshRefused(Exception):
    """A datagram the gate will not take; ``why`` is one of REFUSALS."""

    def __init__(self, why: str, detail: str = "") -> None:
        super().__init__(f"{why}: {detail}" if detail else why)
        self.why = why


def derive_mesh_key(event_key: bytes, tenant_id: str, event_id: str) -> bytes:
    """The key the event's gates seal mesh bodies with: HKDF-SHA256 of the event's QR key
    (which only its gates hold, sealed to each in the manifest) under its own label, so
    a mesh key opens no code and a code key opens no mesh body."""
    info = f"scanctl mesh v1|{tenant_id}|{event_id}".encode()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(event_key)


@dataclass(frozen=True, slots=True)
class MeshRecord:
    """One admission or exit of a gate, as the mesh carries it: the ``seq``-th record of
    device ``origin``. ``code`` is `core.code_key` of what was read (a nonce or a printed
    code's hash, never the code); ``code_expires_at_ms`` when a rotating code's nonce
    may be forgotten."""

    origin: str
    seq: int
    scan_id: str
    ticket_id: str
    at_ms: int
    gate: str
    lane: str | None
    direction: Direction
    decided_by: str
    code: str | None = None
    code_expires_at_ms: int | None = None

    @property
    def nonce(self) -> str | None:
        """The rotating code's nonce, when the record is of one."""
        if self.code is not None and self.code.startswith("nonce:"):
            return self.code[len("nonce:") :]
        return None

    def as_row(self) -> list[Any]:
        return [
            self.seq,
            self.scan_id,
            self.ticket_id,
            self.at_ms,
            self.gate,
            self.lane,
            self.direction.value,
            self.decided_by,
            self.code,
            self.code_expires_at_ms,
        ]

    @classmethod
    def from_row(cls, origin: str, row: Any) -> MeshRecord:
        """The inverse of ``as_row``; ValueError (or TypeError) for anything else."""
        if not isinstance(row, list) or len(row) != 10:
            raise ValueError("a record is a list of 10 fields")
        seq, scan_id, ticket, at_ms, gate, lane, direction, decided_by, code, expires = row
        _require(isinstance(seq, int) and not isinstance(seq, bool) and seq >= 1, "seq")
        _require(isinstance(at_ms, int) and not isinstance(at_ms, bool), "at_ms")
        for name, text in (("scan_id", scan_id), ("ticket", ticket), ("gate", gate)):
            _require(isinstance(text, str) and 0 < len(text) <= 128, name)
        _require(lane is None or (isinstance(lane, str) and len(lane) <= 128), "lane")
        _require(isinstance(decided_by, str) and len(decided_by) <= 16, "decided_by")
        _require(code is None or (isinstance(code, str) and len(code) <= 128), "code")
        _require(expires is None or (isinstance(expires, int) and expires >= 0), "expiry")
        return cls(
            origin,
            seq,
            scan_id,
            ticket,
            at_ms,
            gate,
            lane,
            Direction(direction),
            decided_by,
            code,
            expires,
        )


def _require(ok: bool, field: str) -> None:
    if not ok:
        raise ValueError(f"record field {field} is not valid")


@dataclass(frozen=True, slots=True)
class Summary:
    """A gate's heartbeat: how far it holds each origin's records without a gap.

    A peer that holds more of some origin answers with what is missing (anti-entropy):
    whoever was cut off catches up, through any gate that has the records.
    """

    have: Mapping[str, int]


Body = Summary | tuple[MeshRecord, ...]


class MeshCodec:
    """Seals this gate's bodies and opens its peers' (see the module docstring)."""

    def __init__(
        self,
        *,
        event_id: str,
        device_id: str,
        signing_key: Ed25519PrivateKey,
        mesh_keys: Sequence[bytes],
        peers: Mapping[str, Ed25519PublicKey],
    ) -> None:
        self.event_id = event_id
        self.device_id = device_id
        self._event = uuid.UUID(event_id).bytes
        self._device = uuid.UUID(device_id).bytes
        self._signing_key = signing_key
        self._ciphers = [ChaCha20Poly1305(key) for key in mesh_keys]
        self._peers = {uuid.UUID(d).bytes: (d, key) for d, key in peers.items()}
        self._seen: dict[bytes, int] = {}
        """Nonces taken within the replay window, with their send time."""

    def refresh(self, mesh_keys: Sequence[bytes], peers: Mapping[str, Ed25519PublicKey]) -> None:
        """A refreshed manifest's keys and gates (a revoked device drops out here)."""
        self._ciphers = [ChaCha20Poly1305(key) for key in mesh_keys]
        self._peers = {uuid.UUID(d).bytes: (d, key) for d, key in peers.items()}

    def knows(self, device_id: str) -> bool:
        """Whether ``device_id`` is another gate the manifest lists."""
        try:
            listed = uuid.UUID(device_id).bytes in self._peers
        except ValueError:
            return False
        return listed and device_id != self.device_id

    def seal(self, body: Body, sent_ms: int) -> bytes:
        nonce = os.urandom(_NONCE)
        head = MAGIC + self._event + self._device + nonce
        sealed = self._ciphers[0].encrypt(nonce, _encode(body, sent_ms), head)
        signed = head + sealed
        return signed + self._signing_key.sign(signed)

    def open(self, datagram: bytes, now_ms: int) -> tuple[str, Body]:
        """The sender's device id and the body; MeshRefused for anything not to take."""
        if len(datagram) < _HEAD + _TAG + _SIGNATURE or datagram[:4] != MAGIC:
            raise MeshRefused("malformed", "not a mesh datagram")
        if datagram[4:20] != self._event:
            raise MeshRefused("foreign-event")
        sender = self._peers.get(datagram[20:36])
        if sender is None:
            raise MeshRefused("unknown-sender", "not a gate of this venue's manifest")
        device_id, public_key = sender
        if device_id == self.device_id:
            raise MeshRefused("unknown-sender", "our own device id")
        signed, signature = datagram[:-_SIGNATURE], datagram[-_SIGNATURE:]
        try:
            public_key.verify(signature, signed)
        except InvalidSignature:
            raise MeshRefused("bad-signature", device_id) from None
        nonce = datagram[36:_HEAD]
        plain = self._decrypt(nonce, signed[_HEAD:], signed[:_HEAD])
        sent_ms, body = _decode(plain, device_id)
        if abs(now_ms - sent_ms) > REPLAY_WINDOW_MS:
            raise MeshRefused("stale", f"sent {now_ms - sent_ms} ms ago by {device_id}")
        self._forget_old(now_ms)
        if nonce in self._seen:
            raise MeshRefused("replayed", device_id)
        self._seen[nonce] = sent_ms
        return device_id, body

    def _decrypt(self, nonce: bytes, sealed: bytes, head: bytes) -> bytes:
        for cipher in self._ciphers:  # current key, then the previous one while rotating
            try:
                return cipher.decrypt(nonce, sealed, head)
            except InvalidTag:
                continue
        raise MeshRefused("undecryptable")

    def _forget_old(self, now_ms: int) -> None:
        if len(self._seen) < 4096:
            return
        oldest = now_ms - REPLAY_WINDOW_MS
        self._seen = {n: sent for n, sent in self._seen.items() if sent >= oldest}


def _encode(body: Body, sent_ms: int) -> bytes:
    if isinstance(body, Summary):
        document: dict[str, Any] = {"k": "sum", "sent": sent_ms, "have": dict(body.have)}
    else:
        by_origin: dict[str, list[list[Any]]] = {}
        for record in body:
            by_origin.setdefault(record.origin, []).append(record.as_row())
        document = {"k": "rec", "sent": sent_ms, "from": by_origin}
    return json.dumps(document, separators=(",", ":")).encode()


def _decode(plain: bytes, sender: str) -> tuple[int, Body]:
    try:
        document = json.loads(plain)
        kind, sent_ms = document["k"], document["sent"]
        if not isinstance(sent_ms, int):
            raise ValueError("sent is not a time")
        if kind == "sum":
            have = document["have"]
            if not isinstance(have, dict) or not all(
                isinstance(o, str) and isinstance(s, int) and s >= 0 for o, s in have.items()
            ):
                raise ValueError("have is not {origin: seq}")
            return sent_ms, Summary(have)
        if kind == "rec":
            origins = document["from"]
            if not isinstance(origins, dict):
                raise ValueError("from is not {origin: records}")
            return sent_ms, tuple(_records(origins))
        raise ValueError(f"unknown kind {kind!r}")
    except (ValueError, KeyError, TypeError, RecursionError) as error:
        raise MeshRefused("malformed", f"from {sender}: {error}") from None


def _records(origins: Mapping[str, Any]) -> Iterable[MeshRecord]:
    for origin, rows in origins.items():
        uuid.UUID(origin)  # ValueError for anything but a device id
        if not isinstance(rows, list):
            raise ValueError("records are not a list")
        for row in rows:
            yield MeshRecord.from_row(origin, row)


def pack(records: Sequence[MeshRecord], budget: int = MAX_DATAGRAM_BYTES) -> list[list[MeshRecord]]:
    """Split records into groups whose sealed datagrams stay within ``budget`` bytes."""
    overhead = _HEAD + _TAG + _SIGNATURE + 96  # framing, tag, signature, JSON keys
    groups: list[list[MeshRecord]] = []
    current: list[MeshRecord] = []
    size = overhead
    for record in records:
        cost = len(json.dumps(record.as_row(), separators=(",", ":"))) + 1
        if current and size + cost > budget:
            groups.append(current)
            current, size = [], overhead
        current.append(record)
        size += cost
    if current:
        groups.append(current)
    return groups
