"""The files of a gate's data directory: one place names them for daemon, CLI and demo."""

from __future__ import annotations

__all__ = ["JOURNAL_FILE", "MANIFEST_FILE", "SOCKET_FILE"]

JOURNAL_FILE = "gate.db"
"""Scan journal, passes, nonces and outbox state (scanctl.daemon.journal)."""
MANIFEST_FILE = "manifest.db"
"""The held manifest (scanctl.manifests.ManifestStore); apart from the journal so that
applying a large manifest never holds up a journal commit."""
SOCKET_FILE = "daemon.sock"
"""The local API's Unix socket, unless gate.toml names another."""
