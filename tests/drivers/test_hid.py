"""Tests for scanctl.drivers.hid: real evdev.InputEvent sequences through the decoder."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from evdev import InputEvent, ecodes
from hypothesis import given
from hypothesis import strategies as st

from scanctl.core import derive_event_key, mint_token
from scanctl.drivers import LAYOUTS, HidDecoder, UnknownLayoutError, keymap_for

E = ecodes
DOWN, UP, HOLD = 1, 0, 2


class Keyboard:
    """Hand-builds the events a wedge sends, with timestamps 4 ms apart."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def event(self, code: int, value: int, type_: int = E.EV_KEY) -> InputEvent:
        self.now += 0.004
        sec = int(self.now)
        return InputEvent(sec, round((self.now - sec) * 1e6), type_, code, value)

    def tap(self, code: int, *modifiers: int) -> list[InputEvent]:
        events = [self.event(m, DOWN) for m in modifiers]
        events += [self.event(code, DOWN), self.event(E.EV_SYN, 0, E.EV_SYN)]
        events += [self.event(code, UP)]
        events += [self.event(m, UP) for m in reversed(modifiers)]
        return events

    def type_text(self, layout: str, text: str) -> list[InputEvent]:
        """The key presses that type ``text`` on ``layout`` (no dead keys needed)."""
        reverse: dict[str, tuple[int, ...]] = {}
        table = keymap_for(layout)
        for code, chars in sorted(table.keys.items(), reverse=True):
            for level, char in enumerate(chars):
                if char and (code, level) not in table.dead:
                    mods = ((), (E.KEY_LEFTSHIFT,), (E.KEY_RIGHTALT,))[level]
                    reverse[char] = (code, *mods)
        return [e for char in text for e in self.tap(*reverse[char])]


def decode(decoder: HidDecoder, events: Iterable[InputEvent]) -> list[str]:
    return [text for event in events if (text := decoder.feed(event)) is not None]


@pytest.mark.parametrize(
    ("layout", "presses", "expected"),
    [
        (
            "us",
            [(E.KEY_2, E.KEY_LEFTSHIFT), (E.KEY_A,), (E.KEY_SEMICOLON, E.KEY_RIGHTSHIFT)],
            "@a:",
        ),
        ("uk", [(E.KEY_2, E.KEY_LEFTSHIFT), (E.KEY_3, E.KEY_LEFTSHIFT)], '"£'),
        ("uk", [(E.KEY_APOSTROPHE, E.KEY_LEFTSHIFT), (E.KEY_BACKSLASH,)], "@#"),
        ("uk", [(E.KEY_4, E.KEY_RIGHTALT)], "€"),
        ("de", [(E.KEY_Y,), (E.KEY_Z,), (E.KEY_7, E.KEY_LEFTSHIFT)], "zy/"),
        ("de", [(E.KEY_Q, E.KEY_RIGHTALT), (E.KEY_8, E.KEY_RIGHTALT)], "@["),
        ("de", [(E.KEY_DOT, E.KEY_LEFTSHIFT), (E.KEY_SLASH,), (E.KEY_MINUS,)], ":-ß"),
        ("de", [(E.KEY_KP1,), (E.KEY_KPDOT,), (E.KEY_KP5,)], "1,5"),
        ("fr", [(E.KEY_Q,), (E.KEY_1,), (E.KEY_1, E.KEY_LEFTSHIFT)], "a&1"),
        ("fr", [(E.KEY_0, E.KEY_RIGHTALT), (E.KEY_DOT,), (E.KEY_SEMICOLON,)], "@:m"),
        ("us", [(E.KEY_KP7,), (E.KEY_KPMINUS,), (E.KEY_KPDOT,), (E.KEY_KPASTERISK,)], "7-.*"),
    ],
)
def test_layouts(layout: str, presses: list[tuple[int, ...]], expected: str) -> None:
    keyboard = Keyboard()
    events = [e for press in presses for e in keyboard.tap(*press)]
    events += keyboard.tap(E.KEY_ENTER)
    assert decode(HidDecoder(layout), events) == [expected]


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_a_real_token_typed_on_each_layout(layout: str) -> None:
    key = derive_event_key("x" * 32, "tenant", "event")
    token = mint_token(key, "0a1b2c3d", 1_700_000_000_000, "00112233aabbccdd")
    keyboard = Keyboard()
    events = keyboard.type_text(layout, "]Q1" + token) + keyboard.tap(E.KEY_KPENTER)
    assert decode(HidDecoder(layout), events) == ["]Q1" + token]


