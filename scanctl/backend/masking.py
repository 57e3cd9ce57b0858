"""Settings as they may be shown: every secret masked, passwords inside URLs and DSNs too.

`scanctl server check-config` prints the settings; a URL (`DATABASE_URL`, `REDIS_URL`,
`RATE_LIMIT_STORAGE_URL`, the upstream services…) may carry a password in its user
part (``redis://:pw@host``), in its query (``?password=pw``) or, for a libpq keyword
DSN, as ``password=pw``. All of them are shown as ``***``.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from pydantic import BaseModel

__all__ = ["MASK", "mask_url", "masked_settings"]

MASK = "***"

_SECRET_WORDS = ("password", "passwd", "pwd", "secret", "token", "key", "auth", "credential")
_KEYWORD_DSN = re.compile(
    r"(?P<name>\b(?:password|passwd|pwd|sslpassword)\s*=\s*)(?P<value>'(?:[^'\\]|\\.)*'|\S+)",
    re.IGNORECASE,
)


def _secret_name(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in _SECRET_WORDS)


def mask_url(text: str) -> str:
    """``text`` with the password of a URL, secret query values and DSN passwords masked."""
    masked = _KEYWORD_DSN.sub(lambda m: m.group("name") + MASK, text)
    if "://" not in masked:
        return masked
    try:
        parts = urlsplit(masked)
        password = parts.password
    except ValueError:
        return _mask_userinfo(masked)
    # Edited in place, never re-assembled: urlunsplit would rewrite `sqlite:////x`.
    if password is not None:
        userinfo = parts.netloc.rpartition("@")[0]
        user = userinfo.partition(":")[0]
        masked = masked.replace(f"//{userinfo}@", f"//{user}:{MASK}@", 1)
    if parts.query:
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        if any(_secret_name(name) for name, _ in pairs):
            query = urlencode([(n, MASK if _secret_name(n) else v) for n, v in pairs], safe="*/:")
            masked = masked.replace(f"?{parts.query}", f"?{query}", 1)
    return masked


def _mask_userinfo(text: str) -> str:
    """A URL urlsplit refuses: mask whatever sits between the first ':' and '@' of it."""
    return re.sub(r"(://[^/:@]*:)[^@/]*@", rf"\g<1>{MASK}@", text)


def masked_settings(settings: BaseModel, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The settings by upper-case name as JSON values, secrets and URL passwords masked."""
    values = {name.upper(): value for name, value in settings.model_dump(mode="json").items()}
    values.update(extra or {})
    return {name: _masked(name, value) for name, value in values.items()}


def _masked(name: str, value: Any) -> Any:
    if isinstance(value, str):
        if _secret_name(name) and not name.endswith(("_URL", "_PATH", "_FILE")):
            return MASK if value else value
        return mask_url(value)
    if isinstance(value, list):
        return [_masked(name, item) for item in value]
    if isinstance(value, dict):
        return {key: _masked(str(key).upper(), item) for key, item in value.items()}
    return value
