"""`scanctl device …`: register this machine as a gate device (its own keys), list, show, revoke.

Also home of what the gate-side commands (`manifest`, `reconcile`) share: finding the
device's data directory (``--data-dir``, or ``--config gate.toml``, or the usual
resolution) and a client that authenticates as the device.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from scanctl.cli.common import (
    CliError,
    ContextOption,
    JsonOption,
    Target,
    TokenOption,
    UrlOption,
    YesOption,
    backend_client,
    confirm,
    print_json,
    print_table,
    resolve,
    stdout,
    warn,
)
from scanctl.cli.contract import to_contract
from scanctl.cli.exit_codes import ExitCode
from scanctl.cli.output import OutputOption, QuietOption, print_ids

if TYPE_CHECKING:
    from scanctl.client import ScanctlClient
    from scanctl.daemon.identity import DeviceIdentity

__all__ = ["DataDirOption", "GateConfigOption", "GateSide", "app", "device_client", "gate_side"]

app = typer.Typer(
    help="Register this machine as a gate device; list, show and revoke devices.",
    no_args_is_help=True,
)

DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="The device's data directory (device.json, manifest.db, gate.db). Default:"
        " SCANCTL_DATA_DIR (as the daemon reads it; a warning when it replaces the gate.toml's),"
        " else the gate.toml's, the context's, the user data directory.",
        show_default=False,
    ),
]
GateConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="A gate.toml: its data_dir, backend and event_id are used unless given otherwise.",
        show_default=False,
        exists=True,
        dir_okay=False,
    ),
]


class DeviceKind(StrEnum):
    """Device types the backend knows."""

    MOBILE = "MOBILE"
    TABLET = "TABLET"
    SCANNER_GUN = "SCANNER_GUN"
    POS = "POS"


class KeyStoreChoice(StrEnum):
    """Where the device's private keys are kept."""

    AUTO = "auto"
    KEYRING = "keyring"
    FILE = "file"


@dataclass(frozen=True)
class GateSide:
    """Where a gate-side command acts: the backend, the data directory, the event."""

    target: Target
    url: str
    data_dir: Path
    event: str | None


def gate_side(
    *,
    context: str | None,
    url: str | None,
    data_dir: Path | None,
    config: Path | None,
    token: str | None = None,
) -> GateSide:
    """Flags > environment > gate.toml > context > defaults."""
    target = resolve(context=context, url=url, token=token)
    chosen_url, chosen_dir, event = target.url, target.data_dir, target.event
    if config is not None:
        from scanctl.daemon.config import ConfigError, load_settings

        try:
            settings = load_settings(config)
        except ConfigError as error:
            raise CliError(f"{config}: {'; '.join(error.problems)}", ExitCode.USAGE) from None
        if target.sources.get("url") in ("default", None) or target.sources["url"].startswith(
            "context"
        ):
            chosen_url = settings.backend or chosen_url
        if target.sources.get("data_dir") in ("default", None) or target.sources[
            "data_dir"
        ].startswith("context"):
            chosen_dir = settings.data_dir
        event = event if target.sources.get("event", "none") != "none" else settings.event_id
        if data_dir is None:
            warn_if_environment_overrides(config)
    if data_dir is not None:
        chosen_dir = data_dir.expanduser()
    return GateSide(target, chosen_url, chosen_dir, event)


def warn_if_environment_overrides(config: Path) -> None:
    """Say so when SCANCTL_DATA_DIR replaces the gate.toml's data_dir.

    The daemon reads its settings with the ``SCANCTL_`` environment over the file, and
    the CLI must use the directory the daemon will use; but a SCANCTL_DATA_DIR exported
    for something else (the backend's data directory has the same name) silently moved
    a gate's manifest and journal elsewhere.
    """
    import tomllib

    environment = os.environ.get("SCANCTL_DATA_DIR")
    if not environment:
        return
    try:
        written = tomllib.loads(config.read_text(encoding="utf-8")).get("data_dir")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return  # the daemon's loader has reported what is wrong with the file
    if written and Path(written).expanduser() != Path(environment).expanduser():
        warn(
            f"SCANCTL_DATA_DIR={environment} replaces data_dir = {written!r} of {config}"
            " (as for the daemon); unset it, or pass --data-dir"
        )


