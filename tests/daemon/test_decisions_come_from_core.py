"""The daemon makes no Decision of its own: its decisions come from core (decide(),
deny() for a refusal before deciding, decision_from_wire for the backend's answer)."""

from __future__ import annotations

import ast
from pathlib import Path

import scanctl.daemon

DAEMON = Path(scanctl.daemon.__file__).parent


def test_no_module_of_the_daemon_builds_a_decision_by_hand() -> None:
    hand_made = [
        f"{path.name}:{node.lineno}"
        for path in sorted(DAEMON.glob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", getattr(node.func, "attr", None)) == "Decision"
    ]
    assert hand_made == []
