"""The USB HID keyboard-wedge driver: find the evdev device, grab it, decode its key events."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import evdev
from evdev import ecodes

from scanctl.core import RawScan
from scanctl.drivers.aim import SymbologyFilter
from scanctl.drivers.backoff import Backoff, Reconnector
from scanctl.drivers.counters import DriverCounters
from scanctl.drivers.errors import DeviceNotFoundError, DeviceUnavailableError
from scanctl.drivers.framing import DEFAULT_MAX_LENGTH, Terminator
from scanctl.drivers.hid import DEFAULT_INTER_KEY_TIMEOUT, HidDecoder
from scanctl.drivers.keymaps import Layout
from scanctl.drivers.pipeline import ScanPipeline

__all__ = ["HidScanner", "open_input_device"]

_log = logging.getLogger(__name__)
_VID_PID = re.compile(r"([0-9a-fA-F]{4}):([0-9a-fA-F]{4})")


def open_input_device(selector: str) -> Any:
    """Open the evdev device a selector names, as an ``evdev.InputDevice``.

    ``selector`` is a path (``/dev/input/by-id/usb-…-event-kbd``, ``/dev/input/by-path/…``,
    ``/dev/input/eventN``) or ``VID:PID`` in hex (``0c2e:0b61``): the first input device
    with that vendor and product id that has keys. Raises ``DeviceNotFoundError`` when
    nothing matches and ``DeviceUnavailableError`` when it cannot be opened.
    """
    match = _VID_PID.fullmatch(selector)
    if match is None:
        try:
            # by-id/by-path names are symlinks; the kernel resolves them on open.
            return evdev.InputDevice(selector)
        except FileNotFoundError as error:
            raise DeviceNotFoundError(f"no input device at {selector}") from error
        except OSError as error:
            raise DeviceUnavailableError(f"cannot open {selector}: {error}") from error
    vendor, product = (int(part, 16) for part in match.groups())
    for path in sorted(evdev.list_devices()):
        try:
            device = evdev.InputDevice(path)
        except OSError:
            continue  # vanished or not ours to read; look at the others
        info = device.info
        if (info.vendor, info.product) == (vendor, product) and (
            ecodes.EV_KEY in device.capabilities()
        ):
            return device
        device.close()
    raise DeviceNotFoundError(f"no input device with keys has USB id {selector}")


class HidScanner:
    """Scans from a keyboard-wedge scanner through evdev (Linux).

    The device is grabbed exclusively (EVIOCGRAB) so its keystrokes reach only us, not
    a console or a desktop. Events are read from its fd in an ``add_reader`` callback
    and decoded by ``HidDecoder``; the text of each scan then goes through the AIM /
    symbology step every driver shares. When the device disappears (unplugged: ENODEV)
    the outage is logged once and the selector retried with back-off, so a replugged
    scanner, even on another event node, is picked up again.

    A keyboard wedge has no way back to the scanner: ``feedback()`` sends nothing.
    """

    def __init__(
        self,
        selector: str,
        *,
        name: str | None = None,
        layout: str | Layout = "us",
        tab_terminates: bool = True,
        max_length: int = DEFAULT_MAX_LENGTH,
        inter_key_timeout: float = DEFAULT_INTER_KEY_TIMEOUT,
        symbologies: SymbologyFilter | None = None,
        grab: bool = True,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.selector = selector
        self.name = name or selector
        self.grab = grab
        self.counters = DriverCounters()
        self._decoder = HidDecoder(
            layout,
            tab_terminates=tab_terminates,
            max_length=max_length,
            inter_key_timeout=inter_key_timeout,
            counters=self.counters,
        )
        # Only its AIM and accept-list step is used: the decoder did the framing.
        self._pipeline = ScanPipeline(
            self.name,
            terminator=Terminator.LF,
            max_length=max_length,
            symbologies=symbologies,
            counters=self.counters,
        )
        self._reconnector = Reconnector(_log, self.name, self.counters, backoff)
        self._clock = clock
        self._pending: deque[RawScan] = deque()
        self._device: Any = None
        self._lost: BaseException | None = None
        self._wakeup = asyncio.Event()

    @property
    def connected(self) -> bool:
        """Whether the device is open (and grabbed) right now."""
        return self._device is not None

    def __aiter__(self) -> HidScanner:
        return self

    async def __anext__(self) -> RawScan:
        while True:
            if self._pending:
                return self._pending.popleft()
            if self._reconnector.closed:
                raise StopAsyncIteration
            if self._lost is not None:
                self._reconnector.lost(f"lost {self.selector}", self._lost)
                self._lost = None
                self._close_device()
                self._decoder.reset()
            if self._device is None:
                await self._connect()
                continue
            self._wakeup.clear()
            await self._wakeup.wait()

    async def feedback(self, good: bool, *, warning: bool = False) -> bool:
        """Keyboard wedges have no back channel: nothing is sent."""
        return False

    async def aclose(self) -> None:
        """Release the grab, close the device; iteration ends."""
        self._reconnector.close()
        self._close_device()
        self._wakeup.set()

    async def _connect(self) -> None:
        device = await self._reconnector.open(
            self._open_device, f"cannot open {self.selector}", (DeviceUnavailableError,)
        )
        if device is None:
            return
        if self._reconnector.closed:  # closed while the thread was opening it
            device.close()
            return
        self._device = device
        asyncio.get_running_loop().add_reader(device.fd, self._on_readable)
        _log.info("%s: reading %s (%s)", self.name, device.path, device.name)

    async def _open_device(self) -> Any:
        # Matching a VID:PID opens every input device in turn: off the event loop.
        device = await asyncio.to_thread(open_input_device, self.selector)
        if self.grab:
            try:
                device.grab()
            except OSError as error:
                device.close()
                raise DeviceUnavailableError(f"cannot grab: {error}") from error
        return device

    def _on_readable(self) -> None:
        try:
            events = list(self._device.read())
        except BlockingIOError:
            return
        except OSError as error:  # ENODEV: unplugged
            self._remove_reader()
            self._lost = error
            self._wakeup.set()
            return
        self._reconnector.proven()
        for event in events:
            text = self._decoder.feed(event)
            if text is not None:
                self._pending.append(
                    self._pipeline.frame_to_scan(text.encode("utf-8"), self._clock())
                )
        if self._pending:
            self._wakeup.set()

    def _remove_reader(self) -> None:
        if self._device is not None:
            with contextlib.suppress(RuntimeError, ValueError, OSError):
                asyncio.get_running_loop().remove_reader(self._device.fd)

    def _close_device(self) -> None:
        self._remove_reader()
        device, self._device = self._device, None
        if device is not None:
            with contextlib.suppress(OSError):
                if self.grab:
                    device.ungrab()
            with contextlib.suppress(OSError):
                device.close()