def load_identity(data_dir: Path) -> DeviceIdentity:
    """The registered device in ``data_dir``; exit 2 with a hint when there is none."""
    from scanctl.daemon.identity import DeviceIdentity, IdentityError

    try:
        return DeviceIdentity.load(data_dir)
    except IdentityError as error:
        raise CliError(
            str(error), ExitCode.USAGE, hint="`scanctl device register … --data-dir DIR`"
        ) from None


def device_client(side: GateSide, identity: DeviceIdentity) -> ScanctlClient:
    """A client that authenticates as the device (short-lived JWTs it signs itself)."""
    from scanctl.client import DeviceAuth, RetryPolicy, ScanctlClient

    auth = DeviceAuth(
        identity.device_id, identity.tenant_id, identity.venue_id, identity.keys.signing
    )
    retry = RetryPolicy(attempts=3, total=15.0, wait_initial=0.2, wait_max=2.0)
    return ScanctlClient(side.url, auth, retry=retry, timeout=60.0)


def _tenant_of(target: Target, backend: ScanctlClient) -> str:
    from scanctl.cli.credentials import token_claims

    claims = token_claims(target.token) if target.token else None
    tenant = (claims or {}).get("tenantId")
    if isinstance(tenant, str) and tenant:
        return tenant
    if target.tenant:
        return target.tenant
    raise CliError(
        "cannot tell the tenant from the token", ExitCode.USAGE, hint="set SCANCTL_TENANT"
    )


@app.command("register")
def register(
    name: Annotated[str, typer.Option("--name", help="A name people recognise (max 100).")],
    venue: Annotated[
        str | None,
        typer.Option("--venue", help="Venue id (default: the context's).", show_default=False),
    ] = None,
    kind: Annotated[
        DeviceKind, typer.Option("--type", help="What kind of hardware this is.")
    ] = DeviceKind.SCANNER_GUN,
    offline: Annotated[
        bool,
        typer.Option("--offline/--online-only", help="May pull manifests and scan offline."),
    ] = False,
    zone: Annotated[
        str | None, typer.Option("--zone", help="The zone it scans for.", show_default=False)
    ] = None,
    device_id: Annotated[
        str | None,
        typer.Option("--id", help="Device id (default: a new UUID).", show_default=False),
    ] = None,
    key_store: Annotated[
        KeyStoreChoice,
        typer.Option("--key-store", help="Where the private keys go (auto: keyring if usable)."),
    ] = KeyStoreChoice.AUTO,
    force: Annotated[
        bool, typer.Option("--force", help="Replace a device identity already in the data dir.")
    ] = False,
    data_dir: DataDirOption = None,
    config: GateConfigOption = None,
    context: ContextOption = None,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print only the new device's id.")
    ] = False,
) -> None:
    """Create this device's key pairs, register the public halves, save its identity.

    The private keys never leave this machine: they go to the OS keyring when one is
    usable, else into device.json (mode 0600) in the data directory, with a warning.

    JSON: {"deviceId", "tenantId", "venueId", "canScanOffline", "identity" (the path of
    device.json), "keys" ("keyring" or "file"), "manifestSigningKeyId"}.
    """
    from scanctl.daemon.identity import (
        IDENTITY_FILE,
        DeviceIdentity,
        IdentityError,
        check_data_dir,
        keyring_usable,
    )
    from scanctl.manifests import DeviceKeys

    side = gate_side(context=context, url=url, data_dir=data_dir, config=config, token=token)
    target = side.target
    venue_id = target.require("venue", venue)
    # Refused before the backend hears of the device: a registration whose private keys
    # cannot be kept would leave a device nobody can ever authenticate as.
    if key_store.value == "keyring" and not keyring_usable():
        raise CliError(
            "--key-store keyring: no usable OS keyring here; nothing was registered",
            ExitCode.USAGE,
            hint="use --key-store file (a 0600 file), or set up a keyring first",
        )
    try:
        check_data_dir(side.data_dir)
    except IdentityError as error:
        raise CliError(str(error), ExitCode.USAGE) from None
    if (side.data_dir / IDENTITY_FILE).exists() and not force:
        raise CliError(
            f"{side.data_dir / IDENTITY_FILE} already holds a device identity",
            ExitCode.USAGE,
            hint="use another --data-dir, or --force to replace it (revoke the old device)",
        )
    new_id = device_id or str(uuid.uuid4())
    keys = DeviceKeys.generate()
    body: dict[str, Any] = {
        "deviceId": new_id,
        "name": name,
        "type": kind.value,
        "venueId": venue_id,
        "canScanOffline": offline,
        "signingPublicKey": keys.signing_public_b64,
        "sealingPublicKey": keys.exchange_public_b64,
    }
    if zone:
        body["zone"] = zone
    with backend_client(replace(target, url=side.url)) as backend:
        tenant = _tenant_of(target, backend)
        registered = backend.register_device(body)
    trusted = registered.get("manifestSigningKey")
    identity = DeviceIdentity(
        device_id=str(registered.get("deviceId", new_id)),
        tenant_id=tenant,
        venue_id=str(registered.get("venueId", venue_id)),
        keys=keys,
        trusted_manifest_keys=(trusted,) if isinstance(trusted, str) else (),
        zone=zone or None,
    )
    try:
        path = identity.save(side.data_dir, key_store=key_store.value)
    except IdentityError as error:
        # Registered already: keep the keys in the 0600 file rather than lose them.
        path = identity.save(side.data_dir, key_store="file")
        warn(f"{error}; the device's private keys were written to {path} (mode 0600) instead")
    stored = DeviceIdentity.stored_in(side.data_dir)
    if stored == "file":
        warn(f"no usable OS keyring: the device's private keys are in {path} (mode 0600)")
    result = {
        "deviceId": identity.device_id,
        "tenantId": tenant,
        "venueId": identity.venue_id,
        "canScanOffline": offline,
        "identity": str(path),
        "keys": stored,
        "manifestSigningKeyId": registered.get("manifestSigningKeyId"),
    }
    if as_json:
        print_json(to_contract(result))
    elif quiet:
        print_ids([identity.device_id])
    else:
        stdout.print(f"Registered device {identity.device_id} ({name}) in venue {venue_id}.")
        stdout.print(f"Identity: {path} (private keys: {stored}).")


