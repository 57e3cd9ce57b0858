"""Keyboard layouts for HID wedge scanners: what each key types, plain, with Shift, with AltGr."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType

from evdev import ecodes

from scanctl.drivers.errors import UnknownLayoutError

__all__ = ["LAYOUTS", "Layout", "keymap_for"]


@dataclass(frozen=True, slots=True)
class Layout:
    """One layout: per key code, the characters for (plain, Shift, AltGr).

    An empty string means the key types nothing at that level. ``dead`` holds the
    (code, level) pairs that are dead keys (level 0 plain, 1 Shift, 2 AltGr).
    """

    name: str
    keys: MappingProxyType[int, tuple[str, str, str]]
    dead: frozenset[tuple[int, int]] = field(default_factory=frozenset)
    altgr: bool = True
    """Whether right Alt is AltGr (it is a plain Alt on the US layout)."""


def _code(name: str) -> int:
    return int(ecodes.ecodes[f"KEY_{name}"])


_LETTERS = "abcdefghijklmnopqrstuvwxyz"

_KEYPAD = {
    "KP0": "0", "KP1": "1", "KP2": "2", "KP3": "3", "KP4": "4", "KP5": "5", "KP6": "6",
    "KP7": "7", "KP8": "8", "KP9": "9", "KPDOT": ".", "KPPLUS": "+", "KPMINUS": "-",
    "KPASTERISK": "*", "KPSLASH": "/", "KPCOMMA": ",", "KPEQUAL": "=",
}  # fmt: skip

_US_SYMBOLS = {
    "1": ("1", "!"), "2": ("2", "@"), "3": ("3", "#"), "4": ("4", "$"), "5": ("5", "%"),
    "6": ("6", "^"), "7": ("7", "&"), "8": ("8", "*"), "9": ("9", "("), "0": ("0", ")"),
    "MINUS": ("-", "_"), "EQUAL": ("=", "+"), "LEFTBRACE": ("[", "{"),
    "RIGHTBRACE": ("]", "}"), "BACKSLASH": ("\\", "|"), "SEMICOLON": (";", ":"),
    "APOSTROPHE": ("'", '"'), "GRAVE": ("`", "~"), "COMMA": (",", "<"), "DOT": (".", ">"),
    "SLASH": ("/", "?"), "102ND": ("\\", "|"), "SPACE": (" ", " "),
}  # fmt: skip


def _build(
    name: str,
    symbols: dict[str, tuple[str, ...]],
    *,
    letters: dict[str, str] | None = None,
    altgr: dict[str, str] | None = None,
    keypad: dict[str, str] | None = None,
    dead: set[tuple[str, int]] | None = None,
    has_altgr: bool = True,
) -> Layout:
    """A layout from key names: letters default to their US positions."""
    table: dict[str, list[str]] = {}
    for letter in _LETTERS:
        table[letter.upper()] = [letter, letter.upper(), ""]
    for key, char in (letters or {}).items():
        table[key] = [char, char.upper(), ""]
    for key, chars in symbols.items():
        table[key] = [*chars, ""][:3] if len(chars) < 3 else list(chars)
    for key, char in {**_KEYPAD, **(keypad or {})}.items():
        table[key] = [char, char, ""]
    for key, char in (altgr or {}).items():
        table.setdefault(key, ["", "", ""])[2] = char
    keys = {_code(key): (chars[0], chars[1], chars[2]) for key, chars in table.items()}
    dead_keys = frozenset((_code(key), level) for key, level in (dead or set()))
    return Layout(name, MappingProxyType(keys), dead_keys, has_altgr)


_US = _build("us", dict(_US_SYMBOLS), has_altgr=False)

_UK = _build(
    "uk",
    {
        **_US_SYMBOLS,
        "2": ("2", '"'), "3": ("3", "£"), "APOSTROPHE": ("'", "@"),
        "BACKSLASH": ("#", "~"), "GRAVE": ("`", "¬"), "102ND": ("\\", "|"),
    },
    altgr={"4": "€", "GRAVE": "¦", "A": "á", "E": "é", "I": "í", "O": "ó", "U": "ú"},
)  # fmt: skip

_DE = _build(
    "de",
    {
        "1": ("1", "!"), "2": ("2", '"'), "3": ("3", "§"), "4": ("4", "$"), "5": ("5", "%"),
        "6": ("6", "&"), "7": ("7", "/"), "8": ("8", "("), "9": ("9", ")"), "0": ("0", "="),
        "MINUS": ("ß", "?"), "EQUAL": ("´", "`"), "LEFTBRACE": ("ü", "Ü"),
        "RIGHTBRACE": ("+", "*"), "SEMICOLON": ("ö", "Ö"), "APOSTROPHE": ("ä", "Ä"),
        "GRAVE": ("^", "°"), "BACKSLASH": ("#", "'"), "102ND": ("<", ">"),
        "COMMA": (",", ";"), "DOT": (".", ":"), "SLASH": ("-", "_"), "SPACE": (" ", " "),
    },
    letters={"Y": "z", "Z": "y"},
    altgr={
        "2": "²", "3": "³", "7": "{", "8": "[", "9": "]", "0": "}", "MINUS": "\\",
        "Q": "@", "E": "€", "M": "µ", "RIGHTBRACE": "~", "102ND": "|",
    },
    keypad={"KPDOT": ","},
    dead={("EQUAL", 0), ("EQUAL", 1), ("GRAVE", 0)},
)  # fmt: skip

_FR = _build(
    "fr",
    {
        "1": ("&", "1"), "2": ("é", "2"), "3": ('"', "3"), "4": ("'", "4"), "5": ("(", "5"),
        "6": ("-", "6"), "7": ("è", "7"), "8": ("_", "8"), "9": ("ç", "9"), "0": ("à", "0"),
        "MINUS": (")", "°"), "EQUAL": ("=", "+"), "LEFTBRACE": ("^", "¨"),
        "RIGHTBRACE": ("$", "£"), "APOSTROPHE": ("ù", "%"), "BACKSLASH": ("*", "µ"),
        "GRAVE": ("²", ""), "M": (",", "?"), "COMMA": (";", "."), "DOT": (":", "/"),
        "SLASH": ("!", "§"), "102ND": ("<", ">"), "SPACE": (" ", " "),
    },
    letters={"Q": "a", "W": "z", "A": "q", "Z": "w", "SEMICOLON": "m"},
    altgr={
        "2": "~", "3": "#", "4": "{", "5": "[", "6": "|", "7": "`", "8": "\\", "9": "^",
        "0": "@", "MINUS": "]", "EQUAL": "}", "E": "€", "RIGHTBRACE": "¤",
    },
    dead={("LEFTBRACE", 0), ("LEFTBRACE", 1), ("2", 2), ("7", 2)},
)  # fmt: skip

LAYOUTS: MappingProxyType[str, Layout] = MappingProxyType(
    {layout.name: layout for layout in (_US, _UK, _DE, _FR)}
)


def keymap_for(name: str) -> Layout:
    """The layout called ``name`` (us, uk, de, fr; ``gb`` is taken for ``uk``)."""
    key = {"gb": "uk"}.get(name.lower(), name.lower())
    try:
        return LAYOUTS[key]
    except KeyError:
        known = ", ".join(LAYOUTS)
        raise UnknownLayoutError(f"no keymap for layout {name!r} (known: {known})") from None
