"""Every table of the backend, as SQLAlchemy Core `Table` objects (the migrations' target).

Rules the migrations and the data-access layer rely on:
- every table carries ``tenant_id`` NOT NULL without a default, first in its primary
  key and in every index, so each query is tenant-bound and index-served;
- times are integer milliseconds since the epoch (``*_ms``);
- JSON goes into TEXT columns (portable between SQLite and PostgreSQL).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    false,
)

__all__ = [
    "audit_log",
    "devices",
    "events",
    "metadata",
    "nonces",
    "policies",
    "policy_templates",
    "scans",
    "tickets",
]

# Constraint names are spelled out so PostgreSQL and SQLite migrations agree.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _tenant() -> Column[str]:
    return Column("tenant_id", String(64), nullable=False)


events = Table(
    "events",
    metadata,
    _tenant(),
    Column("id", String(36), nullable=False),
    Column("venue_id", String(36), nullable=False),
    Column("name", String(200), nullable=False),
    Column("starts_at_ms", BigInteger, nullable=False),
    Column("ends_at_ms", BigInteger, nullable=False),
    # Bumped by every ticket upsert that changes something; tickets remember the value
    # they were last changed at, so manifests can send deltas `since=<sequence>`.
    Column("ticket_seq", BigInteger, nullable=False, server_default="0"),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("updated_at_ms", BigInteger, nullable=False),
    PrimaryKeyConstraint("tenant_id", "id", name="pk_events"),
)
Index("ix_events_tenant_venue", events.c.tenant_id, events.c.venue_id)

tickets = Table(
    "tickets",
    metadata,
    _tenant(),
    Column("event_id", String(36), nullable=False),
    Column("id", String(8), nullable=False),
    Column("status", String(16), nullable=False),
    Column("zones", Text, nullable=False, server_default="[]"),
    Column("valid_from_ms", BigInteger, nullable=True),
    Column("valid_until_ms", BigInteger, nullable=True),
    Column("transferred_to", String(8), nullable=True),
    Column("static_hash", String(64), nullable=True),
    Column("updated_seq", BigInteger, nullable=False),
    Column("updated_at_ms", BigInteger, nullable=False),
    ForeignKeyConstraint(
        ["tenant_id", "event_id"],
        ["events.tenant_id", "events.id"],
        name="fk_tickets_event",
        ondelete="CASCADE",
    ),
    PrimaryKeyConstraint("tenant_id", "event_id", "id", name="pk_tickets"),
)
Index("ix_tickets_tenant_event_seq", tickets.c.tenant_id, tickets.c.event_id, tickets.c.updated_seq)
Index("ix_tickets_tenant_static_hash", tickets.c.tenant_id, tickets.c.static_hash)
# QR generation by ticket id alone, in any event of the tenant (migration 0004).
Index("ix_tickets_tenant_id", tickets.c.tenant_id, tickets.c.id)

devices = Table(
    "devices",
    metadata,
    _tenant(),
    Column("id", String(36), nullable=False),
    Column("venue_id", String(36), nullable=False),
    Column("name", String(100), nullable=False),
    Column("type", String(16), nullable=False),
    Column("can_scan_offline", Boolean, nullable=False),
    Column("zone", String(64), nullable=True),
    Column("signing_public_key", String(64), nullable=True),
    Column("sealing_public_key", String(64), nullable=True),
    Column("status", String(16), nullable=False),
    Column("registered_by", String(200), nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("updated_at_ms", BigInteger, nullable=False),
    Column("revoked_at_ms", BigInteger, nullable=True),
    PrimaryKeyConstraint("tenant_id", "id", name="pk_devices"),
)
Index("ix_devices_tenant_venue", devices.c.tenant_id, devices.c.venue_id)

policies = Table(
    "policies",
    metadata,
    _tenant(),
    Column("event_id", String(36), nullable=False),
    Column("body", Text, nullable=False),
    Column("updated_by", String(200), nullable=False),
    Column("updated_at_ms", BigInteger, nullable=False),
    ForeignKeyConstraint(
        ["tenant_id", "event_id"],
        ["events.tenant_id", "events.id"],
        name="fk_policies_event",
        ondelete="CASCADE",
    ),
    PrimaryKeyConstraint("tenant_id", "event_id", name="pk_policies"),
)

policy_templates = Table(
    "policy_templates",
    metadata,
    _tenant(),
    Column("name", String(64), nullable=False),
    Column("body", Text, nullable=False),
    Column("updated_by", String(200), nullable=False),
    Column("updated_at_ms", BigInteger, nullable=False),
    PrimaryKeyConstraint("tenant_id", "name", name="pk_policy_templates"),
)

audit_log = Table(
    "audit_log",
    metadata,
    # BIGINT on PostgreSQL; SQLite only auto-increments a column declared INTEGER.
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    _tenant(),
    Column("at_ms", BigInteger, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("actor_kind", String(16), nullable=False),
    Column("actor_role", String(32), nullable=False),
    Column("device_id", String(36), nullable=True),
    Column("action", String(64), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("target_kind", String(32), nullable=True),
    Column("target_id", String(64), nullable=True),
    Column("venue_id", String(36), nullable=True),
    Column("detail", Text, nullable=True),
)
Index("ix_audit_log_tenant_at", audit_log.c.tenant_id, audit_log.c.at_ms)

scans = Table(
    "scans",
    metadata,
    _tenant(),
    # Server-generated UUIDv7 for online scans; the device's own UUIDv7 for offline
    # uploads (reconciliation is idempotent on it).
    Column("id", String(36), nullable=False),
    Column("event_id", String(36), nullable=False),
    # NULL for codes that name no ticket (garbage, unknown static codes).
    Column("ticket_id", String(8), nullable=True),
    Column("device_id", String(36), nullable=False),
    Column("gate", String(64), nullable=True),
    Column("direction", String(8), nullable=False),
    # The scanned payload, bounded (512 characters) by the writer.
    Column("raw", Text, nullable=False),
    Column("reason", String(32), nullable=False),
    Column("allowed", Boolean, nullable=False),
    Column("decided_by", String(8), nullable=False),
    Column("scanned_at_ms", BigInteger, nullable=False),
    Column("recorded_at_ms", BigInteger, nullable=False),
    # An offline upload that arrived long after the scan.
    Column("late", Boolean, nullable=False, server_default=false()),
    # Why an admission needs a second look: the gate admitted it on an expired manifest
    # (the venue's admit-with-warning choice, or a supervisor's override). Migration 0007.
    Column("warning", Text, nullable=True),
    # The client's own facts about the scan (the original service's optional
    # ``metadata`` object), as compact JSON of at most 2 KiB. Migration 0008.
    Column("client_metadata", Text, nullable=True),
    ForeignKeyConstraint(
        ["tenant_id", "event_id"],
        ["events.tenant_id", "events.id"],
        name="fk_scans_event",
        ondelete="CASCADE",
    ),
    PrimaryKeyConstraint("tenant_id", "device_id", "id", name="pk_scans"),
)
# A ticket's history (duplicate window, re-entries) in scan order (id: ties too).
#
# On PostgreSQL its key columns compare bytewise (COLLATE "C", migration 0005) and so
# do the ticket queries (`store.scans.ticket_key`): same results (equality only), but
# their tenant and event conditions can use no other index. Without statistics every
# `=` looks like 1 row in 200, so the recorded_at index, which matches tenant and event
# too, looked as cheap as this one and took over whenever its B-tree was a level
# shallower, reading every scan of the event. SQLAlchemy writes the `postgresql_ops`
# text after the column name, where PostgreSQL takes a collation as well as an
# operator class; other databases ignore it. Alembic's compare does not see collations:
# tests/backend/test_ticket_index_migration.py checks the index definition.
_BYTEWISE = 'COLLATE "C"'
Index(
    "ix_scans_tenant_event_ticket_at",
    scans.c.tenant_id,
    scans.c.event_id,
    scans.c.ticket_id,
    scans.c.scanned_at_ms,
    scans.c.id,
    postgresql_ops={"tenant_id": _BYTEWISE, "event_id": _BYTEWISE, "ticket_id": _BYTEWISE},
)
# Listing an event's scans in the order they reached the backend.
Index(
    "ix_scans_tenant_event_recorded",
    scans.c.tenant_id,
    scans.c.event_id,
    scans.c.recorded_at_ms,
)

nonces = Table(
    "nonces",
    metadata,
    _tenant(),
    # Rotating-token nonces already used; kept until the token could no longer verify.
    Column("nonce", String(16), nullable=False),
    Column("expires_at_ms", BigInteger, nullable=False),
    PrimaryKeyConstraint("tenant_id", "nonce", name="pk_nonces"),
)
Index("ix_nonces_tenant_expires", nonces.c.tenant_id, nonces.c.expires_at_ms)
