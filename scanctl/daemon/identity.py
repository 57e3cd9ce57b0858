"""The gate device's identity on disk: who it is, its private keys, whom it trusts.

Kept in ``device.json`` in the data directory, created with mode 0600 (owner only) and
refused if anyone else can read it. The private keys never leave the device: they are
kept in the OS keyring when a usable one exists (``"keys": "keyring"`` in the file,
service ``scanctl-device``, user = the device id), else in the file itself. The file
also names the backend's manifest signing keys the device trusts (learnt when it was
registered), so a manifest from anyone else is refused.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from scanctl.client.keyring_probe import keyring_usable
from scanctl.manifests.errors import KeyMaterialError
from scanctl.manifests.sealing import DeviceKeys

__all__ = [
    "IDENTITY_FILE",
    "KEYRING_SERVICE",
    "DeviceIdentity",
    "IdentityError",
    "check_data_dir",
    "keyring_usable",
]

IDENTITY_FILE = "device.json"
KEYRING_SERVICE = "scanctl-device"
"""The keyring service device private keys are kept under (user name: the device id)."""

KeyStore = Literal["auto", "keyring", "file"]


def _keyring_store(device_id: str, keys: DeviceKeys) -> bool:
    import keyring
    import keyring.errors

    try:
        keyring.set_password(KEYRING_SERVICE, device_id, json.dumps(keys.private_b64()))
    except keyring.errors.KeyringError:
        return False
    return True


def _keyring_load(device_id: str, path: Path) -> DeviceKeys:
    import keyring
    import keyring.errors

    try:
        secret = keyring.get_password(KEYRING_SERVICE, device_id)
    except keyring.errors.KeyringError as error:
        raise IdentityError(
            f"{path}: the keyring holding the device keys failed ({error})"
        ) from None
    if secret is None:
        raise IdentityError(
            f"{path}: the device keys are in the OS keyring, but it has none for {device_id}"
        )
    try:
        return DeviceKeys.from_private_b64(json.loads(secret))
    except (ValueError, TypeError, KeyMaterialError) as error:
        raise IdentityError(f"{path}: the keyring entry is not device keys ({error})") from None


class IdentityError(Exception):
    """The device identity is missing, unreadable or too widely readable, or its data
    directory is one that others can write."""


_OTHERS_WRITE = stat.S_IWGRP | stat.S_IWOTH
_GATE_FILES = ("manifest.db", "gate.db", IDENTITY_FILE)


def check_data_dir(data_dir: Path) -> None:
    """Refuse a data directory (or a file of it) that anyone but its owner can write.

    Whoever can write there can swap the journal, the identity or the manifest's
    signed copies, so the gate would decide on what they put there: IdentityError
    naming the path and the `chmod` that fixes it. A directory not made yet is fine.
    """
    try:
        info = data_dir.stat()
    except FileNotFoundError:
        return
    except OSError as error:
        raise IdentityError(f"{data_dir}: cannot inspect the data directory ({error})") from None
    if info.st_mode & _OTHERS_WRITE:
        raise IdentityError(
            f"{data_dir}: the data directory is writable by others "
            f"(mode {stat.S_IMODE(info.st_mode):o}); run `chmod go-w {data_dir}`"
        )
    if info.st_uid not in (os.geteuid(), 0):
        raise IdentityError(
            f"{data_dir}: the data directory belongs to uid {info.st_uid}, not to this user"
        )
    for name in _GATE_FILES:
        for path in (data_dir / name, data_dir / f"{name}-wal", data_dir / f"{name}-shm"):
            try:
                mode = path.stat().st_mode
            except OSError:
                continue
            if mode & _OTHERS_WRITE:
                raise IdentityError(f"{path}: writable by others; run `chmod go-w {path}`")


@dataclass(frozen=True)
class DeviceIdentity:
    """A registered device: ids, key pairs, the manifest keys it trusts, and the zone it
    was registered to (``--zone``; None for a device whose lanes name their own)."""

    device_id: str
    tenant_id: str
    venue_id: str
    keys: DeviceKeys
    trusted_manifest_keys: tuple[str, ...] = field(default_factory=tuple)
    zone: str | None = None

    def save(self, data_dir: Path, *, key_store: KeyStore = "file") -> Path:
        """Write device.json with mode 0600 (created so, never briefly wider).

        ``key_store``: "file" keeps the private keys in device.json; "keyring" puts them
        in the OS keyring (IdentityError if that fails); "auto" uses the keyring when a
        usable one exists, else the file. `stored_in` tells which was used.
        """
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        check_data_dir(data_dir)
        path = data_dir / IDENTITY_FILE
        keys: Any = self.keys.private_b64()
        if key_store != "file" and (key_store == "keyring" or keyring_usable()):
            if _keyring_store(self.device_id, self.keys):
                keys = "keyring"
            elif key_store == "keyring":
                raise IdentityError("the OS keyring refused the device keys")
        document: dict[str, Any] = {
            "device_id": self.device_id,
            "tenant_id": self.tenant_id,
            "venue_id": self.venue_id,
            "keys": keys,
            "trusted_manifest_keys": list(self.trusted_manifest_keys),
        }
        if self.zone is not None:
            document["zone"] = self.zone
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2)
        path.chmod(0o600)
        return path

    @staticmethod
    def stored_in(data_dir: Path) -> str:
        """Where the private keys of the identity in ``data_dir`` are: "keyring" or "file"."""
        try:
            document = json.loads((data_dir / IDENTITY_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return "file"
        return "keyring" if document.get("keys") == "keyring" else "file"

    @classmethod
    def load(cls, data_dir: Path) -> DeviceIdentity:
        """The identity in ``data_dir`` (IdentityError: missing, unreadable, too open)."""
        check_data_dir(data_dir)
        path = data_dir / IDENTITY_FILE
        try:
            mode = path.stat().st_mode
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise IdentityError(
                f"{path}: no device identity (run `scanctl device register` first)"
            ) from None
        except OSError as error:
            raise IdentityError(f"{path}: cannot read ({error.strerror})") from None
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise IdentityError(f"{path}: readable by others; run `chmod 600 {path}`")
        try:
            document = json.loads(text)
            device_id = str(document["device_id"])
            if document["keys"] == "keyring":
                keys = _keyring_load(device_id, path)
            else:
                keys = DeviceKeys.from_private_b64(document["keys"])
            return cls(
                device_id=device_id,
                tenant_id=str(document["tenant_id"]),
                venue_id=str(document["venue_id"]),
                keys=keys,
                trusted_manifest_keys=tuple(document.get("trusted_manifest_keys", ())),
                zone=_optional_text(document.get("zone")),
            )
        except (ValueError, KeyError, TypeError, KeyMaterialError) as error:
            raise IdentityError(f"{path}: not a device identity ({error})") from None


def _optional_text(value: object) -> str | None:
    """An optional text field of device.json (absent in files older than the field)."""
    if value is None or isinstance(value, str):
        return value
    raise ValueError(f"expected text, not {value!r}")