def test_right_alt_is_plain_alt_on_us() -> None:
    keyboard = Keyboard()
    events = keyboard.tap(E.KEY_Q, E.KEY_RIGHTALT) + keyboard.tap(E.KEY_ENTER)
    decoder = HidDecoder("us")
    assert decode(decoder, events) == []
    assert decoder.counters.malformed == 1


def test_tab_terminates_unless_turned_off() -> None:
    keyboard = Keyboard()
    events = keyboard.tap(E.KEY_A) + keyboard.tap(E.KEY_TAB)
    assert decode(HidDecoder("us"), events) == ["a"]
    decoder = HidDecoder("us", tab_terminates=False)
    assert decode(decoder, events + keyboard.tap(E.KEY_ENTER)) == []
    assert decoder.counters.malformed == 1


def test_lost_shift_up_does_not_leak_into_the_next_scan() -> None:
    keyboard = Keyboard()
    events = [keyboard.event(E.KEY_LEFTSHIFT, DOWN)]
    events += keyboard.tap(E.KEY_A) + keyboard.tap(E.KEY_ENTER)  # shift-up never arrives
    events += keyboard.tap(E.KEY_B) + keyboard.tap(E.KEY_ENTER)
    assert decode(HidDecoder("us"), events) == ["A", "b"]


def test_lost_shift_up_mid_scan_expires_with_the_timeout() -> None:
    keyboard = Keyboard()
    decoder = HidDecoder("us", inter_key_timeout=0.2)
    events = [keyboard.event(E.KEY_LEFTSHIFT, DOWN), *keyboard.tap(E.KEY_X)]
    keyboard.now += 1.0  # the rest of that scan and the shift-up were lost
    events += keyboard.tap(E.KEY_C) + keyboard.tap(E.KEY_ENTER)
    assert decode(decoder, events) == ["c"]
    assert decoder.counters.partial_discarded == 1


def test_lost_key_up_then_key_down_again_types_twice() -> None:
    keyboard = Keyboard()
    events = [keyboard.event(E.KEY_A, DOWN), keyboard.event(E.KEY_A, DOWN)]
    events += [keyboard.event(E.KEY_A, HOLD), keyboard.event(E.KEY_A, UP)]
    events += keyboard.tap(E.KEY_ENTER)
    assert decode(HidDecoder("us"), events) == ["aa"]


def test_kernel_dropped_events_discard_the_scan_in_progress() -> None:
    keyboard = Keyboard()
    decoder = HidDecoder("us")
    events = [keyboard.event(E.KEY_LEFTSHIFT, DOWN), *keyboard.tap(E.KEY_A)]
    events += [keyboard.event(E.SYN_DROPPED, 0, E.EV_SYN)]
    events += keyboard.tap(E.KEY_B) + keyboard.tap(E.KEY_ENTER)
    assert decode(decoder, events) == ["b"]
    assert decoder.counters.partial_discarded == 1


def test_stray_key_up_is_harmless() -> None:
    keyboard = Keyboard()
    events = [keyboard.event(E.KEY_RIGHTSHIFT, UP), keyboard.event(E.KEY_Z, UP)]
    events += keyboard.tap(E.KEY_Z) + keyboard.tap(E.KEY_ENTER)
    assert decode(HidDecoder("us"), events) == ["z"]


def test_caps_lock_and_shift() -> None:
    keyboard = Keyboard()
    events = keyboard.tap(E.KEY_CAPSLOCK) + keyboard.tap(E.KEY_A)
    events += keyboard.tap(E.KEY_A, E.KEY_LEFTSHIFT) + keyboard.tap(E.KEY_1)
    events += keyboard.tap(E.KEY_ENTER)
    assert decode(HidDecoder("us"), events) == ["Aa1"]


def test_dead_keys_type_their_accent() -> None:
    keyboard = Keyboard()
    events = keyboard.tap(E.KEY_GRAVE) + keyboard.tap(E.KEY_SPACE)  # DE ^ then space
    events += keyboard.tap(E.KEY_GRAVE) + keyboard.tap(E.KEY_A)  # ^ then a: no composing
    events += keyboard.tap(E.KEY_EQUAL) + keyboard.tap(E.KEY_ENTER)  # dead ´ at the end
    assert decode(HidDecoder("de"), events) == ["^^a´"]


