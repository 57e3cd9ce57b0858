"""Refuse to serve on PostgreSQL from a role or schema that row-level security would not hold.

Tenant isolation on PostgreSQL rests on the policies of migrations 0002/0003. They do
not bind a superuser or a role with BYPASSRLS at all, and the owner of a table can
switch them off (``ALTER TABLE … NO FORCE ROW LEVEL SECURITY``). So the service runs
as an ordinary role that owns nothing, the schema is migrated by its owner
(`scanctl server migrate` with the owner's URL), and this check, run before the
service is ready, lists every way the database falls short of that at once.
"""

from __future__ import annotations

from sqlalchemy import Engine, text

from scanctl.backend.db.schema import metadata

__all__ = ["TENANT_TABLES", "isolation_problems"]

TENANT_TABLES: tuple[str, ...] = tuple(sorted(metadata.tables))
"""Every table of the schema: each carries tenant_id and is row-level secured."""

_ROLE = text(
    "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
)
_TABLES = text(
    "SELECT c.relname, c.relrowsecurity AND c.relforcerowsecurity,"
    " pg_has_role(current_user, c.relowner, 'MEMBER')"
    " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')"
    " AND c.relname = ANY(:tables)"
)


def isolation_problems(engine: Engine) -> list[str]:
    """Why tenants would not be kept apart on this database (empty: they would be).

    Nothing to check on SQLite: one venue, one tenant file, no roles.
    """
    if engine.dialect.name != "postgresql":
        return []
    with engine.connect() as conn:
        role, superuser, bypass = conn.execute(_ROLE).one()
        tables = conn.execute(_TABLES, {"tables": list(TENANT_TABLES)}).all()
    problems: list[str] = []
    fix = "connect as an ordinary role that owns nothing"
    if superuser:
        problems.append(
            f"DATABASE_URL: role {role} is a superuser, which bypasses row-level security; {fix}"
        )
    elif bypass:
        problems.append(f"DATABASE_URL: role {role} has BYPASSRLS; {fix}")
    owned = sorted(name for name, _secured, owns in tables if owns)
    if owned and not superuser:
        problems.append(
            f"DATABASE_URL: role {role} owns {', '.join(owned)} (an owner can switch "
            f"row-level security off); migrate as the owner, {fix}"
        )
    missing = sorted(set(TENANT_TABLES) - {name for name, _secured, _owns in tables})
    if missing:
        problems.append(
            f"database: tables {', '.join(missing)} are missing; run `scanctl server migrate` "
            "with the owner's DATABASE_URL"
        )
    unsecured = sorted(name for name, secured, _owns in tables if not secured)
    if unsecured:
        problems.append(
            f"database: row-level security is not enabled and forced on {', '.join(unsecured)}"
        )
    return problems
