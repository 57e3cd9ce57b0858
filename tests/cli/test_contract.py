"""The JSON contract at the CLI's edge: camelCase names, RFC 3339 UTC whole-second times."""

from __future__ import annotations

from scanctl.cli.contract import camel, times_only, to_contract


def test_snake_names_become_camel_and_data_keys_stay() -> None:
    assert camel("event_id") == "eventId"
    assert camel("per_minute_now") == "perMinuteNow"
    for kept in ("QR_ALREADY_USED", "ACTIVE", "north", "eventId", "gate-2"):
        assert camel(kept) == kept


def test_epoch_ms_times_become_rfc3339_and_durations_keep_their_unit() -> None:
    summary = {
        "issued_at_ms": 1_900_000_000_123,
        "valid_until_ms": 1_900_000_060_000,
        "last_sync_ms": None,
        "last_contact_ms": 1_900_000_000_000,
        "age_ms": 1500,
        "uptime_s": 3.5,
        "by_status": {"ACTIVE": 2, "REFUNDED": 1},
        "gates": [{"reasons": {"QR_ALREADY_USED": 1}, "per_minute_now": 4}],
    }
    assert to_contract(summary) == {
        "issuedAt": "2030-03-17T17:46:40Z",
        "validUntil": "2030-03-17T17:47:40Z",
        "lastSyncAt": None,
        "lastContactAt": "2030-03-17T17:46:40Z",
        "ageMs": 1500,
        "uptimeSeconds": 3.5,
        "byStatus": {"ACTIVE": 2, "REFUNDED": 1},
        "gates": [{"reasons": {"QR_ALREADY_USED": 1}, "perMinuteNow": 4}],
    }


def test_api_times_lose_their_fraction_and_offset() -> None:
    device = {"deviceId": "d", "createdAt": "2026-12-03T10:00:00.123456+00:00", "name": "At"}
    assert to_contract(device) == {
        "deviceId": "d",
        "createdAt": "2026-12-03T10:00:00Z",
        "name": "At",
    }


def test_times_only_keeps_a_policys_own_key_names() -> None:
    answer = {
        "eventId": "e",
        "updatedAt": "2026-12-03T10:00:00.5+01:00",
        "policy": {"duplicate_window_seconds": 600, "gate_zones": {"north_1": "VIP"}},
    }
    assert times_only(answer) == {
        "eventId": "e",
        "updatedAt": "2026-12-03T09:00:00Z",
        "policy": {"duplicate_window_seconds": 600, "gate_zones": {"north_1": "VIP"}},
    }
