"""Tests for scanctl.drivers.aim: splitting, naming and filtering AIM identifiers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanctl.drivers import DriverConfigError, SymbologyFilter, describe, split_aim


@pytest.mark.parametrize(
    ("frame", "identifier", "payload"),
    [
        (b"]Q1abc", "]Q1", b"abc"),
        (b"]C0123", "]C0", b"123"),
        (b"]C1\x1d0101", "]C1", b"\x1d0101"),
        (b"]d2x", "]d2", b"x"),
        (b"]E04006381333931", "]E0", b"4006381333931"),
        (b"]Q1", "]Q1", b""),
        (b"abc", None, b"abc"),
        (b"]1Qabc", None, b"]1Qabc"),
        (b"]Q", None, b"]Q"),
        (b"]Q\xff", None, b"]Q\xff"),
        (b"", None, b""),
    ],
)
def test_split_aim(frame: bytes, identifier: str | None, payload: bytes) -> None:
    assert split_aim(frame) == (identifier, payload)


def test_describe() -> None:
    assert describe("]Q1") == "QR Code"
    assert describe("]C1") == "GS1-128"
    assert describe("]Q5") == "qr (]Q5)"
    assert describe("]X0") is None
    assert describe("x") is None


def test_filter_by_family_name_and_identifier() -> None:
    accept = SymbologyFilter(["qr", "gs1-128", "]d1"])
    assert accept.accepts("]Q1")
    assert accept.accepts("]Q3")
    assert accept.accepts("]C1")
    assert not accept.accepts("]C0")
    assert accept.accepts("]d1")
    assert not accept.accepts("]d2")
    assert accept.accepts(None)


def test_filter_can_refuse_unidentified_frames() -> None:
    assert not SymbologyFilter(["qr"], accept_unidentified=False).accepts(None)


def test_default_filter_accepts_everything() -> None:
    assert SymbologyFilter().accepts("]z0")


def test_empty_accept_list_refuses_every_identified_code() -> None:
    assert not SymbologyFilter([]).accepts("]Q1")


def test_unknown_names_are_refused_all_at_once() -> None:
    with pytest.raises(DriverConfigError, match=r"qrcode.*ean99|ean99.*qrcode"):
        SymbologyFilter(["qrcode", "qr", "ean99"])


@given(st.binary(max_size=64))
def test_split_aim_never_raises_and_round_trips(frame: bytes) -> None:
    identifier, payload = split_aim(frame)
    rebuilt = (identifier or "").encode() + payload
    assert rebuilt == frame


@given(st.text(max_size=6))
def test_filter_never_raises_on_identifiers(identifier: str) -> None:
    SymbologyFilter(["qr"]).accepts(identifier)
    describe(identifier)
