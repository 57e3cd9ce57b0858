"""build_manifest / build_delta input checks, and diff_entries for deltas."""

from __future__ import annotations

import dataclasses

import pytest

from scanctl.core import Policy, TicketStatus
from scanctl.manifests import (
    ManifestEntry,
    ManifestSigner,
    ManifestVerifier,
    PackedEntries,
    diff_entries,
)
from scanctl.manifests.wire import encode_manifest

from ._support import ISSUED, Build, sample_entries, verify_kwargs


def test_policy_as_dict_is_accepted(build: Build, verifier: ManifestVerifier) -> None:
    policy = Policy(reentry_allowed=True, max_reentries=2)
    wire = build(policy=policy.as_dict())
    assert verifier.verify(wire, **verify_kwargs()).header.policy == policy


def test_several_sealed_keys_keep_their_order(
    build: Build, verifier: ManifestVerifier, sealed: bytes
) -> None:
    wire = build(sealed_event_keys=[sealed, b"previous-key-sealed"])
    header = verifier.verify(wire, **verify_kwargs()).header
    assert header.sealed_event_keys == (sealed, b"previous-key-sealed")
    assert header.sealed_event_key == sealed


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"sequence": 0}, "sequence must be positive"),
        ({"valid_until_ms": ISSUED}, "valid until before it was issued"),
        ({"sealed_event_keys": []}, "no sealed event key"),
        ({"sequence": 3, "base_sequence": 3}, "delta base 3 is not below"),
        ({"sequence": 3, "base_sequence": 0}, "delta base 0 is not below"),
        ({"entries": [ManifestEntry("a"), ManifestEntry("a")]}, "duplicate ticket ids"),
    ],
)
def test_bad_input_is_a_value_error(
    build: Build, overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        build(**overrides)


def test_bad_policy_is_a_value_error(build: Build) -> None:
    with pytest.raises(ValueError, match="max_reentries"):
        build(policy={"max_reentries": 3})


def test_key_id_of_the_signer_is_in_the_framing(build: Build) -> None:
    other = ManifestSigner.generate()
    assert build(signer=other)[5:13] == bytes.fromhex(other.key_id)


def test_encoding_refuses_a_header_naming_another_key(
    build: Build, verifier: ManifestVerifier
) -> None:
    manifest = verifier.verify(build(), **verify_kwargs()).manifest
    with pytest.raises(ValueError, match="header names signing key"):
        encode_manifest(manifest, ManifestSigner.generate())


def test_a_delta_carries_only_what_changed(build: Build, verifier: ManifestVerifier) -> None:
    old = sample_entries()
    new = [dataclasses.replace(old[0], status=TicketStatus.REFUNDED), *old[2:]]
    new.append(ManifestEntry("feed0001"))
    changed, removed = diff_entries(old, new)
    assert {entry.ticket_id for entry in changed} == {old[0].ticket_id, "feed0001"}
    assert removed == [old[1].ticket_id]
    wire = build(sequence=2, base_sequence=1, changed=changed, removed=removed)
    full = build(sequence=2, entries=new)
    assert len(wire) < len(full)
    manifest = verifier.verify(wire, **verify_kwargs()).manifest
    assert {entry.ticket_id for entry in manifest.entries} == {old[0].ticket_id, "feed0001"}
    assert manifest.removed == (old[1].ticket_id,)


def test_packed_once_signed_per_device(
    build: Build, verifier: ManifestVerifier, sealed: bytes
) -> None:
    packed = PackedEntries.pack(sample_entries())
    assert packed.count == 40
    assert build(entries=packed) == build(entries=sample_entries())
    other_device = build(entries=packed, device_id="gate-device-2")
    header = verifier.verify(other_device, **verify_kwargs(device_id="gate-device-2")).header
    assert header.device_id == "gate-device-2"


def test_packed_delta_carries_its_removals(build: Build, verifier: ManifestVerifier) -> None:
    packed = PackedEntries.pack([ManifestEntry("feed0001")], ["dead0001"])
    wire = build(sequence=2, base_sequence=1, changed=packed)
    assert verifier.verify(wire, **verify_kwargs()).manifest.removed == ("dead0001",)
    with pytest.raises(ValueError, match="pack removed ids"):
        build(sequence=2, base_sequence=1, changed=packed, removed=["dead0002"])


def test_a_full_manifest_cannot_remove(build: Build) -> None:
    with pytest.raises(ValueError, match="full manifest cannot remove"):
        build(entries=PackedEntries.pack([], ["dead0001"]))
