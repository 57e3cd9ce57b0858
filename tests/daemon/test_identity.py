"""device.json: the registered zone is kept, and files written before it existed still load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scanctl.daemon.identity import IDENTITY_FILE, DeviceIdentity, IdentityError
from scanctl.manifests import DeviceKeys


def identity(zone: str | None) -> DeviceIdentity:
    return DeviceIdentity("dev-1", "tenant-1", "venue-1", DeviceKeys.generate(), ("k",), zone)


def test_the_registered_zone_is_kept(tmp_path: Path) -> None:
    identity("GA").save(tmp_path)
    assert DeviceIdentity.load(tmp_path).zone == "GA"


def test_a_file_without_a_zone_loads_as_unzoned(tmp_path: Path) -> None:
    identity(None).save(tmp_path)
    document = json.loads((tmp_path / IDENTITY_FILE).read_text())
    assert "zone" not in document  # as files written before the field existed
    assert DeviceIdentity.load(tmp_path).zone is None


def test_a_zone_that_is_not_text_is_refused(tmp_path: Path) -> None:
    path = identity(None).save(tmp_path)
    document = json.loads(path.read_text())
    path.write_text(json.dumps({**document, "zone": 7}))
    with pytest.raises(IdentityError, match="not a device identity"):
        DeviceIdentity.load(tmp_path)
