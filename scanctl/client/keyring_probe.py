"""Is there an OS keyring to keep secrets in? One check for people's tokens and device keys.

Both the CLI (`scanctl login` tokens) and the gate daemon (device private keys) keep
secrets in the OS keyring when one works, and in a 0600 file otherwise. A keyring
that is *configured* but cannot work (SecretService without a D-Bus session, a
``PYTHON_KEYRING_BACKEND`` naming a missing module) makes ``keyring.get_keyring()``
raise ``RuntimeError`` and friends rather than ``KeyringError``; asked on every
command, that was a 60-line traceback. Here any such failure means "no keyring", with
the reason kept for the one warning the caller prints.

It lives in `scanctl.client` because both the CLI and the daemon import the client;
`keyring` itself is imported on first use (it costs ~70 ms at start).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["KeyringStatus", "keyring_status", "keyring_usable"]


@dataclass(frozen=True)
class KeyringStatus:
    """Whether a keyring is usable; ``problem`` says why not when one is set up but broken."""

    usable: bool
    problem: str | None = None


def _describe(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def keyring_status() -> KeyringStatus:
    """Ask the keyring library which backend it would use; never raises."""
    try:
        import keyring
        from keyring.backends import fail, null
    except ImportError as exc:  # pragma: no cover - keyring is a dependency
        return KeyringStatus(False, _describe(exc))
    try:
        backend = keyring.get_keyring()
    except Exception as exc:  # a broken configuration is "no keyring", said once
        return KeyringStatus(False, _describe(exc))
    if isinstance(backend, fail.Keyring | null.Keyring):
        return KeyringStatus(False)  # none here (a headless box): not a problem
    return KeyringStatus(True)


def keyring_usable() -> bool:
    """Whether an OS keyring backend that can store secrets exists here."""
    return keyring_status().usable
