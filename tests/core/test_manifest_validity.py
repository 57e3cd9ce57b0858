"""A manifest's validity covers its event; what a gate does once it has expired."""

from __future__ import annotations

import pytest

from scanctl.core.manifest_validity import (
    ExpiryStage,
    StaleOverride,
    expiry_stage,
    extended_until_ms,
    format_time_left,
    manifest_is_stale,
    manifest_valid_until_ms,
    stale_action,
    stale_warning,
)
from scanctl.core.policy import Policy, StaleManifestAction

HOUR = 3_600_000
MINUTE = 60_000
NOW = 1_764_320_000_000
ADMIT = StaleManifestAction.ADMIT_WITH_WARNING
DENY = StaleManifestAction.DENY


@pytest.mark.parametrize(
    ("ends_in", "bound", "valid_for"),
    [
        (5 * HOUR, None, 7 * HOUR),  # a 5-hour event pulled at its start: end + grace
        (5 * HOUR, 24 * HOUR, 7 * HOUR),  # the bound is generous enough
        (5 * HOUR, 4 * HOUR, 4 * HOUR),  # a venue's tighter bound wins
        (30 * 24 * HOUR, 24 * HOUR, 24 * HOUR),  # pulled a month early: the bound
        (-10 * HOUR, None, 2 * HOUR),  # pulled after the end: the grace from the pull
        (-10 * HOUR, 1, 1),
    ],
)
def test_validity_covers_the_event_plus_grace_within_the_bound(
    ends_in: int, bound: int | None, valid_for: int
) -> None:
    until = manifest_valid_until_ms(
        issued_at_ms=NOW, event_ends_at_ms=NOW + ends_in, grace_ms=2 * HOUR, bound_ms=bound
    )
    assert until == NOW + valid_for


def test_a_manifest_is_never_born_expired() -> None:
    until = manifest_valid_until_ms(issued_at_ms=NOW, event_ends_at_ms=0, grace_ms=0, bound_ms=0)
    assert until == NOW + 1


def test_staleness() -> None:
    assert manifest_is_stale(None, NOW)
    assert not manifest_is_stale(NOW, NOW)
    assert manifest_is_stale(NOW, NOW + 1)


def test_the_latest_override_decides_only_while_in_force() -> None:
    policy = Policy()
    override = StaleOverride(ADMIT, NOW + HOUR, "sam", NOW)
    assert stale_action(policy, override, NOW - 1) == (DENY, None)
    assert stale_action(policy, override, NOW) == (ADMIT, override)
    assert stale_action(policy, override, NOW + HOUR) == (DENY, None)
    assert stale_action(policy, None, NOW) == (DENY, None)
    cleared = StaleOverride(None, NOW + HOUR, "sam", NOW)
    assert not cleared.in_force(NOW)
    assert stale_action(Policy(stale_manifest=ADMIT), cleared, NOW) == (ADMIT, None)


def test_an_extension_counts_from_the_manifest_s_own_end() -> None:
    assert extended_until_ms(NOW - 10 * MINUTE, NOW, 30) == NOW + 20 * MINUTE
    assert extended_until_ms(None, NOW, 30) == NOW + 30 * MINUTE


def test_warnings_say_who_allowed_it() -> None:
    assert stale_warning(None) == "offline ticket data is out of date"
    override = StaleOverride(ADMIT, NOW + HOUR, "sam", NOW)
    assert "sam's override" in stale_warning(override)


@pytest.mark.parametrize(
    ("left", "stage"),
    [
        (None, ExpiryStage.EXPIRED),
        (-1, ExpiryStage.EXPIRED),
        (0, ExpiryStage.IMMINENT),
        (30 * MINUTE, ExpiryStage.IMMINENT),
        (30 * MINUTE + 1, ExpiryStage.SOON),
        (2 * HOUR, ExpiryStage.SOON),
        (2 * HOUR + 1, ExpiryStage.FRESH),
    ],
)
def test_expiry_stages_warn_two_hours_ahead(left: int | None, stage: ExpiryStage) -> None:
    assert expiry_stage(None if left is None else NOW + left, NOW) is stage


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (40_000, "40 s"),
        (-40_000, "40 s"),
        (12 * MINUTE, "12 min"),
        (89 * MINUTE, "89 min"),
        (95 * MINUTE, "1 h 35 min"),
    ],
)
def test_time_left_reads_at_a_glance(ms: int, text: str) -> None:
    assert format_time_left(ms) == text
