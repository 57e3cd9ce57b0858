"""Scan ids: UUIDv7 (RFC 9562), time-ordered, shared by the backend and the gate daemon."""

from __future__ import annotations

import time
import uuid

from scanctl.core.ids import uuid7

NOW = 1_764_320_000_000


def test_uuid7_is_version_7_and_time_ordered() -> None:
    ids = [uuid7(1_795_871_371_461 + i) for i in range(100)]
    assert ids == sorted(ids)
    parsed = uuid.UUID(ids[0])
    assert parsed.version == 7
    assert parsed.variant == uuid.RFC_4122
    assert int(ids[0].replace("-", "")[:12], 16) == 1_795_871_371_461


def test_uuid7_sorts_by_time_and_has_version_seven() -> None:
    early, late = uuid7(NOW), uuid7(NOW + 1)
    assert early < late
    assert early[14] == "7"
    assert early[19] in "89ab"


def test_without_a_timestamp_it_is_now() -> None:
    before = time.time_ns() // 1_000_000
    made = int(uuid7().replace("-", "")[:12], 16)
    assert before <= made <= time.time_ns() // 1_000_000
