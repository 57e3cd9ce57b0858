"""Names of the Redis keys and channel, and the check of a REDIS_URL (no connection made)."""

from __future__ import annotations

__all__ = ["KeySpace", "redis_url_problem"]


def redis_url_problem(url: str) -> str | None:
    """Why the URL cannot name a Redis server, or None. Nothing is connected."""
    try:
        import redis
    except ImportError:
        return "its client is not installed (pip install 'scanctl[redis]')"
    try:
        redis.ConnectionPool.from_url(url)
    except (ValueError, TypeError) as exc:
        return f"not a Redis URL ({exc})"
    return None


class KeySpace:
    """Every key of one deployment starts with its prefix (REDIS_KEY_PREFIX).

    The tenant id comes from a token and may contain any character, so it is written
    with its length first: no tenant's key can spell another tenant's.
    """

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.channel = f"{prefix}invalidate"
        self.limits = f"{prefix}limits"

    def nonce(self, tenant_id: str, nonce: str) -> str:
        """A rotating code's nonce, claimed once."""
        return f"{self.prefix}nonce:{len(tenant_id)}:{tenant_id}:{nonce}"

    def admitted(self, tenant_id: str, event_id: str, ticket_id: str) -> str:
        """The last admission of a ticket, kept for the duplicate window."""
        return f"{self.prefix}admitted:{len(tenant_id)}:{tenant_id}:{event_id}:{ticket_id}"

    def catalog_generation(self, tenant_id: str, event_id: str) -> str:
        """Generation of an event's cached catalog data, bumped by every write to it."""
        return f"{self.prefix}gen:{len(tenant_id)}:{tenant_id}:{event_id}"

    def catalog_value_prefix(self, tenant_id: str, event_id: str) -> str:
        """Start of the keys of an event's cached values; the generation and field follow."""
        return f"{self.prefix}cat:{len(tenant_id)}:{tenant_id}:{event_id}:"

    def scan_rate(self, tenant_id: str, unit: str, per_minute: int) -> tuple[str, str]:
        """The previous and current window of a lane's scan rate limit (`rate_limit_unit`)."""
        current = f"{self.prefix}rate:{len(tenant_id)}:{tenant_id}:{unit}:{per_minute}"
        return f"{current}/-1", current
