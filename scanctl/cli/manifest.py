"""`scanctl manifest …`: pull this device's signed offline manifest, show it, verify it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from scanctl.cli.common import (
    CliError,
    ContextOption,
    JsonOption,
    UrlOption,
    print_json,
    print_table,
    progress,
    stdout,
)
from scanctl.cli.contract import to_contract
from scanctl.cli.device import (
    DataDirOption,
    GateConfigOption,
    device_client,
    gate_side,
    load_identity,
)
from scanctl.cli.exit_codes import ExitCode
from scanctl.cli.times import rfc3339
from scanctl.daemon.layout import MANIFEST_FILE

if TYPE_CHECKING:
    from scanctl.manifests import ManifestStore, ManifestVerifier

__all__ = ["app"]


app = typer.Typer(
    help="This device's offline manifest: pull it (verified), show it, verify it.",
    no_args_is_help=True,
)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _age(ms: int) -> str:
    seconds = abs(ms) // 1000
    text = (
        f"{seconds // 3600} h {seconds % 3600 // 60} min"
        if seconds >= 3600
        else (f"{seconds // 60} min {seconds % 60} s")
    )
    return text if ms >= 0 else f"in {text}"


@app.command("pull")
def pull(
    event: Annotated[
        str | None,
        typer.Argument(
            help="Event id (default: the gate.toml's or the context's).", show_default=False
        ),
    ] = None,
    full: Annotated[
        bool, typer.Option("--full", help="Pull a full manifest, not a delta.")
    ] = False,
    data_dir: DataDirOption = None,
    config: GateConfigOption = None,
    context: ContextOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Pull the event's manifest as this device, verify it, and store it in manifest.db.

    When a manifest of the event is held, only the changes since it are pulled (a
    delta). A manifest that does not verify never replaces the held one.

    JSON: {"eventId", "sequence", "delta", "baseSequence", "entries", "tickets",
    "validUntil", "bytes", "path"}.
    """
    from scanctl.daemon.manifest_refresh import ManifestRefresh
    from scanctl.manifests import DeltaBaseMismatch, ManifestRefused, ManifestVerifier, SealError

    side = gate_side(context=context, url=url, data_dir=data_dir, config=config)
    event_id = side.target.require("event", event or side.event, flag="EVENT")
    identity = load_identity(side.data_dir)
    if not identity.trusted_manifest_keys:
        raise CliError(
            "the device trusts no manifest signing key",
            ExitCode.USAGE,
            hint="register the device again (the registration names the backend's key)",
        )
    verifier = ManifestVerifier(identity.trusted_manifest_keys)
    with (
        _held_store(side.data_dir / MANIFEST_FILE, verifier, reset=full) as store,
        device_client(side, identity) as backend,
        progress("Pulling manifest", enabled=not as_json) as bar,
    ):
        task = bar.add_task("pull", total=3)
        refresh = ManifestRefresh(store, identity, event_id)
        pull_from = refresh.since(full=full)
        wire = backend.pull_manifest(event_id, device_id=identity.device_id, since=pull_from)
        bar.advance(task)
        try:
            try:
                verified = refresh.apply(wire, now_ms=_now_ms())
            except DeltaBaseMismatch:
                wire = backend.pull_manifest(event_id, device_id=identity.device_id)
                verified = refresh.apply(wire, now_ms=_now_ms())
            bar.advance(task)
        except (ManifestRefused, SealError) as error:
            raise CliError(f"manifest refused, the held one is kept: {error}") from None
        bar.advance(task)
        header = verified.header
        result = {
            "eventId": header.event_id,
            "sequence": header.sequence,
            "delta": header.is_delta,
            "baseSequence": header.base_sequence,
            "entries": len(verified.manifest.entries),
            "tickets": len(store),
            "validUntil": rfc3339(header.valid_until_ms),
            "bytes": len(wire),
            "path": str(side.data_dir / MANIFEST_FILE),
        }
    if as_json:
        print_json(result)
        return
    kind = f"delta on {header.base_sequence}" if header.is_delta else "full manifest"
    stdout.print(
        f"Pulled {kind} for event {header.event_id}: sequence {header.sequence}, "
        f"{result['entries']} entries, {result['tickets']} tickets held, "
        f"valid for {_age(header.valid_until_ms - _now_ms())}."
    )


