"""The pure domain of scanctl: codes, keys, policies, reasons and decide(). No I/O."""

from scanctl.core.bad_reads import BadRead, bad_read_message
from scanctl.core.conflicts import (
    Admission,
    Conflict,
    ConflictKind,
    code_key,
    conflict_id,
    find_conflicts,
)
from scanctl.core.decide import Decision, decide, deny
from scanctl.core.decision_wire import (
    WireDecision,
    decision_from_wire,
    decision_to_wire,
    iso_ms,
    ms_of_iso,
)
from scanctl.core.keys import compute_mac, derive_event_key, mint_token, new_nonce, verify_mac
from scanctl.core.lanes import (
    PLACE_NAME_PATTERN,
    gate_zone,
    lane_zone_conflict,
    rate_limit_unit,
    zone_admits,
)
from scanctl.core.manifest_validity import (
    ExpiryStage,
    StaleOverride,
    expiry_stage,
    extended_until_ms,
    format_time_left,
    manifest_is_stale,
    manifest_valid_until_ms,
)
from scanctl.core.offline_upload import UploadCheck, UploadFacts, check_upload
from scanctl.core.policy import (
    POLICY_TEMPLATES,
    Policy,
    ScanMode,
    StaleManifestAction,
    UnzonedTickets,
)
from scanctl.core.raw_scan import RawScan
from scanctl.core.reasons import ALLOWED_REASONS, UNVERIFIED_REASONS, Reason, message_for
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
    "PLACE_NAME_PATTERN",
    "POLICY_TEMPLATES",
    "UNVERIFIED_REASONS",
    "Admission",
    "BadRead",
    "Conflict",
    "ConflictKind",
    "Decision",
    "Direction",
    "EventFacts",
    "ExpiryStage",
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
    "StaleOverride",
    "StaticCode",
    "TicketFacts",
    "TicketStatus",
    "UnzonedTickets",
    "UploadCheck",
    "UploadFacts",
    "WireDecision",
    "bad_read_message",
    "check_upload",
    "code_key",
    "compute_mac",
    "conflict_id",
    "decide",
    "decision_from_wire",
    "decision_to_wire",
    "deny",
    "derive_event_key",
    "expiry_stage",
    "extended_until_ms",
    "find_conflicts",
    "format_time_left",
    "format_token",
    "gate_zone",
    "iso_ms",
    "lane_zone_conflict",
    "manifest_is_stale",
    "manifest_valid_until_ms",
    "message_for",
    "mint_token",
    "ms_of_iso",
    "new_nonce",
    "parse_code",
    "rate_limit_unit",
    "static_code_hash",
    "verify_mac",
    "zone_admits",
]
