"""`scanctl reconcile …`: push this device's journaled offline scans; show what is pending.

The push reads ``gate.db`` (the daemon's journal) in the data directory, sends unsent
scans in batches as the device, and marks a batch sent only after the backend's 2xx:
an interrupted push is simply run again (the backend is idempotent on scan ids).
"""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
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
from scanctl.daemon.layout import JOURNAL_FILE

if TYPE_CHECKING:
    from scanctl.daemon.journal import Journal, OutboxRow

__all__ = ["app"]


app = typer.Typer(
    help="Push this device's offline scans to the backend; see what is pending or in conflict.",
    no_args_is_help=True,
)

BatchOption = Annotated[
    int,
    typer.Option(
        "--batch", min=1, max=10_000, help="Scans per request (the backend takes 10,000)."
    ),
]


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _iso(ms: int) -> str:
    return rfc3339(ms)


def _journal_path(data_dir: Path) -> Path:
    path = data_dir / JOURNAL_FILE
    if not path.exists():
        raise CliError(
            f"no journal at {path}",
            ExitCode.USAGE,
            hint="pass the gate's --data-dir or --config gate.toml",
        )
    return path


def _conflict_rows(result: dict[str, Any], scan: OutboxRow | None) -> list[dict[str, Any]]:
    rows = []
    for other in result.get("conflicts") or [{}]:
        rows.append(
            {
                "scanId": result.get("id"),
                "ticketId": result.get("ticketId") or (scan.ticket_id if scan else None),
                "gate": scan.gate if scan else None,
                "scannedAt": _iso(scan.scanned_at_ms) if scan else None,
                "otherScanId": other.get("scanId"),
                "otherDevice": other.get("deviceId"),
                "otherGate": other.get("gate"),
                "otherScannedAt": other.get("scannedAt"),
            }
        )
    return rows


def _print_conflicts(conflicts: list[dict[str, Any]]) -> None:
    print_table(
        ["ticket", "gate", "scanned at", "other device", "other gate", "other scanned at"],
        [
            (
                c["ticketId"],
                c["gate"],
                c["scannedAt"],
                c["otherDevice"],
                c["otherGate"],
                c["otherScannedAt"],
            )
            for c in conflicts
        ],
        title="Conflicts: admitted more often than the policy allows",
    )


def _send(
    backend: Any, device_id: str, rows: list[OutboxRow]
) -> tuple[dict[str, str], list[dict[str, Any]], Counter[str]]:
    from scanctl.daemon.sync import outbox_payload, sent_statuses

    answer = backend.reconcile(device_id, [outbox_payload(row) for row in rows])
    by_id = {row.scan_id: row for row in rows}
    statuses = sent_statuses(rows, answer)
    conflicts: list[dict[str, Any]] = []
    counts: Counter[str] = Counter()
    for result in answer.get("results", []):
        if not isinstance(result, dict) or str(result.get("id")) not in by_id:
            continue
        counts[statuses[str(result["id"])]] += 1
        if statuses[str(result["id"])] == "conflict":
            conflicts.extend(_conflict_rows(result, by_id.get(str(result["id"]))))
    return statuses, conflicts, counts


_OUTCOMES = ("accepted", "duplicate", "conflict", "rejected")


