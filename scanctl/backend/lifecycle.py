"""The service's life: starting, ready, draining — what `/ready` reports."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Lifecycle", "Phase"]


class Phase(StrEnum):
    """Where the service is in its life. Only READY serves `/ready` with 200."""

    STARTING = "starting"
    READY = "ready"
    DRAINING = "draining"
    STOPPED = "stopped"


class Lifecycle:
    """Mutable phase shared by the lifespan, the signal handler and `/ready`."""

    def __init__(self) -> None:
        self.phase = Phase.STARTING

    @property
    def ready(self) -> bool:
        """Whether new work should be sent here."""
        return self.phase is Phase.READY

    def mark_ready(self) -> None:
        """Start-up finished."""
        if self.phase is Phase.STARTING:
            self.phase = Phase.READY

    def start_draining(self) -> None:
        """A shutdown began: load balancers should stop sending work."""
        if self.phase in (Phase.STARTING, Phase.READY):
            self.phase = Phase.DRAINING

    def mark_stopped(self) -> None:
        """Everything is closed."""
        self.phase = Phase.STOPPED
