"""The signed wire form of a manifest: framing, the canonical header, and the signature.

Layout (big-endian lengths):

    offset    size  field
    0         4     magic b"SCMF"
    4         1     format version (1)
    5         8     signing key id (raw; its 16-hex form is ``ManifestHeader.signing_key_id``)
    13        4     H: length of the header
    17        H     header: canonical JSON, UTF-8 (sorted keys, no spaces), see _header_dict
    17+H      4     E: length of the entries
    21+H      E     entries: zlib of packing.pack_entries' columns
    21+H+E    64    Ed25519 signature of every byte above (offsets 0 to 21+H+E)

Nothing follows the signature. The signature covers the framing, header and entries, so
no byte can change unnoticed; it is checked before the header or entries are parsed.
The same manifest always encodes to the same bytes.
"""

from __future__ import annotations

import base64
import binascii
import json
import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from scanctl.core import EventFacts, Policy
from scanctl.manifests.errors import MalformedManifest
from scanctl.manifests.model import (
    FORMAT_VERSION,
    Manifest,
    ManifestEntry,
    ManifestHeader,
    PeerDevice,
)
from scanctl.manifests.packing import pack_entries, unpack_entries
from scanctl.manifests.signing import KEY_ID_LENGTH, ManifestSigner

__all__ = [
    "MAGIC",
    "MAX_ENTRIES_BYTES",
    "SIGNATURE_LENGTH",
    "PackedEntries",
    "SignedParts",
    "canonical_header",
    "check_header",
    "decode_signed",
    "encode_manifest",
    "parse_header",
    "split_wire",
]

MAGIC = b"SCMF"
SIGNATURE_LENGTH = 64
MAX_HEADER_BYTES = 1 << 20
MAX_ENTRIES_BYTES = 1 << 26
"""Decompression stops here (64 MiB, about two million tickets): zlib bombs exist."""

_PREFIX = struct.Struct(">4sB8sI")
_LENGTH = struct.Struct(">I")
_COMPRESSION_LEVEL = 6


def _header_dict(header: ManifestHeader) -> dict[str, Any]:
    event = header.event
    # Optional keys are left out when unset, so a header without them is byte for byte
    # what older code wrote (and older manifests parse as unset).
    optional: dict[str, Any] = {}
    if header.device_zone is not None:
        optional["device_zone"] = header.device_zone
    if header.peers:
        optional["peers"] = [
            {"device_id": p.device_id, "name": p.name, "signing_key": p.signing_key}
            for p in header.peers
        ]
    return {
        **optional,
        "base_sequence": header.base_sequence,
        "device_id": header.device_id,
        "event": {
            "ends_at_ms": event.ends_at_ms,
            "event_id": event.event_id,
            "starts_at_ms": event.starts_at_ms,
            "tenant_id": event.tenant_id,
            "venue_id": event.venue_id,
        },
        "issued_at_ms": header.issued_at_ms,
        "policy": header.policy.as_dict(),
        "sealed_event_keys": [
            base64.b64encode(k).decode("ascii") for k in header.sealed_event_keys
        ],
        "sequence": header.sequence,
        "valid_until_ms": header.valid_until_ms,
    }


