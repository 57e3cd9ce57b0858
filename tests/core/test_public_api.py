"""The public surface of scanctl.core is what we think it is."""

from __future__ import annotations

import scanctl.core

EXPECTED = {
    "ALLOWED_REASONS", "MAX_CODE_LENGTH", "POLICY_TEMPLATES", "BadRead", "Decision", "Direction",
    "EventFacts", "InvalidCode", "ParsedCode", "PastScan", "Policy", "RawScan", "Reason",
    "RotatingCode", "ScanMode", "ScannerContext", "StaleManifestAction", "StaticCode",
    "TicketFacts", "TicketStatus", "bad_read_message", "compute_mac", "decide", "deny",
    "derive_event_key", "format_token", "message_for", "mint_token", "new_nonce", "parse_code",
    "static_code_hash", "verify_mac",
}  # fmt: skip


def test_exported_members() -> None:
    assert set(scanctl.core.__all__) == EXPECTED
    for name in EXPECTED:
        assert hasattr(scanctl.core, name), name
