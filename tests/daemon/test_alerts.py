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
