"""The SSE parser: events split over lines, comments, broken payloads."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from scanctl.tui.sse import SseParser


def feed(lines: list[str]) -> list[dict[str, object]]:
    parser = SseParser()
    return [event for line in lines if (event := parser.feed(line)) is not None]


def test_events_comments_and_heartbeats() -> None:
    lines = [": connected", "", 'data: {"type":"state","state":"running"}', "", ": heartbeat", ""]
    assert feed(lines) == [{"type": "state", "state": "running"}]


def test_a_payload_on_several_data_lines_is_joined() -> None:
    assert feed(['data: {"a":', "data: 1}", ""]) == [{"a": 1}]


def test_broken_or_non_object_payloads_are_dropped_and_the_stream_goes_on() -> None:
    assert feed(["data: {nope", "", "data: [1]", "", 'data: {"ok":true}', ""]) == [{"ok": True}]


@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)))
def test_any_lines_never_raise(lines: list[str]) -> None:
    for event in feed(lines):
        assert isinstance(event, dict)
