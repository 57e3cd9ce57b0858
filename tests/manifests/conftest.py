"""Shared fixtures for the manifests tests: keys, an event, entries and a builder."""

from __future__ import annotations

import os
from typing import Any

import pytest

from scanctl.core import EventFacts, Policy
from scanctl.manifests import (
    DeviceKeys,
    ManifestSigner,
    ManifestVerifier,
    TrustedKeys,
    build_delta,
    build_manifest,
    seal_event_key,
)

from ._support import DEVICE, EVENT_ID, ISSUED, TENANT, VALID_UNTIL, VENUE, Build, sample_entries


@pytest.fixture(scope="session")
def signer() -> ManifestSigner:
    return ManifestSigner.generate()


@pytest.fixture(scope="session")
def verifier(signer: ManifestSigner) -> ManifestVerifier:
    return ManifestVerifier(TrustedKeys([signer.public_key_b64()]))


@pytest.fixture(scope="session")
def device() -> DeviceKeys:
    return DeviceKeys.generate()


@pytest.fixture(scope="session")
def event_key() -> bytes:
    return os.urandom(32)


@pytest.fixture(scope="session")
def event() -> EventFacts:
    return EventFacts(EVENT_ID, TENANT, VENUE, ISSUED + 3600_000, ISSUED + 5 * 3600_000)


@pytest.fixture(scope="session")
def sealed(device: DeviceKeys, event_key: bytes) -> bytes:
    return seal_event_key(
        event_key, device.exchange_public_b64, tenant_id=TENANT, event_id=EVENT_ID, device_id=DEVICE
    )


@pytest.fixture(scope="session")
def build(signer: ManifestSigner, event: EventFacts, sealed: bytes) -> Build:
    """Build a full manifest (or, with base_sequence, a delta) with overridable fields."""

    def _build(**overrides: Any) -> bytes:
        fields: dict[str, Any] = {
            "event": event,
            "issued_at_ms": ISSUED,
            "valid_until_ms": VALID_UNTIL,
            "sequence": 1,
            "policy": Policy(),
            "device_id": DEVICE,
            "sealed_event_keys": sealed,
            "signer": signer,
        }
        fields.update(overrides)
        if "base_sequence" in fields:
            fields.setdefault("changed", [])
            return build_delta(**fields)
        fields.setdefault("entries", sample_entries())
        return build_manifest(**fields)

    return _build
