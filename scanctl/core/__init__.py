"""The pure domain of scanctl: codes, keys, policies, reasons and decide(). No I/O."""

from scanctl.core.bad_reads import BadRead, bad_read_message
from scanctl.core.decide import Decision, decide, deny
from scanctl.core.keys import compute_mac, derive_event_key, mint_token, new_nonce, verify_mac
from scanctl.core.policy import POLICY_TEMPLATES, Policy, ScanMode, StaleManifestAction
from scanctl.core.raw_scan import RawScan
from scanctl.core.reasons import ALLOWED_REASONS, Reason, message_for
from scanctl.core.tickets import (
    Direction,
    EventFacts,
    PastScan,
    ScannerContext,
    TicketFacts,
    TicketStatus,
)
from scanctl.core.tokens import (
    MAX_CODE_LENGTH,
    InvalidCode,
    ParsedCode,
    RotatingCode,
    StaticCode,
    format_token,
    parse_code,
    static_code_hash,
)

__all__ = [
    "ALLOWED_REASONS",
    "MAX_CODE_LENGTH",
    "POLICY_TEMPLATES",
    "BadRead",
    "Decision",
    "Direction",
    "EventFacts",
    "InvalidCode",
    "ParsedCode",
    "PastScan",
    "Policy",
    "RawScan",
    "Reason",
    "RotatingCode",
    "ScanMode",
    "ScannerContext",
    "StaleManifestAction",
    "StaticCode",
    "TicketFacts",
    "TicketStatus",
    "bad_read_message",
    "compute_mac",
    "decide",
    "deny",
    "derive_event_key",
    "format_token",
    "message_for",
    "mint_token",
    "new_nonce",
    "parse_code",
    "static_code_hash",
    "verify_mac",
]
