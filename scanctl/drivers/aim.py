"""AIM symbology identifiers (ISO/IEC 15424): strip them from frames, name them, filter on them."""

from __future__ import annotations

from collections.abc import Iterable

from scanctl.drivers.errors import DriverConfigError

__all__ = ["AIM_FAMILIES", "AIM_IDENTIFIERS", "SymbologyFilter", "describe", "split_aim"]

# Symbology character -> family name (the name a gate config uses in its accept-list).
AIM_FAMILIES: dict[str, str] = {
    "A": "code39",
    "C": "code128",
    "d": "datamatrix",
    "E": "ean-upc",
    "e": "gs1-databar",
    "F": "codabar",
    "G": "code93",
    "I": "itf",
    "J": "dotcode",
    "L": "pdf417",
    "Q": "qr",
    "U": "maxicode",
    "z": "aztec",
}

# Full identifiers whose modifier changes what the code is, with a name of their own.
AIM_IDENTIFIERS: dict[str, str] = {
    "]A0": "Code 39",
    "]C0": "Code 128",
    "]C1": "GS1-128",
    "]C2": "Code 128 (AIM FNC1)",
    "]d1": "Data Matrix",
    "]d2": "GS1 Data Matrix",
    "]E0": "EAN-13 / UPC-A",
    "]E4": "EAN-8",
    "]e0": "GS1 DataBar",
    "]F0": "Codabar",
    "]G0": "Code 93",
    "]I0": "Interleaved 2 of 5",
    "]J0": "DotCode",
    "]L0": "PDF417",
    "]Q1": "QR Code",
    "]Q3": "GS1 QR Code",
    "]U0": "MaxiCode",
    "]z0": "Aztec",
}

# Extra accept-list names for the GS1 variants, which a gate may want to tell apart.
_NAMED_IDENTIFIERS = {"gs1-128": "]C1", "gs1-datamatrix": "]d2", "gs1-qr": "]Q3"}

_AIM_LENGTH = 3


def split_aim(frame: bytes) -> tuple[str | None, bytes]:
    """``(identifier, payload)``: ``b"]Q1abc"`` gives ``("]Q1", b"abc")``.

    An identifier is ``]``, an ASCII letter and an ASCII letter or digit; frames that do
    not start with one come back whole with ``None``. Never raises.
    """
    if len(frame) < _AIM_LENGTH or frame[0] != 0x5D:  # "]"
        return None, frame
    code, modifier = frame[1], frame[2]
    if not (_is_letter(code) and (_is_letter(modifier) or 0x30 <= modifier <= 0x39)):
        return None, frame
    return frame[:_AIM_LENGTH].decode("ascii"), frame[_AIM_LENGTH:]


def describe(identifier: str) -> str | None:
    """A human name for an identifier (``"]Q1"`` -> ``"QR Code"``), None when unknown."""
    if identifier in AIM_IDENTIFIERS:
        return AIM_IDENTIFIERS[identifier]
    family = AIM_FAMILIES.get(identifier[1:2]) if identifier.startswith("]") else None
    return f"{family} ({identifier})" if family else None


def _is_letter(byte: int) -> bool:
    return 0x41 <= byte <= 0x5A or 0x61 <= byte <= 0x7A


class SymbologyFilter:
    """The symbologies one scanner's gate accepts.

    ``accept`` holds family names (``"qr"``, ``"code128"``: any modifier), the GS1 names
    (``"gs1-128"``, ``"gs1-datamatrix"``, ``"gs1-qr"``) or exact identifiers (``"]Q1"``).
    None accepts everything. ``accept_unidentified`` decides for frames without an AIM
    prefix (scanners that do not send one): accepted unless told otherwise.
    """

    def __init__(
        self, accept: Iterable[str] | None = None, *, accept_unidentified: bool = True
    ) -> None:
        self.accept_unidentified = accept_unidentified
        self._everything = accept is None
        self._families: set[str] = set()
        self._identifiers: set[str] = set()
        by_name = {name: char for char, name in AIM_FAMILIES.items()}
        unknown = []
        for item in accept or ():
            if item in by_name:
                self._families.add(by_name[item])
            elif item in _NAMED_IDENTIFIERS:
                self._identifiers.add(_NAMED_IDENTIFIERS[item])
            elif split_aim(item.encode("ascii", "replace")) == (item, b""):
                self._identifiers.add(item)
            else:
                unknown.append(item)
        if unknown:
            names = ", ".join(sorted([*by_name, *_NAMED_IDENTIFIERS]))
            raise DriverConfigError(f"unknown symbologies {unknown} (known: {names})")

    def accepts(self, identifier: str | None) -> bool:
        """Whether a code with this AIM identifier (None: no prefix) may be yielded."""
        if identifier is None:
            return self.accept_unidentified
        if self._everything:
            return True
        return identifier in self._identifiers or identifier[1:2] in self._families