def test_alt_keypad_codes() -> None:
    keyboard = Keyboard()
    events = [keyboard.event(E.KEY_LEFTALT, DOWN)]
    events += keyboard.tap(E.KEY_KP0) + keyboard.tap(E.KEY_KP2) + keyboard.tap(E.KEY_KP9)
    events += [keyboard.event(E.KEY_LEFTALT, UP)]
    events += keyboard.tap(E.KEY_A) + keyboard.tap(E.KEY_ENTER)
    assert decode(HidDecoder("de"), events) == ["\x1da"]


def test_alt_code_out_of_range_is_malformed() -> None:
    keyboard = Keyboard()
    events = [keyboard.event(E.KEY_LEFTALT, DOWN)]
    events += [e for d in (E.KEY_KP9, E.KEY_KP9, E.KEY_KP9) for e in keyboard.tap(d)]
    events += [keyboard.event(E.KEY_LEFTALT, UP), *keyboard.tap(E.KEY_ENTER)]
    decoder = HidDecoder("us")
    assert decode(decoder, events) == []
    assert decoder.counters.malformed == 1


def test_unmapped_and_ctrl_keys_make_a_scan_malformed() -> None:
    keyboard = Keyboard()
    decoder = HidDecoder("us")
    events = keyboard.tap(E.KEY_A) + keyboard.tap(E.KEY_F1) + keyboard.tap(E.KEY_ENTER)
    events += keyboard.tap(E.KEY_C, E.KEY_LEFTCTRL) + keyboard.tap(E.KEY_ENTER)
    events += keyboard.tap(E.KEY_F2) + keyboard.tap(E.KEY_ENTER)
    assert decode(decoder, events) == []
    assert decoder.counters.malformed == 3


def test_over_long_scan() -> None:
    keyboard = Keyboard()
    decoder = HidDecoder("us", max_length=3)
    events = keyboard.type_text("us", "abcd") + keyboard.tap(E.KEY_ENTER)
    events += keyboard.type_text("us", "abc") + keyboard.tap(E.KEY_ENTER)
    assert decode(decoder, events) == ["abc"]
    assert decoder.counters.over_long == 1


def test_non_key_events_and_empty_scans_are_ignored() -> None:
    keyboard = Keyboard()
    events = [keyboard.event(4, 0x70004, E.EV_MSC), *keyboard.tap(E.KEY_ENTER)]
    decoder = HidDecoder("us")
    assert decode(decoder, events) == []
    assert decoder.counters.rejected == 0


def test_unknown_layout() -> None:
    with pytest.raises(UnknownLayoutError):
        HidDecoder("dvorak-klingon")
    assert keymap_for("GB").name == "uk"


_events = st.lists(
    st.tuples(
        st.sampled_from([E.EV_KEY, E.EV_KEY, E.EV_KEY, E.EV_SYN, E.EV_MSC]),
        st.one_of(st.integers(min_value=0, max_value=0x2FF), st.sampled_from(
            [E.KEY_LEFTSHIFT, E.KEY_RIGHTALT, E.KEY_LEFTALT, E.KEY_ENTER, E.KEY_KP0, E.KEY_GRAVE]
        )),
        st.integers(min_value=-1, max_value=3),
        st.floats(min_value=0, max_value=1),
    ),
    max_size=200,
)  # fmt: skip


@given(layout=st.sampled_from(sorted(LAYOUTS)), events=_events)
def test_decoder_never_raises(layout: str, events: list[tuple[int, int, int, float]]) -> None:
    decoder = HidDecoder(layout, max_length=32)
    now = 0.0
    for type_, code, value, gap in events:
        now += gap
        sec = int(now)
        text = decoder.feed(InputEvent(sec, int((now - sec) * 1e6), type_, code, value))
        assert text is None or 0 < len(text) <= 32


@given(
    layout=st.sampled_from(sorted(LAYOUTS)),
    text=st.text(alphabet="0123456789abcdef:]QCd-_./+*", min_size=1, max_size=60),
)
def test_typed_text_round_trips(layout: str, text: str) -> None:
    keyboard = Keyboard()
    events = keyboard.type_text(layout, text) + keyboard.tap(E.KEY_ENTER)
    assert decode(HidDecoder(layout), events) == [text]
