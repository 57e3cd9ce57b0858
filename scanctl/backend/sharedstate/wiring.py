"""`shared_state_for(settings, cache)`: the SharedState of REDIS_URL, wired to the catalog cache."""

from __future__ import annotations

from scanctl.backend.scanning.cache import CatalogCache
from scanctl.backend.settings import Settings
from scanctl.backend.sharedstate import Invalidation, SharedLevel, SharedState
from scanctl.backend.sharedstate.values import CODECS

__all__ = ["shared_state_for"]


def shared_state_for(settings: Settings, cache: CatalogCache) -> SharedState | None:
    """None without REDIS_URL: one instance, nothing to share."""
    if settings.redis_url is None:
        return None

    def apply(message: Invalidation) -> None:
        if message.kind == "event":
            cache.invalidate_event(message.tenant_id, message.target)
        elif message.kind == "device":
            cache.invalidate_device(message.tenant_id, message.target)
        else:
            cache.invalidate_tenant(message.tenant_id)

    shared = SharedState(
        settings.redis_url,
        prefix=settings.redis_key_prefix,
        timeout_seconds=settings.redis_timeout_seconds,
        apply=apply,
        flush=cache.flush,
        # Rate limits elsewhere (RATE_LIMIT_STORAGE_URL): `RateLimits` counts scans too.
        counts_scans=settings.rate_limit_storage_url in (None, settings.redis_url),
    )
    caches = cache.caches()
    for name, codec in CODECS.items():
        caches[name].second = SharedLevel(shared.link, shared.keys, name, codec, cache.ttl_ms)
    return shared
