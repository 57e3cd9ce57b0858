"""Verification on load: every refusal, flipped bytes anywhere, stale manifests."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanctl.core import EventFacts, Policy, StaleManifestAction
from scanctl.manifests import (
    BadSignature,
    DeltaBaseMismatch,
    MalformedManifest,
    ManifestExpired,
    ManifestRefused,
    ManifestSigner,
    ManifestVerifier,
    StaleSequence,
    TrustedKeys,
    UnknownSigningKey,
    WrongDevice,
    WrongEvent,
    WrongTenant,
    WrongVenue,
)

from ._support import (
    DEVICE,
    EVENT_ID,
    ISSUED,
    TENANT,
    VALID_UNTIL,
    VENUE,
    Build,
    sample_entries,
    verify_kwargs,
)


def test_round_trip(build: Build, verifier: ManifestVerifier, sealed: bytes) -> None:
    policy = Policy(reentry_allowed=True, stale_manifest=StaleManifestAction.ADMIT_WITH_WARNING)
    wire = build(policy=policy, sequence=7)
    verified = verifier.verify(wire, **verify_kwargs(event_id=EVENT_ID, device_id=DEVICE))
    header = verified.header
    assert not verified.stale
    assert (header.tenant_id, header.venue_id, header.event_id) == (TENANT, VENUE, EVENT_ID)
    assert (header.sequence, header.base_sequence, header.is_delta) == (7, None, False)
    assert (header.issued_at_ms, header.valid_until_ms) == (ISSUED, VALID_UNTIL)
    assert header.policy == policy
    assert header.sealed_event_key == sealed
    assert header.device_id == DEVICE
    expected = sorted(sample_entries(), key=lambda entry: entry.ticket_id)
    assert list(verified.manifest.entries) == expected
    assert verified.manifest.removed == ()


def test_same_manifest_same_bytes(build: Build) -> None:
    entries = sample_entries()
    assert build(entries=entries) == build(entries=list(reversed(entries)))


def test_bad_signature(build: Build, verifier: ManifestVerifier) -> None:
    wire = bytearray(build())
    wire[-1] ^= 0x01
    with pytest.raises(BadSignature, match="does not verify"):
        verifier.verify(bytes(wire), **verify_kwargs())


def test_unknown_signing_key(build: Build) -> None:
    other = ManifestVerifier(TrustedKeys([ManifestSigner.generate().public_key]))
    with pytest.raises(UnknownSigningKey, match="not trusted"):
        other.verify(build(), **verify_kwargs())


def test_rotated_keys_both_trusted(build: Build, signer: ManifestSigner) -> None:
    new = ManifestSigner.generate()
    both = ManifestVerifier(TrustedKeys([new.public_key_b64(), signer.public_key_b64()]))
    assert both.verify(build(), **verify_kwargs()).header.signing_key_id == signer.key_id
    rotated = both.verify(build(signer=new), **verify_kwargs())
    assert rotated.header.signing_key_id == new.key_id


@pytest.mark.parametrize(
    ("overrides", "error", "message"),
    [
        ({"tenant_id": "tenant-b"}, WrongTenant, "tenant tenant-a, expected tenant-b"),
        ({"venue_id": "venue-2"}, WrongVenue, "venue venue-1, expected venue-2"),
        ({"event_id": "event-2"}, WrongEvent, "event event-1, expected event-2"),
        ({"device_id": "another-gate"}, WrongDevice, "device gate-device-1"),
    ],
)
def test_wrong_context(
    build: Build,
    verifier: ManifestVerifier,
    overrides: dict[str, str],
    error: type[ManifestRefused],
    message: str,
) -> None:
    with pytest.raises(error, match=message):
        verifier.verify(build(), **verify_kwargs(**overrides))


def test_tenant_of_the_event_is_checked(
    build: Build, verifier: ManifestVerifier, event: EventFacts
) -> None:
    other = EventFacts(EVENT_ID, "tenant-b", VENUE, event.starts_at_ms, event.ends_at_ms)
    with pytest.raises(WrongTenant):
        verifier.verify(build(event=other), **verify_kwargs())


def test_expired_is_refused(build: Build, verifier: ManifestVerifier) -> None:
    with pytest.raises(ManifestExpired, match="expired"):
        verifier.verify(build(), **verify_kwargs(now_ms=VALID_UNTIL + 1))


def test_valid_until_itself_is_still_valid(build: Build, verifier: ManifestVerifier) -> None:
    assert not verifier.verify(build(), **verify_kwargs(now_ms=VALID_UNTIL)).stale


def test_expired_allowed_comes_back_stale(build: Build, verifier: ManifestVerifier) -> None:
    late = verify_kwargs(now_ms=VALID_UNTIL + 1, allow_expired=True)
    verified = verifier.verify(build(), **late)
    assert verified.stale
    assert verified.header.is_expired(VALID_UNTIL + 1)


@pytest.mark.parametrize("held", [5, 6])
def test_older_or_equal_sequence_refused(
    build: Build, verifier: ManifestVerifier, held: int
) -> None:
    with pytest.raises(StaleSequence, match=f"not newer than the held {held}"):
        verifier.verify(build(sequence=5), **verify_kwargs(held_sequence=held))


def test_newer_sequence_accepted(build: Build, verifier: ManifestVerifier) -> None:
    assert verifier.verify(build(sequence=5), **verify_kwargs(held_sequence=4)).header.sequence == 5


def test_delta_base_must_match(build: Build, verifier: ManifestVerifier) -> None:
    delta = build(sequence=9, base_sequence=7)
    assert verifier.verify(delta, **verify_kwargs(held_sequence=7)).header.base_sequence == 7
    with pytest.raises(
        DeltaBaseMismatch, match="built on sequence 7, the held manifest is sequence 8"
    ):
        verifier.verify(delta, **verify_kwargs(held_sequence=8))
    assert verifier.verify(delta, **verify_kwargs()).header.is_delta  # order unchecked


def _regions(wire: bytes) -> dict[str, range]:
    header_length = struct.unpack_from(">I", wire, 13)[0]
    entries_at = 17 + header_length + 4
    return {
        "magic": range(0, 4),
        "version": range(4, 5),
        "key id": range(5, 13),
        "header length": range(13, 17),
        "header": range(17, 17 + header_length),
        "entries length": range(17 + header_length, entries_at),
        "entries": range(entries_at, len(wire) - 64),
        "signature": range(len(wire) - 64, len(wire)),
    }


_EXPECTED = {
    "magic": MalformedManifest,
    "version": MalformedManifest,
    "key id": UnknownSigningKey,
    "header length": MalformedManifest,
    "header": BadSignature,
    "entries length": MalformedManifest,
    "entries": BadSignature,
    "signature": BadSignature,
}


def test_every_single_flipped_byte_is_refused(build: Build, verifier: ManifestVerifier) -> None:
    wire = build()
    for region, positions in _regions(wire).items():
        for position in positions:
            damaged = bytearray(wire)
            damaged[position] ^= 0xFF
            with pytest.raises(_EXPECTED[region]):
                verifier.verify(bytes(damaged), **verify_kwargs())


@settings(max_examples=300, deadline=None)
@given(data=st.data(), region=st.sampled_from(sorted(_EXPECTED)))
def test_any_bit_flip_in_any_region_is_refused(
    build: Build, verifier: ManifestVerifier, data: st.DataObject, region: str
) -> None:
    wire = build()
    position = data.draw(st.sampled_from(_regions(wire)[region]), label="position")
    bit = data.draw(st.integers(0, 7), label="bit")
    damaged = bytearray(wire)
    damaged[position] ^= 1 << bit
    with pytest.raises(_EXPECTED[region]):
        verifier.verify(bytes(damaged), **verify_kwargs())


@settings(max_examples=300, deadline=None)
@given(garbage=st.binary(max_size=2000))
def test_random_bytes_are_a_clear_refusal(verifier: ManifestVerifier, garbage: bytes) -> None:
    with pytest.raises(ManifestRefused):
        verifier.verify(garbage, **verify_kwargs())


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_truncated_or_extended_is_malformed(
    build: Build, verifier: ManifestVerifier, data: st.DataObject
) -> None:
    wire = build()
    cut = data.draw(st.integers(0, len(wire) - 1), label="cut")
    with pytest.raises(MalformedManifest):
        verifier.verify(wire[:cut], **verify_kwargs())
    tail = data.draw(st.binary(min_size=1, max_size=100), label="tail")
    with pytest.raises(MalformedManifest):
        verifier.verify(wire + tail, **verify_kwargs())


def test_not_bytes_is_malformed(verifier: ManifestVerifier) -> None:
    with pytest.raises(MalformedManifest, match="is bytes, not str"):
        verifier.verify("SCMF", **verify_kwargs())  # type: ignore[arg-type]


def test_verifier_takes_public_keys_directly(build: Build, signer: ManifestSigner) -> None:
    verifier = ManifestVerifier([signer.public_key_b64()])
    assert verifier.trusted.key_ids == {signer.key_id}
    assert verifier.verify(build(), **verify_kwargs()).header.sequence == 1
