"""Reusable widgets of the supervisor TUI; each keeps its own style in DEFAULT_CSS."""

from scanctl.tui.widgets.alert_strip import AlertStrip
from scanctl.tui.widgets.gate_card import GateCard
from scanctl.tui.widgets.link_bar import LinkBar
from scanctl.tui.widgets.recent import RecentDecisions
from scanctl.tui.widgets.totals import TotalsBar

__all__ = ["AlertStrip", "GateCard", "LinkBar", "RecentDecisions", "TotalsBar"]