@app.command("push")
def push(
    batch: BatchOption = 1000,
    data_dir: DataDirOption = None,
    config: GateConfigOption = None,
    context: ContextOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Push the journal's unsent scans in batches; print accepted / duplicates / conflicts.

    Exit status 1 when the backend reports conflicts (tickets admitted more often,
    across gates, than the policy allows).

    JSON: {"pushed", "summary": {"accepted", "duplicate", "conflict", "rejected"},
    "conflicts": [the backend's conflict records]}.
    """
    side = gate_side(context=context, url=url, data_dir=data_dir, config=config)
    identity = load_identity(side.data_dir)
    if not (side.data_dir / JOURNAL_FILE).exists():
        # A registered gate whose daemon never ran here has scanned nothing: not an error.
        if as_json:
            print_json({"pushed": 0, "summary": dict.fromkeys(_OUTCOMES, 0), "conflicts": []})
        else:
            stdout.print(f"Pushed 0 scans: no scans journaled in {side.data_dir} yet.")
        return
    journal = _open_journal(_journal_path(side.data_dir))
    totals: Counter[str] = Counter()
    conflicts: list[dict[str, Any]] = []
    try:
        pending = journal.unsent_count()
        with (
            device_client(side, identity) as backend,
            progress("Pushing scans", enabled=not as_json) as bar,
        ):
            task = bar.add_task("push", total=pending)
            while True:
                rows = journal.unsent(limit=batch)
                if not rows:
                    break
                statuses, found, counts = _send(backend, identity.device_id, rows)
                journal.mark_sent(statuses, _now_ms())  # only after the 2xx
                totals.update(counts)
                conflicts.extend(found)
                bar.advance(task, len(rows))
    finally:
        journal.close()
    summary = {k: totals.get(k, 0) for k in _OUTCOMES}
    if as_json:
        report = {"pushed": sum(totals.values()), "summary": summary, "conflicts": conflicts}
        print_json(to_contract(report))
    else:
        stdout.print(
            f"Pushed {sum(totals.values())} scans: {summary['accepted']} accepted, "
            f"{summary['duplicate']} duplicates, {summary['conflict']} conflicts"
            + (f", {summary['rejected']} rejected" if summary["rejected"] else "")
            + "."
        )
        if conflicts:
            _print_conflicts(conflicts)
    if summary["conflict"]:
        raise typer.Exit(int(ExitCode.FAILED))


def _local_status(path: Path) -> dict[str, Any]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        counts = dict(
            conn.execute(
                "SELECT coalesce(sync_result, 'pending'), count(*) FROM scans"
                " WHERE sent_at_ms IS NOT NULL GROUP BY sync_result"
            ).fetchall()
        )
        pending, oldest = conn.execute(
            "SELECT count(*), min(scanned_at_ms) FROM scans WHERE sent_at_ms IS NULL"
        ).fetchone()
        conflicts = conn.execute(
            "SELECT scan_id, ticket_id, gate, scanned_at_ms FROM scans"
            " WHERE sync_result = 'conflict' ORDER BY scanned_at_ms"
        ).fetchall()
    return {
        "pending": pending,
        "oldestPendingScannedAt": None if oldest is None else _iso(oldest),
        "sent": counts,
        "conflicts": [
            {"scanId": s, "ticketId": t, "gate": g, "scannedAt": _iso(at)}
            for s, t, g, at in conflicts
        ],
    }


@app.command("status")
def status(
    check_backend: Annotated[
        bool,
        typer.Option(
            "--check-backend",
            help="Ask the backend whether admissions it accepted earlier are now in conflict"
            " (scans pushed later by other gates); records the answers in the journal.",
        ),
    ] = False,
    batch: BatchOption = 1000,
    data_dir: DataDirOption = None,
    config: GateConfigOption = None,
    context: ContextOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """What is pending in the journal, what the backend answered, and the conflicts.

    JSON: {"pending", "oldestPendingScannedAt", "sent": {result: count}, "conflicts":
    [{"scanId", "ticketId", "gate", "scannedAt"}]}.
    """
    side = gate_side(context=context, url=url, data_dir=data_dir, config=config)
    path = _journal_path(side.data_dir)
    if check_backend:
        _recheck(side, path, batch)
    try:
        report = _local_status(path)
    except sqlite3.Error as error:
        raise CliError(f"cannot read the journal {path}: {error}", ExitCode.FAILED) from None
    if as_json:
        print_json(report)
        return
    sent = report["sent"]
    stdout.print(
        f"{report['pending']} scans pending"
        + (f" (oldest scanned {report['oldestPendingScannedAt']})" if report["pending"] else "")
        + f"; sent: {sent.get('accepted', 0)} accepted, {sent.get('duplicate', 0)} duplicates, "
        f"{sent.get('conflict', 0)} conflicts."
    )
    if report["conflicts"]:
        print_table(
            ["ticket", "gate", "scanned at", "scan id"],
            [(c["ticketId"], c["gate"], c["scannedAt"], c["scanId"]) for c in report["conflicts"]],
            title="Scans in conflict",
        )


def _open_journal(path: Path) -> Journal:
    """The gate's journal; a damaged file is one line (exit 1), not a traceback."""
    from scanctl.daemon.journal import Journal, JournalError

    try:
        return Journal(path)
    except JournalError as error:
        raise CliError(str(error), ExitCode.FAILED) from None


def _recheck(side: Any, path: Path, batch: int) -> None:
    """Re-send accepted admissions (idempotent: the backend stores nothing new) so that
    those that other gates' later uploads put in conflict come back as conflicts."""
    identity = load_identity(side.data_dir)
    journal = _open_journal(path)
    try:
        rows = journal.accepted_admissions()
        if not rows:
            return
        with device_client(side, identity) as backend:
            for start in range(0, len(rows), batch):
                chunk = rows[start : start + batch]
                statuses, _found, _counts = _send(backend, identity.device_id, chunk)
                changed = {k: v for k, v in statuses.items() if v == "conflict"}
                if changed:
                    journal.mark_sent(changed, _now_ms())
    finally:
        journal.close()
