"""The gate mesh in words: the other gates this box shares admissions with, and how.

One line of what the mesh is doing, then one row per peer: its name (from the signed
manifest), its link (up, DOWN, not heard yet), when it was last heard, and how many of
its admissions this box still lacks — what a supervisor needs to know that the gate
next door sees this door's admissions, or does not.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from scanctl.tui.present import format_age

__all__ = ["mesh_panel", "mesh_summary"]


def mesh_summary(mesh: dict[str, Any], *, short: bool = False) -> Text:
    """``mesh 2/3 peers up``: green when every peer is heard, loud when one is not."""
    peers = mesh.get("peers") or []
    up = int(mesh.get("peers_up", 0))
    words = f"mesh {up}/{len(peers)}" + ("" if short else " peers up")
    if peers and up < len(peers):
        return Text(f"{words} ✘", style="bold yellow")
    return Text(words, style="green")


def mesh_panel(mesh: dict[str, Any] | None, now_ms: int) -> Group | Text:
    if not mesh:
        return Text(
            "off (no [mesh] table in gate.toml): this gate decides alone offline", style="dim"
        )
    head = mesh_summary(mesh)
    head.append(f"  on {mesh.get('listen')}", style="dim")
    refused = sum(int(n) for n in (mesh.get("refused") or {}).values())
    if refused:
        head.append(f"  ⚠ {refused} refused", style="bold red")
    table = Table.grid(padding=(0, 2))
    for column in ("peer", "link", "heard", "behind"):
        table.add_column(column, no_wrap=True)
    for peer in mesh.get("peers") or []:
        state = peer.get("state")
        link = {
            "up": Text("✔ up", style="green"),
            "down": Text("✘ DOWN", style="bold red"),
        }.get(str(state), Text("? not heard", style="dim"))
        heard = peer.get("last_heard_at_ms")
        lag = peer.get("lag_records")
        table.add_row(
            Text(str(peer.get("name") or peer.get("address")), style="bold"),
            link,
            "—" if heard is None else f"{format_age(now_ms - int(heard))} ago",
            "—" if lag is None else f"{lag} behind",
        )
    return Group(head, table)
