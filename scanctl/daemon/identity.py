"""The gate device's identity on disk: who it is, its private keys, whom it trusts.

Kept in ``device.json`` in the data directory, created with mode 0600 (owner only) and
refused if anyone else can read it. The private keys never leave the device; the file
also names the backend's manifest signing keys the device trusts (learnt when it was
registered), so a manifest from anyone else is refused.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scanctl.manifests.errors import KeyMaterialError
from scanctl.manifests.sealing import DeviceKeys

__all__ = ["IDENTITY_FILE", "DeviceIdentity", "IdentityError"]

IDENTITY_FILE = "device.json"


class IdentityError(Exception):
    """The device identity is missing, unreadable or too widely readable."""


@dataclass(frozen=True)
class DeviceIdentity:
    """A registered device: ids, key pairs, and the manifest keys it trusts."""

    device_id: str
    tenant_id: str
    venue_id: str
    keys: DeviceKeys
    trusted_manifest_keys: tuple[str, ...] = field(default_factory=tuple)

    def save(self, data_dir: Path) -> Path:
        """Write device.json with mode 0600 (created so, never briefly wider)."""
        data_dir.mkdir(parents=True, exist_ok=True)
        path = data_dir / IDENTITY_FILE
        document: dict[str, Any] = {
            "device_id": self.device_id,
            "tenant_id": self.tenant_id,
            "venue_id": self.venue_id,
            "keys": self.keys.private_b64(),
            "trusted_manifest_keys": list(self.trusted_manifest_keys),
        }
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2)
        path.chmod(0o600)
        return path

    @classmethod
    def load(cls, data_dir: Path) -> DeviceIdentity:
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
            return cls(
                device_id=str(document["device_id"]),
                tenant_id=str(document["tenant_id"]),
                venue_id=str(document["venue_id"]),
                keys=DeviceKeys.from_private_b64(document["keys"]),
                trusted_manifest_keys=tuple(document.get("trusted_manifest_keys", ())),
            )
        except (ValueError, KeyError, TypeError, KeyMaterialError) as error:
            raise IdentityError(f"{path}: not a device identity ({error})") from None
