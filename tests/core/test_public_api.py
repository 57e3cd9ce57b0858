"""The public surface of scanctl.core is what we think it is."""

from __future__ import annotations

import scanctl.core

EXPECTED = {
    "ALLOWED_REASONS", "MAX_CODE_LENGTH", "PLACE_NAME_PATTERN", "POLICY_TEMPLATES", "BadRead",
    "Decision", "Direction",
    "EventFacts", "InvalidCode", "ParsedCode", "PastScan", "Policy", "RawScan", "Reason",
    "RotatingCode", "ScanMode", "ScannerContext", "StaleManifestAction", "StaticCode",
    "TicketFacts", "TicketStatus", "compute_mac", "decide", "deny", "derive_event_key",
    "format_token", "message_for", "mint_token", "new_nonce", "parse_code",
    "static_code_hash", "verify_mac", "UNVERIFIED_REASONS", "UnzonedTickets", "WireDecision",
    "decision_from_wire", "decision_to_wire", "gate_zone", "iso_ms", "lane_zone_conflict",
    "ms_of_iso", "rate_limit_unit", "zone_admits",
    "bad_read_message", "Admission", "Conflict", "ConflictKind", "code_key", "conflict_id",
    "conflict_to_wire",
    "find_conflicts",
    "ExpiryStage", "StaleOverride", "expiry_stage", "format_time_left", "manifest_is_stale",
    "manifest_valid_until_ms", "extended_until_ms", "printed_hash_of", "stored_payload",
    "UploadCheck", "UploadFacts", "check_upload",
}  # fmt: skip


def test_exported_members() -> None:
    assert set(scanctl.core.__all__) == EXPECTED
    for name in EXPECTED:
        assert hasattr(scanctl.core, name), name