def canonical_header(header: ManifestHeader) -> bytes:
    """The header's canonical JSON bytes (also what the store keeps)."""
    return json.dumps(
        _header_dict(header), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()


@dataclass(frozen=True, slots=True)
class PackedEntries:
    """Entries packed and compressed once, to be signed into many manifests.

    A backend issues one manifest per device (each seals the event key to that device)
    but the entries are the same for all of them: pack once, sign per device.
    """

    compressed: bytes
    count: int
    removed: int

    @classmethod
    def pack(cls, entries: Iterable[ManifestEntry], removed: Iterable[str] = ()) -> PackedEntries:
        """Pack and compress; ValueError for entries no manifest can carry."""
        listed, gone = tuple(entries), tuple(removed)
        packed = pack_entries(listed, gone)
        return cls(zlib.compress(packed, _COMPRESSION_LEVEL), len(listed), len(set(gone)))


def encode_manifest(
    manifest: Manifest | ManifestHeader, signer: ManifestSigner, packed: PackedEntries | None = None
) -> bytes:
    """Sign and frame a manifest, or a header with entries packed beforehand.

    The header's ``signing_key_id`` must be the signer's; a full manifest cannot remove.
    """
    if isinstance(manifest, Manifest):
        header = manifest.header
        packed = PackedEntries.pack(manifest.entries, manifest.removed)
    elif packed is None:
        raise ValueError("a header alone needs its packed entries")
    else:
        header = manifest
    if header.signing_key_id != signer.key_id:
        raise ValueError(
            f"header names signing key {header.signing_key_id}, signer is {signer.key_id}"
        )
    if packed.removed and not header.is_delta:
        raise ValueError("a full manifest cannot remove tickets (only a delta can)")
    header_bytes = canonical_header(header)
    entries = packed.compressed
    body = b"".join(
        (
            _PREFIX.pack(MAGIC, FORMAT_VERSION, bytes.fromhex(signer.key_id), len(header_bytes)),
            header_bytes,
            _LENGTH.pack(len(entries)),
            entries,
        )
    )
    return body + signer.sign(body)


@dataclass(frozen=True, slots=True)
class SignedParts:
    """A wire manifest split along its framing, not yet verified or parsed."""

    key_id: str
    signed: bytes
    signature: bytes
    header: bytes
    entries: bytes


def split_wire(wire: bytes) -> SignedParts:
    """Check the framing only; MalformedManifest if it does not hold."""
    if not isinstance(wire, bytes | bytearray | memoryview):
        raise MalformedManifest(f"a manifest is bytes, not {type(wire).__name__}")
    wire = bytes(wire)
    if len(wire) < _PREFIX.size + _LENGTH.size + SIGNATURE_LENGTH:
        raise MalformedManifest(f"not a manifest: only {len(wire)} bytes")
    magic, version, key_id, header_length = _PREFIX.unpack_from(wire)
    if magic != MAGIC:
        raise MalformedManifest("not a scanctl manifest (bad magic bytes)")
    if version != FORMAT_VERSION:
        raise MalformedManifest(
            f"manifest format version {version}; this scanctl reads version {FORMAT_VERSION}"
        )
    if header_length > MAX_HEADER_BYTES:
        raise MalformedManifest(f"manifest header claims {header_length} bytes")
    entries_at = _PREFIX.size + header_length + _LENGTH.size
    if len(wire) < entries_at + SIGNATURE_LENGTH:
        raise MalformedManifest("manifest is truncated (header)")
    (entries_length,) = _LENGTH.unpack_from(wire, entries_at - _LENGTH.size)
    end = entries_at + entries_length
    if len(wire) != end + SIGNATURE_LENGTH:
        raise MalformedManifest(
            f"manifest is {len(wire)} bytes; its framing says {end + SIGNATURE_LENGTH}"
        )
    return SignedParts(
        key_id=key_id.hex(),
        signed=wire[:end],
        signature=wire[end:],
        header=wire[_PREFIX.size : _PREFIX.size + header_length],
        entries=wire[entries_at:end],
    )


def decode_signed(parts: SignedParts) -> Manifest:
    """Parse the header and entries of a manifest whose signature has been checked."""
    header = parse_header(parts.header, parts.key_id)
    decompressor = zlib.decompressobj()
    try:
        packed = decompressor.decompress(parts.entries, MAX_ENTRIES_BYTES)
    except zlib.error as exc:
        raise MalformedManifest(f"manifest entries do not decompress: {exc}") from None
    if decompressor.unconsumed_tail or not decompressor.eof or decompressor.unused_data:
        raise MalformedManifest("manifest entries are not one complete zlib stream within limits")
    entries, removed = unpack_entries(packed)
    if removed and header.base_sequence is None:
        raise MalformedManifest("a full manifest cannot remove tickets")
    return Manifest(header, entries, removed)


def _get(data: dict[str, Any], name: str, kind: type, *, optional: bool = False) -> Any:
    value = data.get(name)
    if value is None and optional:
        return None
    # bool is an int subclass; a flag is never a number here.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise MalformedManifest(f"manifest header field {name!r} is missing or not {kind.__name__}")
    return value


def parse_header(data: bytes, key_id: str) -> ManifestHeader:
    """A ManifestHeader from its canonical JSON; MalformedManifest for anything off."""
    try:
        raw = json.loads(data.decode())
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise MalformedManifest("manifest header is not JSON") from None
    if not isinstance(raw, dict):
        raise MalformedManifest("manifest header is not a JSON object")
    event = _get(raw, "event", dict)
    try:
        policy = Policy.model_validate(_get(raw, "policy", dict))
    except ValueError as exc:  # pydantic's ValidationError, without importing pydantic here
        raise MalformedManifest(f"manifest policy does not validate: {exc}") from None
    sealed = _get(raw, "sealed_event_keys", list)
    if not sealed or not all(isinstance(item, str) for item in sealed):
        raise MalformedManifest("manifest header carries no sealed event key")
    try:
        sealed_keys = tuple(base64.b64decode(item, validate=True) for item in sealed)
    except (binascii.Error, ValueError):
        raise MalformedManifest("a sealed event key is not base64") from None
    header = ManifestHeader(
        event=EventFacts(
            event_id=_get(event, "event_id", str),
            tenant_id=_get(event, "tenant_id", str),
            venue_id=_get(event, "venue_id", str),
            starts_at_ms=_get(event, "starts_at_ms", int),
            ends_at_ms=_get(event, "ends_at_ms", int),
        ),
        issued_at_ms=_get(raw, "issued_at_ms", int),
        valid_until_ms=_get(raw, "valid_until_ms", int),
        sequence=_get(raw, "sequence", int),
        signing_key_id=key_id,
        policy=policy,
        device_id=_get(raw, "device_id", str),
        sealed_event_keys=sealed_keys,
        base_sequence=_get(raw, "base_sequence", int, optional=True),
        device_zone=_get(raw, "device_zone", str, optional=True),
        peers=_peers(_get(raw, "peers", list, optional=True) or []),
    )
    check_header(header)
    return header


def _peers(items: list[Any]) -> tuple[PeerDevice, ...]:
    peers = []
    for item in items:
        if not isinstance(item, dict):
            raise MalformedManifest("a manifest peer is not a JSON object")
        peers.append(
            PeerDevice(
                device_id=_get(item, "device_id", str),
                name=_get(item, "name", str),
                signing_key=_get(item, "signing_key", str),
            )
        )
    return tuple(peers)


def check_header(header: ManifestHeader) -> None:
    """The invariants every header keeps; MalformedManifest if one does not hold."""
    if len(header.signing_key_id) != KEY_ID_LENGTH:
        raise MalformedManifest("signing key id must be 16 hex characters")
    if header.sequence < 1:
        raise MalformedManifest(f"manifest sequence must be positive, got {header.sequence}")
    if header.base_sequence is not None and not 1 <= header.base_sequence < header.sequence:
        raise MalformedManifest(
            f"delta base {header.base_sequence} is not below its sequence {header.sequence}"
        )
    if header.valid_until_ms <= header.issued_at_ms:
        raise MalformedManifest("manifest is valid until before it was issued")
    if header.event.ends_at_ms < header.event.starts_at_ms:
        raise MalformedManifest("event ends before it starts")
    if not header.sealed_event_keys:
        raise MalformedManifest("manifest carries no sealed event key")
