"""The framing and header of the wire form, including bytes that are signed but wrong."""

from __future__ import annotations

import json
import struct
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanctl.manifests import MalformedManifest, ManifestSigner, ManifestVerifier
from scanctl.manifests.packing import pack_entries
from scanctl.manifests.wire import MAGIC, MAX_ENTRIES_BYTES, SIGNATURE_LENGTH, split_wire

from ._support import Build, sample_entries, verify_kwargs


def _frame(signer: ManifestSigner, header: bytes, entries: bytes, version: int = 1) -> bytes:
    """Sign arbitrary contents with a trusted key: what a buggy or future backend sends."""
    body = (
        struct.pack(">4sB8sI", MAGIC, version, bytes.fromhex(signer.key_id), len(header))
        + header
        + struct.pack(">I", len(entries))
        + entries
    )
    return body + signer.sign(body)


def _header_of(wire: bytes) -> dict[str, object]:
    parts = split_wire(wire)
    header: dict[str, object] = json.loads(parts.header)
    return header


def test_layout(build: Build, signer: ManifestSigner) -> None:
    wire = build()
    parts = split_wire(wire)
    assert wire[:4] == b"SCMF"
    assert wire[4] == 1
    assert parts.key_id == signer.key_id
    assert len(parts.signature) == SIGNATURE_LENGTH
    assert parts.signed + parts.signature == wire
    header = _header_of(wire)
    assert header["sequence"] == 1
    assert "signing_key_id" not in header  # the framing carries it, once
    assert zlib.decompress(parts.entries) == pack_entries(sample_entries())


def test_header_is_canonical_json(build: Build) -> None:
    raw = split_wire(build()).header
    assert raw == json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":")).encode()


def test_no_field_for_personal_data(build: Build) -> None:
    header = _header_of(build())
    assert set(header) == {
        "base_sequence",
        "device_id",
        "event",
        "issued_at_ms",
        "policy",
        "sealed_event_keys",
        "sequence",
        "valid_until_ms",
    }


def _signed_with_header(build: Build, signer: ManifestSigner, **changes: object) -> bytes:
    wire = build()
    parts = split_wire(wire)
    header = json.loads(parts.header)
    header.update(changes)
    return _frame(signer, json.dumps(header).encode(), parts.entries)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"sequence": "1"}, "'sequence' is missing or not int"),
        ({"sequence": True}, "'sequence' is missing or not int"),
        ({"sequence": 0}, "sequence must be positive"),
        ({"base_sequence": 5}, "delta base 5 is not below its sequence 1"),
        ({"valid_until_ms": 0}, "valid until before it was issued"),
        ({"policy": {"no_such_rule": 1}}, "policy does not validate"),
        ({"sealed_event_keys": []}, "no sealed event key"),
        ({"sealed_event_keys": ["***"]}, "not base64"),
        ({"event": "event-1"}, "'event' is missing"),
        ({"device_id": None}, "'device_id' is missing"),
    ],
)
def test_signed_but_invalid_header_is_malformed(
    build: Build,
    signer: ManifestSigner,
    verifier: ManifestVerifier,
    changes: dict[str, object],
    message: str,
) -> None:
    with pytest.raises(MalformedManifest, match=message):
        verifier.verify(_signed_with_header(build, signer, **changes), **verify_kwargs())


def test_event_ending_before_it_starts_is_malformed(
    build: Build, signer: ManifestSigner, verifier: ManifestVerifier
) -> None:
    event = _header_of(build())["event"]
    assert isinstance(event, dict)
    wire = _signed_with_header(build, signer, event={**event, "ends_at_ms": 0})
    with pytest.raises(MalformedManifest, match="ends before it starts"):
        verifier.verify(wire, **verify_kwargs())


@pytest.mark.parametrize("header", [b"[]", b"\xff\xfe", b"{", b"[" * 100_000])
def test_signed_non_object_header_is_malformed(
    signer: ManifestSigner, verifier: ManifestVerifier, header: bytes
) -> None:
    with pytest.raises(MalformedManifest, match="header is not"):
        verifier.verify(_frame(signer, header, b""), **verify_kwargs())


def test_future_format_version_is_named(signer: ManifestSigner, verifier: ManifestVerifier) -> None:
    with pytest.raises(MalformedManifest, match="format version 2; this scanctl reads version 1"):
        verifier.verify(_frame(signer, b"{}", b"", version=2), **verify_kwargs())


def test_full_manifest_cannot_remove(
    build: Build, signer: ManifestSigner, verifier: ManifestVerifier
) -> None:
    header = split_wire(build()).header
    entries = zlib.compress(pack_entries(sample_entries(2), ["dead0001"]))
    with pytest.raises(MalformedManifest, match="cannot remove"):
        verifier.verify(_frame(signer, header, entries), **verify_kwargs())


@pytest.mark.parametrize(
    "entries",
    [
        b"not zlib",
        zlib.compress(b"\x00")[:-2],
        zlib.compress(b"") + b"extra",
    ],
)
def test_signed_bad_compression_is_malformed(
    build: Build, signer: ManifestSigner, verifier: ManifestVerifier, entries: bytes
) -> None:
    header = split_wire(build()).header
    with pytest.raises(MalformedManifest):
        verifier.verify(_frame(signer, header, entries), **verify_kwargs())


def test_decompression_bomb_stops_at_the_limit(
    build: Build, signer: ManifestSigner, verifier: ManifestVerifier
) -> None:
    header = split_wire(build()).header
    bomb = zlib.compressobj(1)
    chunk = bytes(1 << 20)
    blob = b"".join(bomb.compress(chunk) for _ in range((MAX_ENTRIES_BYTES >> 20) + 1))
    blob += bomb.flush()
    with pytest.raises(MalformedManifest, match="within limits"):
        verifier.verify(_frame(signer, header, blob), **verify_kwargs())


@settings(max_examples=200, deadline=None)
@given(entries=st.binary(max_size=300))
def test_signed_garbage_entries_are_malformed(
    build: Build, signer: ManifestSigner, verifier: ManifestVerifier, entries: bytes
) -> None:
    header = split_wire(build()).header
    with pytest.raises(MalformedManifest):
        verifier.verify(_frame(signer, header, zlib.compress(entries)), **verify_kwargs())


@settings(max_examples=200, deadline=None)
@given(header=st.binary(max_size=300))
def test_signed_garbage_header_is_malformed(
    signer: ManifestSigner, verifier: ManifestVerifier, header: bytes
) -> None:
    with pytest.raises(MalformedManifest):
        verifier.verify(_frame(signer, header, b""), **verify_kwargs())


def test_the_device_zone_travels_signed_and_is_left_out_when_unset(
    build: Build, verifier: ManifestVerifier
) -> None:
    zoned = build(device_zone="GA")
    assert _header_of(zoned)["device_zone"] == "GA"
    assert verifier.verify(zoned, **verify_kwargs()).header.device_zone == "GA"
    unzoned = build()
    assert "device_zone" not in _header_of(unzoned)  # what older backends wrote
    assert verifier.verify(unzoned, **verify_kwargs()).header.device_zone is None


def test_a_device_zone_that_is_not_text_is_malformed(
    build: Build, signer: ManifestSigner, verifier: ManifestVerifier
) -> None:
    with pytest.raises(MalformedManifest, match="'device_zone' is missing or not str"):
        verifier.verify(_signed_with_header(build, signer, device_zone=7), **verify_kwargs())
