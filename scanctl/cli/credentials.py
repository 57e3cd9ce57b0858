"""Where `scanctl login` keeps a context's token: the OS keyring, else a 0600 file.

The file fallback (``<config dir>/credentials/<context>.token``, directory 0700,
file 0600) is for headless boxes without a keyring service, as for device keys.
Whoever stores a token there is told so once, on stderr. Nothing here prints a token.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scanctl.cli.config_file import config_dir, validate_context_name

__all__ = [
    "KEYRING_SERVICE",
    "StoredToken",
    "delete_token",
    "keyring_problem",
    "load_token",
    "store_token",
    "token_claims",
    "token_expiry",
]

KEYRING_SERVICE = "scanctl"


@dataclass(frozen=True)
class StoredToken:
    """A token and where it is kept (``keyring`` or the file's path)."""

    token: str
    where: str


def _username(context: str) -> str:
    return f"context:{context}"


def _token_file(context: str) -> Path:
    return config_dir() / "credentials" / f"{validate_context_name(context)}.token"


_failures: list[str] = []
"""Why a keyring that looked usable failed when used (this process), for the warning."""


def _keyring_usable() -> bool:
    # Imported here: `scanctl.client` (httpx, the models) is not needed to start the CLI.
    from scanctl.client.keyring_probe import keyring_status

    status = keyring_status()
    if status.problem is not None and status.problem not in _failures:
        _failures.append(status.problem)
    return status.usable and not _failures


def _failed(exc: Exception) -> None:
    """A keyring call raised: from now on this process uses the file, and says why once."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    _failures.append(f"{type(exc).__name__}: {text}" if text else type(exc).__name__)


def keyring_problem() -> str | None:
    """Why the OS keyring could not be used, when one is set up but failed; else None."""
    _keyring_usable()
    return _failures[0] if _failures else None


def store_token(context: str, token: str) -> StoredToken:
    """Keep ``token`` for ``context``; in the keyring when one works, else in a 0600 file."""
    if _keyring_usable():
        import keyring

        try:
            keyring.set_password(KEYRING_SERVICE, _username(context), token)
        except Exception as exc:  # KeyringError, or D-Bus and friends failing their own way
            _failed(exc)
        else:
            _remove_file(context)  # a stale fallback copy must not outlive a re-login
            return StoredToken(token, "keyring")
    path = _token_file(context)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    # Created 0600 from the start: the token is never readable by others, not even briefly.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as fh:
        fh.write(token + "\n")
    temporary.chmod(0o600)
    temporary.replace(path)
    return StoredToken(token, str(path))


def load_token(context: str) -> StoredToken | None:
    """The stored token of ``context``: keyring first, then the file fallback."""
    if _keyring_usable():
        import keyring

        try:
            token = keyring.get_password(KEYRING_SERVICE, _username(context))
        except Exception as exc:
            _failed(exc)
            token = None
        if token:
            return StoredToken(token, "keyring")
    path = _token_file(context)
    try:
        token = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return StoredToken(token, str(path)) if token else None


def delete_token(context: str) -> list[str]:
    """Forget the token of ``context`` everywhere; the places it was removed from."""
    removed: list[str] = []
    if _keyring_usable():
        import keyring
        import keyring.errors

        try:
            keyring.delete_password(KEYRING_SERVICE, _username(context))
        except keyring.errors.PasswordDeleteError:  # nothing stored
            pass
        except Exception as exc:
            _failed(exc)
        else:
            removed.append("keyring")
    if _remove_file(context):
        removed.append(str(_token_file(context)))
    return removed


def _remove_file(context: str) -> bool:
    try:
        _token_file(context).unlink()
    except FileNotFoundError:
        return False
    return True


def token_claims(token: str) -> dict[str, Any] | None:
    """The claims of a JWT, signature NOT checked (the backend does that): for messages only."""
    import jwt

    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    return claims if isinstance(claims, dict) else None


def token_expiry(token: str) -> datetime | None:
    """When a JWT expires (its ``exp``), or None for other tokens."""
    exp = (token_claims(token) or {}).get("exp")
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        return None
    return datetime.fromtimestamp(exp, tz=UTC)
