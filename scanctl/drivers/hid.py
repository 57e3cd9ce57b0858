"""Decodes HID keyboard-wedge key events into scanned text, per keyboard layout. Pure."""

from __future__ import annotations

from typing import Protocol

from evdev import ecodes

from scanctl.drivers.counters import DriverCounters
from scanctl.drivers.errors import DriverConfigError
from scanctl.drivers.framing import DEFAULT_MAX_LENGTH
from scanctl.drivers.keymaps import Layout, keymap_for

__all__ = ["DEFAULT_INTER_KEY_TIMEOUT", "HidDecoder", "KeyEvent"]

DEFAULT_INTER_KEY_TIMEOUT = 0.5
"""Seconds. Wedge scanners type a key every few milliseconds; half a second of silence in
the middle of a code means the rest is lost, and so may be a key-up."""

_KEY_UP, _KEY_DOWN, _KEY_HOLD = 0, 1, 2
_SHIFTS = frozenset((ecodes.KEY_LEFTSHIFT, ecodes.KEY_RIGHTSHIFT))
_CTRLS = frozenset((ecodes.KEY_LEFTCTRL, ecodes.KEY_RIGHTCTRL))
_ENTERS = frozenset((ecodes.KEY_ENTER, ecodes.KEY_KPENTER))
_KEYPAD_DIGITS = {
    int(ecodes.ecodes[f"KEY_KP{digit}"]): digit for digit in "0123456789"
}  # for Alt + keypad character codes
_MAX_ALT_CODE = 255


class KeyEvent(Protocol):
    """What the decoder reads from an event: ``evdev.InputEvent`` has all of it."""

    type: int
    code: int
    value: int

    def timestamp(self) -> float: ...


class HidDecoder:
    """Feed it input events one at a time; it returns the text of each completed scan.

    Key-downs type characters for the layout, with Shift, AltGr (right Alt, except on
    the US layout), Caps Lock and keypad keys; Alt held with keypad digits types that
    character code (how wedges send characters the layout lacks, e.g. Alt+029 for GS).
    Enter, keypad Enter and (unless turned off) Tab end a scan. Dead keys type their
    accent before the next character, or alone before a space.

    Lost key-ups: autorepeat (value 2) is ignored and a second key-down counts as a
    new press; held modifiers are forgotten at the end of each scan and after
    ``inter_key_timeout`` seconds of silence, which also discards a half-typed scan
    (counted ``partial_discarded``), so a missing Shift-up cannot corrupt later scans.
    Lost events: a SYN_DROPPED from the kernel does the same at once.
    Scans with keys the layout cannot type (F-keys, Ctrl) are counted ``malformed``,
    longer ones than ``max_length`` ``over_long``. Never raises.
    """

    def __init__(
        self,
        layout: str | Layout = "us",
        *,
        tab_terminates: bool = True,
        max_length: int = DEFAULT_MAX_LENGTH,
        inter_key_timeout: float = DEFAULT_INTER_KEY_TIMEOUT,
        counters: DriverCounters | None = None,
    ) -> None:
        if max_length < 1 or inter_key_timeout <= 0:
            raise DriverConfigError("max_length and inter_key_timeout must be positive")
        self.layout = keymap_for(layout) if isinstance(layout, str) else layout
        self.tab_terminates = tab_terminates
        self.max_length = max_length
        self.inter_key_timeout = inter_key_timeout
        self.counters = counters if counters is not None else DriverCounters()
        self._altgr_keys = frozenset((ecodes.KEY_RIGHTALT,)) if self.layout.altgr else frozenset()
        self._alt_keys = frozenset((ecodes.KEY_LEFTALT, ecodes.KEY_RIGHTALT)) - self._altgr_keys
        self._held: set[int] = set()
        self._caps = False
        self._chars: list[str] = []
        self._length = 0
        self._bad = False
        self._too_long = False
        self._dead = ""
        self._alt_digits = ""
        self._last_at: float | None = None

    def feed(self, event: KeyEvent) -> str | None:
        """Process one event; returns the scanned text when it ends a scan."""
        if event.type == ecodes.EV_SYN and event.code == ecodes.SYN_DROPPED:
            # The kernel's buffer overflowed and events were lost: whatever was being
            # typed is incomplete, and which keys are held is unknown.
            self.reset()
            return None
        if event.type != ecodes.EV_KEY:
            return None  # EV_SYN reports, EV_MSC scancodes, LEDs: not keys
        now = event.timestamp()
        if self._last_at is not None and now - self._last_at > self.inter_key_timeout:
            self.reset()
        self._last_at = now
        code, value = event.code, event.value
        if value == _KEY_UP:
            self._release(code)
            return None
        if value != _KEY_DOWN:
            return None  # autorepeat: a scanner never means it
        return self._press(code)

    def reset(self) -> None:
        """Forget held keys and any half-typed scan (counted as partial)."""
        if self._chars or self._bad or self._too_long:
            self.counters.partial_discarded += 1
        self._held.clear()
        self._clear_line()

    def _release(self, code: int) -> None:
        self._held.discard(code)
        if code in self._alt_keys and self._alt_digits:
            digits, self._alt_digits = self._alt_digits, ""
            number = int(digits)
            if number > _MAX_ALT_CODE:
                self._bad = True
            else:
                self._type(_alt_code_char(number))

    def _press(self, code: int) -> str | None:
        if code in _SHIFTS or code in _CTRLS or code in self._alt_keys or code in self._altgr_keys:
            self._held.add(code)
            return None
        if code == ecodes.KEY_CAPSLOCK:
            self._caps = not self._caps
            return None
        if code in _ENTERS or (code == ecodes.KEY_TAB and self.tab_terminates):
            return self._end()
        if self._held & self._alt_keys:
            if code in _KEYPAD_DIGITS:
                self._alt_digits += _KEYPAD_DIGITS[code]
            else:
                self._bad = True
            return None
        if self._held & _CTRLS:
            self._bad = True
            return None
        chars = self.layout.keys.get(code)
        level = 2 if self._held & self._altgr_keys else 1 if self._held & _SHIFTS else 0
        char = chars[level] if chars else ""
        if char and level < 2 and self._caps and char.isalpha() and len(char) == 1:
            char = char.swapcase()
        if not char:
            self._bad = True
            return None
        if (code, level) in self.layout.dead:
            self._type(self._dead)  # two dead keys in a row: the first stands alone
            self._dead = char
            return None
        if self._dead:
            accent, self._dead = self._dead, ""
            self._type(accent if char == " " else accent + char)
            return None
        self._type(char)
        return None

    def _type(self, text: str) -> None:
        if not text or self._too_long:
            return
        self._length += len(text)
        if self._length > self.max_length:
            self._too_long = True
            self._chars.clear()
            return
        self._chars.append(text)

    def _end(self) -> str | None:
        self._type(self._dead)
        text = "".join(self._chars)
        bad, too_long = self._bad, self._too_long
        self._clear_line()
        # The scanner released everything by now; a key-up we missed must not linger.
        self._held.clear()
        if too_long:
            self.counters.over_long += 1
        elif bad:
            self.counters.malformed += 1
        elif text:
            return text
        return None

    def _clear_line(self) -> None:
        self._chars.clear()
        self._length = 0
        self._bad = self._too_long = False
        self._dead = self._alt_digits = ""


def _alt_code_char(number: int) -> str:
    """The character of an Alt+keypad code: ASCII below 128, Windows-1252 above."""
    return chr(number) if number < 0x80 else bytes((number,)).decode("cp1252", "replace")