def _rows(devices: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [
        (
            d.get("deviceId"),
            d.get("name"),
            d.get("type"),
            d.get("venueId"),
            d.get("canScanOffline"),
            d.get("status"),
        )
        for d in devices
    ]


@app.command("list")
def list_devices(
    context: ContextOption = None,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
    quiet: QuietOption = False,
    output: OutputOption = None,
) -> None:
    """List the devices you may see.

    JSON: a list of {"deviceId", "name", "type", "venueId", "zone", "status",
    "canScanOffline", "registeredBy", "signingPublicKey", "sealingPublicKey", "createdAt",
    "updatedAt", "revokedAt"}.
    """
    with backend_client(resolve(context=context, url=url, token=token)) as backend:
        devices = backend.list_devices()
    if as_json:
        print_json(to_contract(devices))
    elif quiet:
        print_ids(d.get("deviceId") for d in devices)
    else:
        columns = ["id", "name", "type", "venue", "offline", "status"]
        print_table(columns, _rows(devices), output=output)


@app.command("show")
def show(
    device_id: Annotated[str, typer.Argument(help="The device id.")],
    context: ContextOption = None,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show one device.

    JSON: {"deviceId", "name", "type", "venueId", "zone", "status", "canScanOffline",
    "registeredBy", "signingPublicKey", "sealingPublicKey", "createdAt", "updatedAt",
    "revokedAt"}.
    """
    with backend_client(resolve(context=context, url=url, token=token)) as backend:
        device = backend.get_device(device_id)
    if as_json:
        print_json(to_contract(device))
    else:
        print_table(["field", "value"], sorted(to_contract(device).items()))


@app.command("revoke")
def revoke(
    device_id: Annotated[str, typer.Argument(help="The device id.")],
    yes: YesOption = False,
    context: ContextOption = None,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Revoke a device: from now on it gets no manifest and no call through.

    Asks first; without a terminal to answer, pass --yes (else exit 2). JSON: the
    device as `device show` prints it, with "status": "REVOKED" and "revokedAt".
    """
    confirm(f"Revoke device {device_id}?", yes=yes, nothing_done="nothing was revoked")
    with backend_client(resolve(context=context, url=url, token=token)) as backend:
        device = backend.revoke_device(device_id)
    if as_json:
        print_json(to_contract(device))
    else:
        stdout.print(f"Device {device_id} is {device.get('status', 'REVOKED')}.")
