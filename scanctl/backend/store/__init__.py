"""The one data-access layer: every function takes a `Scope` first, then a connection.

Routes never run SQL themselves. A function cannot be called without the caller's
tenant, and each query filters by it (and by venue where the table has one), so
one tenant's rows cannot reach another tenant by construction.
"""

from scanctl.backend.store.audit import (
    TICKET_STATUS_ACTION,
    TICKET_TRANSFER_ACTION,
    AuditActor,
    AuditEntry,
    AuditRecord,
    audit_status_changes,
    audit_targets,
    list_audit,
    record_audit,
)
from scanctl.backend.store.devices import (
    DeviceRecord,
    DeviceStatus,
    DeviceType,
    NewDevice,
    get_device,
    list_devices,
    register_device,
    revoke_device,
)
from scanctl.backend.store.events import EventRecord, get_event, list_events, upsert_event
from scanctl.backend.store.nonces import (
    forget_expired_nonces,
    nonce_used,
    remember_nonces,
    used_nonces,
)
from scanctl.backend.store.policies import (
    PolicyRecord,
    TemplateRecord,
    delete_template,
    get_policy,
    get_template,
    list_templates,
    put_policy,
    put_template,
)
from scanctl.backend.store.scans import (
    MAX_RAW_LENGTH,
    ScanRecord,
    admitted_histories,
    admitted_history,
    insert_scans,
    list_scans,
    replace_decision,
    scans_by_device_id,
)
from scanctl.backend.store.scope import Scope
from scanctl.backend.store.tickets import (
    StatusChange,
    TicketInput,
    TicketRecord,
    UpsertResult,
    get_ticket,
    list_tickets,
    lock_tickets,
    tickets_changed_since,
    upsert_tickets,
)

__all__ = [
    "MAX_RAW_LENGTH",
    "TICKET_STATUS_ACTION",
    "TICKET_TRANSFER_ACTION",
    "AuditActor",
    "AuditEntry",
    "AuditRecord",
    "DeviceRecord",
    "DeviceStatus",
    "DeviceType",
    "EventRecord",
    "NewDevice",
    "PolicyRecord",
    "ScanRecord",
    "Scope",
    "StatusChange",
    "TemplateRecord",
    "TicketInput",
    "TicketRecord",
    "UpsertResult",
    "admitted_histories",
    "admitted_history",
    "audit_status_changes",
    "audit_targets",
    "delete_template",
    "forget_expired_nonces",
    "get_device",
    "get_event",
    "get_policy",
    "get_template",
    "get_ticket",
    "insert_scans",
    "list_audit",
    "list_devices",
    "list_events",
    "list_scans",
    "list_templates",
    "list_tickets",
    "lock_tickets",
    "nonce_used",
    "put_policy",
    "put_template",
    "record_audit",
    "register_device",
    "remember_nonces",
    "replace_decision",
    "revoke_device",
    "scans_by_device_id",
    "tickets_changed_since",
    "upsert_event",
    "upsert_tickets",
    "used_nonces",
]