def _held_store(path: Path, verifier: ManifestVerifier, *, reset: bool) -> ManifestStore:
    """The store, checked at rest; one that fails the check is cleared for a --full pull."""
    from scanctl.manifests import ManifestStore, ManifestStoreError

    try:
        return ManifestStore(path, verifier=verifier)
    except ManifestStoreError as error:
        if not reset:
            raise CliError(str(error), ExitCode.FAILED) from None
    try:
        store = ManifestStore(path)
    except ManifestStoreError:
        path.unlink()  # unreadable even without checking: nothing in it is worth keeping
        store = ManifestStore(path)
    store.clear()
    return store


def _summary(data_dir: Path) -> dict[str, Any]:
    from scanctl.manifests import ManifestStore, ManifestStoreError

    path = data_dir / MANIFEST_FILE
    if not path.exists():
        return {"held": False, "path": str(path)}
    try:
        with ManifestStore(path) as store:
            summary = store.summary(_now_ms())
    except ManifestStoreError as error:
        raise CliError(str(error), ExitCode.FAILED) from None
    summary["path"] = str(path)
    return summary


@app.command("show")
def show(
    data_dir: DataDirOption = None,
    config: GateConfigOption = None,
    context: ContextOption = None,
    as_json: JsonOption = False,
) -> None:
    """The held manifest: event, sequence, validity, age, tickets by status.

    JSON: {"held", "path"} and, when one is held, {"tenantId", "venueId", "eventId",
    "deviceId", "sequence", "signingKeyId", "issuedAt", "validUntil", "ageMs", "stale",
    "tickets", "byStatus": {STATUS: count}}.
    """
    side = gate_side(context=context, url=None, data_dir=data_dir, config=config)
    summary = _summary(side.data_dir)
    if as_json:
        print_json(to_contract(summary))
        return
    if not summary["held"]:
        stdout.print(f"No manifest held in {summary['path']}.")
        return
    facts = [
        ("event", summary["event_id"]),
        ("tenant", summary["tenant_id"]),
        ("venue", summary["venue_id"]),
        ("device", summary["device_id"]),
        ("sequence", summary["sequence"]),
        ("signing key", summary["signing_key_id"]),
        ("age", _age(summary["age_ms"])),
        (
            "valid until",
            time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(summary["valid_until_ms"] / 1000)),
        ),
        ("stale", summary["stale"]),
        ("tickets", summary["tickets"]),
    ]
    print_table(["", ""], facts, title="Manifest")
    print_table(["status", "tickets"], sorted(summary["by_status"].items()))


@app.command("verify")
def verify(
    data_dir: DataDirOption = None,
    config: GateConfigOption = None,
    context: ContextOption = None,
    as_json: JsonOption = False,
) -> None:
    """Check the held manifest: present, signed by a trusted key, every ticket as it was
    signed (an edit of manifest.db is found), for this device, its event key opens,
    not stale. Exit 1 when any check fails.

    JSON: {"ok", "problems": [text], "path"}.
    """
    from scanctl.manifests import (
        KeyMaterialError,
        ManifestStore,
        ManifestStoreError,
        ManifestVerifier,
        SealError,
        open_event_keys,
    )

    side = gate_side(context=context, url=None, data_dir=data_dir, config=config)
    identity = load_identity(side.data_dir)
    problems: list[str] = []
    path = side.data_dir / MANIFEST_FILE
    header = None
    try:
        # Every ticket row is checked against the signed bytes it was applied from.
        verifier = ManifestVerifier(identity.trusted_manifest_keys)
        if path.exists():
            with ManifestStore(path, verifier=verifier) as store:
                header = store.header
    except (ManifestStoreError, KeyMaterialError) as error:
        problems.append(str(error))
    if header is None:
        if not problems:
            problems.append(f"no manifest held in {path}")
    else:
        if (header.tenant_id, header.venue_id, header.device_id) != (
            identity.tenant_id,
            identity.venue_id,
            identity.device_id,
        ):
            problems.append("issued for another tenant, venue or device")
        try:
            open_event_keys(header, identity.keys.exchange)
        except SealError as error:
            problems.append(str(error))
        if header.is_expired(_now_ms()):
            problems.append(f"stale: expired {_age(_now_ms() - header.valid_until_ms)} ago")
    if as_json:
        print_json({"ok": not problems, "problems": problems, "path": str(path)})
    elif not problems:
        assert header is not None
        stdout.print(
            f"Manifest OK: event {header.event_id}, sequence {header.sequence}, "
            f"valid for {_age(header.valid_until_ms - _now_ms())}."
        )
    if problems:
        if as_json:
            raise typer.Exit(int(ExitCode.FAILED))
        raise CliError("; ".join(problems), ExitCode.FAILED)
