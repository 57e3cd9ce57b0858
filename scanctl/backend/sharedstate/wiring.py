"""`shared_state_for`: the SharedState of REDIS_URL, wired to the catalog and upstream caches."""

from __future__ import annotations

from scanctl.backend.scanning.cache import CatalogCache
from scanctl.backend.settings import Settings
from scanctl.backend.sharedstate import Invalidation, SharedLevel, SharedState
from scanctl.backend.sharedstate.values import CODECS
from scanctl.backend.upstream import UpstreamCatalog

__all__ = ["shared_state_for"]


def shared_state_for(
    settings: Settings, cache: CatalogCache, upstream: UpstreamCatalog | None = None
) -> SharedState | None:
    """None without REDIS_URL: one instance, nothing to share."""
    if settings.redis_url is None:
        return None

    def apply(message: Invalidation) -> None:
        if message.kind == "event":
            cache.invalidate_event(message.tenant_id, message.target)
        elif message.kind == "device":
            cache.invalidate_device(message.tenant_id, message.target)
        elif message.kind == "upstream":
            if upstream is not None and upstream.serves(message.tenant_id):
                tickets = None if message.tickets is None else list(message.tickets)
                upstream.invalidate(message.tenant_id, message.target, tickets)
        else:
            cache.invalidate_tenant(message.tenant_id)

    def flush() -> None:
        cache.flush()
        if upstream is not None:
            upstream.expire_all()

    shared = SharedState(
        settings.redis_url,
        prefix=settings.redis_key_prefix,
        timeout_seconds=settings.redis_timeout_seconds,
        apply=apply,
        flush=flush,
        # Rate limits elsewhere (RATE_LIMIT_STORAGE_URL): `RateLimits` counts scans too.
        counts_scans=settings.rate_limit_storage_url in (None, settings.redis_url),
    )
    caches = cache.caches()
    for name, codec in CODECS.items():
        caches[name].second = SharedLevel(shared.link, shared.keys, name, codec, cache.ttl_ms)
    return shared
