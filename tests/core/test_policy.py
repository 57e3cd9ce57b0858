"""Policy defaults, validation and templates."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from scanctl.core.policy import POLICY_TEMPLATES, Policy, ScanMode, StaleManifestAction


def test_defaults_are_those_of_the_design() -> None:
    policy = Policy()
    assert policy.duplicate_window_seconds == 600
    assert policy.qr_lifetime_seconds == 30
    assert policy.reentry_allowed is False
    assert policy.mode is ScanMode.ONLINE_FIRST
    assert policy.stale_manifest is StaleManifestAction.DENY


def test_unknown_keys_are_refused() -> None:
    with pytest.raises(ValidationError, match="duplicate_windw"):
        Policy.model_validate({"duplicate_windw": 5})


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ValidationError) as raised:
        Policy.model_validate({"qr_lifetime_seconds": 1, "cooldown_seconds": -1})
    assert {error["loc"][0] for error in raised.value.errors()} == {
        "qr_lifetime_seconds",
        "cooldown_seconds",
    }


def test_max_reentries_needs_reentry() -> None:
    with pytest.raises(ValidationError, match="reentry_allowed"):
        Policy(max_reentries=3)
    assert Policy(max_reentries=0).max_reentries == 0


def test_round_trip_through_plain_data() -> None:
    for policy in POLICY_TEMPLATES.values():
        assert Policy.model_validate(policy.as_dict()) == policy


def test_templates_cover_the_common_venues() -> None:
    assert set(POLICY_TEMPLATES) == {"standard", "no-reentry", "festival-reentry", "vip-zones"}
    assert POLICY_TEMPLATES["festival-reentry"].reentry_allowed


def test_admission_allowance_is_one_rule() -> None:
    assert Policy().admission_allowance == 1
    assert Policy(reentry_allowed=True).admission_allowance is None
    assert Policy(reentry_allowed=True, max_reentries=2).admission_allowance == 3


def test_a_code_is_valid_for_its_lifetime_plus_the_skew() -> None:
    policy = Policy(qr_lifetime_seconds=30, clock_skew_seconds=5)
    assert policy.code_valid_until_ms(1_000) == 36_000
