"""Used nonces of rotating codes: each is accepted once, remembered while a token could verify."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, delete, select, text

from scanctl.backend.db.schema import nonces
from scanctl.backend.store.scope import Scope

__all__ = ["forget_expired_nonces", "nonce_used", "remember_nonces", "used_nonces"]

_IN_CHUNK = 500  # stays under every driver's bound-parameter limit


def nonce_used(scope: Scope, conn: Connection, nonce: str) -> bool:
    """Whether the nonce was accepted before (and is still remembered)."""
    row = conn.execute(
        select(nonces.c.nonce).where(
            scope.tenant_filter(nonces.c.tenant_id), nonces.c.nonce == nonce
        )
    ).first()
    return row is not None


# One primary-key probe per nonce whatever the statistics say (the writer runs this for
# every batch): with an ``IN`` list and no statistics yet, PostgreSQL may read all of the
# tenant's nonces through the expiry index instead.
_USED_PG = text(
    "SELECT n.nonce FROM unnest(CAST(:nonces AS varchar[])) AS wanted(nonce) CROSS JOIN LATERAL"
    " (SELECT nonce FROM nonces WHERE tenant_id = :tenant AND nonce = wanted.nonce) AS n"
)


def used_nonces(scope: Scope, conn: Connection, candidates: Iterable[str]) -> set[str]:
    """Which of the candidates were accepted before: one query per 500, for a whole batch."""
    wanted = sorted(set(candidates))
    found: set[str] = set()
    if not wanted:
        return found
    if conn.dialect.name == "postgresql":
        params = {"tenant": scope.tenant_id, "nonces": wanted}
        found.update(conn.execute(_USED_PG, params).scalars())
        return found
    for start in range(0, len(wanted), _IN_CHUNK):
        rows = conn.execute(
            select(nonces.c.nonce).where(
                scope.tenant_filter(nonces.c.tenant_id),
                nonces.c.nonce.in_(wanted[start : start + _IN_CHUNK]),
            )
        )
        found.update(rows.scalars())
    return found


def remember_nonces(scope: Scope, conn: Connection, used: Iterable[tuple[str, int]]) -> None:
    """Store (nonce, expires_at_ms) pairs in the caller's transaction."""
    pairs = list(used)
    if not pairs:
        return
    if conn.dialect.name == "sqlite":  # the driver's executemany (see `insert_scans`)
        conn.exec_driver_sql(
            "INSERT INTO nonces (tenant_id, nonce, expires_at_ms) VALUES (?, ?, ?)",
            [(scope.tenant_id, nonce, expires) for nonce, expires in pairs],
        )
        return
    rows = [
        {"tenant_id": scope.tenant_id, "nonce": nonce, "expires_at_ms": expires}
        for nonce, expires in pairs
    ]
    conn.execute(nonces.insert(), rows)


def forget_expired_nonces(scope: Scope, conn: Connection, now_ms: int) -> int:
    """Delete nonces whose tokens can no longer verify; returns how many went."""
    result = conn.execute(
        delete(nonces).where(
            scope.tenant_filter(nonces.c.tenant_id), nonces.c.expires_at_ms < now_ms
        )
    )
    return int(result.rowcount or 0)
