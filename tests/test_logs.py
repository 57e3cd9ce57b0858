"""scanctl.logs, in a process of its own (configure() rewires the root logger)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

PROGRAM = """
import logging, sys
from scanctl.logs import configure, request_id
chosen = configure(logging.DEBUG, sys.argv[1])
print(chosen, file=sys.stdout, flush=True)
log = logging.getLogger("scanctl.test")
request_id.set("rid-1")
log.info('said "hi"', extra={"gate": 'north "B"\\\\2', "count": 3})
logging.getLogger("httpx").debug("transport noise")
try:
    1 / 0
except ZeroDivisionError:
    log.exception("failed")
"""


def run(log_format: str) -> tuple[str, list[str]]:
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM, log_format],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip(), result.stderr.splitlines()


def test_json_lines_carry_fields_the_request_id_and_the_traceback() -> None:
    chosen, lines = run("json")
    assert chosen == "json"
    said, failed = (json.loads(line) for line in lines)  # httpx debug stayed quiet
    assert said["msg"] == 'said "hi"' and said["level"] == "info"
    assert said["logger"] == "scanctl.test" and said["ts"].endswith("Z")
    assert (said["gate"], said["count"], said["request_id"]) == ('north "B"\\2', 3, "rid-1")
    assert failed["level"] == "error" and "ZeroDivisionError" in failed["exc"]


def test_logfmt_quotes_what_needs_quoting() -> None:
    _, lines = run("logfmt")
    assert lines[0].split(" ", 1)[1] == (
        'level=info logger=scanctl.test msg="said \\"hi\\"" gate="north \\"B\\"\\\\2" count=3'
        " request_id=rid-1"
    )
    assert lines[1].startswith("ts=") and "level=error" in lines[1]
    assert 'exc="Traceback' in lines[1]


@pytest.mark.parametrize("log_format", ["auto", "human"])
def test_human_off_a_terminal_only_when_asked(log_format: str) -> None:
    chosen, lines = run(log_format)
    assert chosen == ("logfmt" if log_format == "auto" else "human")  # stderr is a pipe here
    if log_format == "human":
        assert lines[0].endswith(
            'INFO scanctl.test: said "hi" gate="north \\"B\\"\\\\2" count=3 request_id=rid-1'
        )
        assert lines[-1] == "ZeroDivisionError: division by zero"
