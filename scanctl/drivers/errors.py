"""The one exception tree of scanctl.drivers.

::

    DriverError                    anything a driver raises on purpose
    ├── DriverConfigError          bad constructor parameters (also a ValueError)
    │   └── UnknownLayoutError     a keyboard layout we have no keymap for
    └── DeviceUnavailableError     the device cannot be opened right now (the readers retry)
        └── DeviceNotFoundError    no device matches the selector (path, VID:PID)

Readers never raise for bad input (noise, over-long or partial frames): those are counted,
see ``DriverCounters``. They only raise ``DriverConfigError`` at construction time.
"""

from __future__ import annotations

__all__ = [
    "DeviceNotFoundError",
    "DeviceUnavailableError",
    "DriverConfigError",
    "DriverError",
    "UnknownLayoutError",
]


class DriverError(Exception):
    """Base class of every error scanctl.drivers raises on purpose."""


class DriverConfigError(DriverError, ValueError):
    """A driver was given parameters it cannot work with."""


class UnknownLayoutError(DriverConfigError):
    """A keyboard layout was named for which there is no keymap."""


class DeviceUnavailableError(DriverError):
    """The scanner's device cannot be opened right now (unplugged, busy, no permission)."""


class DeviceNotFoundError(DeviceUnavailableError):
    """No device matches the configured selector."""
