"""Alerts: one per cause while it lasts, cleared and acknowledged, published on the bus."""

from __future__ import annotations

from scanctl.daemon.alerts import AlertBook, AlertKind, BurstDetector, Severity
from scanctl.daemon.events import EventBus


def book() -> tuple[AlertBook, EventBus, list[int]]:
    bus, clock = EventBus(), [1000]
    return AlertBook(bus, lambda: clock[0], keep=3), bus, clock


def test_a_repeating_cause_is_one_alert() -> None:
    alerts, bus, _ = book()
    listener = bus.subscribe()
    first = alerts.raise_alert(AlertKind.REPLAY_BURST, "north", "one")
    again = alerts.raise_alert(AlertKind.REPLAY_BURST, "north", "two")
    assert first is again
    assert again.message == "two"
    assert len(alerts.listing()) == 1
    assert listener.get_nowait() == first.as_event() | {"message": "one"}
    assert listener.get_nowait() is None


def test_clearing_and_acknowledging() -> None:
    alerts, _, _ = book()
    alert = alerts.raise_alert(
        AlertKind.SCANNER_DISCONNECTED, "s1", "gone", severity=Severity.CRITICAL
    )
    assert alerts.acknowledge(alert.id)
    assert not alerts.acknowledge("no-such-alert")
    alerts.clear(AlertKind.SCANNER_DISCONNECTED, "s1")
    (listed,) = alerts.listing()
    assert (listed["active"], listed["acknowledged"], listed["severity"]) == (
        False,
        True,
        "critical",
    )
    renewed = alerts.raise_alert(AlertKind.SCANNER_DISCONNECTED, "s1", "gone again")
    assert renewed.id != alert.id
    assert alerts.listing()[0]["id"] == renewed.id


def test_the_life_cycle_is_kept_raised_cleared_acknowledged_by_whom() -> None:
    alerts, bus, clock = book()
    listener = bus.subscribe()
    alert = alerts.raise_alert(AlertKind.REPLAY_BURST, "south", "3 replays", gate="south")
    clock[0] = 5000
    alerts.clear(AlertKind.REPLAY_BURST, "south")
    (listed,) = alerts.listing()
    assert (listed["at_ms"], listed["cleared_at_ms"], listed["acknowledged"]) == (1000, 5000, False)
    clock[0] = 9000
    assert alerts.acknowledge(alert.id, "tui:anna")
    assert alerts.acknowledge(alert.id, "tui:bob"), "a second acknowledgement is harmless"
    (listed,) = alerts.listing()
    assert (listed["acked_by"], listed["acked_at_ms"]) == ("tui:anna", 9000)
    events = [listener.get_nowait() for _ in range(4)]
    assert [event["acked_by"] for event in events if event] == [None, None, "tui:anna", "tui:anna"]


def test_an_unacknowledged_cleared_alert_outlives_acknowledged_ones() -> None:
    alerts, _, clock = book()
    unseen = alerts.raise_alert(AlertKind.FORGERY_BURST, "s0", "x")
    alerts.clear(AlertKind.FORGERY_BURST, "s0")
    for index in range(1, 5):
        clock[0] += 1
        seen = alerts.raise_alert(AlertKind.FORGERY_BURST, f"s{index}", "x")
        alerts.acknowledge(seen.id)
        alerts.clear(AlertKind.FORGERY_BURST, f"s{index}")
    assert unseen.id in {alert["id"] for alert in alerts.listing()}


def test_old_inactive_alerts_are_forgotten_first() -> None:
    alerts, _, clock = book()
    for index in range(5):
        clock[0] += 1
        alerts.raise_alert(AlertKind.FORGERY_BURST, f"s{index}", "x")
        alerts.clear(AlertKind.FORGERY_BURST, f"s{index}")
    active = alerts.raise_alert(AlertKind.MANIFEST_STALE, "manifest", "stale")
    listed = alerts.listing()
    assert len(listed) == 3
    assert listed[0]["id"] == active.id


def test_a_burst_is_threshold_events_within_the_window() -> None:
    bursts = BurstDetector(threshold=3, window_ms=1000)
    assert [bursts.add("g", t) for t in (0, 500, 999)] == [False, False, True]
    assert not bursts.add("g", 2500)
    assert not bursts.quiet("g", 3000)
    assert bursts.quiet("g", 3500)
    assert bursts.quiet("other", 0)
