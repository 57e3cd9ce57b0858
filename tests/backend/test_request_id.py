"""usable_request_id: an incoming X-Request-ID is kept only when it is safe to log and echo."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from scanctl.backend.request_id import usable_request_id

_SAFE = re.compile(r"[A-Za-z0-9._:/+=-]{1,128}")


@given(st.binary(max_size=300))
def test_any_header_value_gives_an_id_safe_to_log(value: bytes) -> None:
    rid = usable_request_id(value)
    assert _SAFE.fullmatch(rid)
    kept = rid == value.decode("latin-1")
    assert kept == (_SAFE.fullmatch(value.decode("latin-1")) is not None)


def test_made_ids_are_32_hex_and_never_repeat() -> None:
    made = {usable_request_id(None) for _ in range(1000)} | {usable_request_id(b"a b")}
    assert len(made) == 1001
    assert all(re.fullmatch(r"[0-9a-f]{32}", rid) for rid in made)
