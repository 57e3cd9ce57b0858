"""Log set-up of the long-running programs (backend, gate daemon): one stream, three formats.

`configure()` is called by the entry points only (``scanctl server run``, ``scanctl
daemon run``), never at import: a library that rewires logging when imported breaks
every program (and test) that imports it. Every record goes to one stream (stderr),
the access log included, in one of three formats:

- ``human``: ``2026-12-03 13:45:01,123 INFO scanctl.backend: message key=value``;
- ``logfmt``: ``ts=… level=info logger=scanctl.backend msg="message" key=value``;
- ``json``: one object a line with ``ts``, ``level``, ``logger``, ``msg`` and the fields.

``auto`` (the default) is human on a terminal and logfmt otherwise (journald, files).
Fields are a record's ``extra`` values; the request id of the HTTP request being
handled (`request_id`, a context variable the backend sets) is added to each line.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from contextvars import ContextVar
from enum import StrEnum
from typing import Any, TextIO

__all__ = [
    "LOG_FORMATS",
    "LogFormat",
    "configure",
    "fields_of",
    "request_id",
]

request_id: ContextVar[str | None] = ContextVar("scanctl_request_id", default=None)
"""The id of the HTTP request this code runs for (None outside a request)."""


class LogFormat(StrEnum):
    AUTO = "auto"
    HUMAN = "human"
    LOGFMT = "logfmt"
    JSON = "json"


LOG_FORMATS = tuple(f.value for f in LogFormat)

# Libraries whose debug output is transport noise, not the program's story.
_NOISY = ("httpx", "httpcore", "hpack", "asyncio", "multipart", "alembic.runtime.plugins")
# Record attributes that are not fields (uvicorn's color_message repeats msg, with ANSI).
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}
_UVICORN_ACCESS_ARGS = ("client", "method", "path", "http_version", "status")


def fields_of(record: logging.LogRecord) -> dict[str, Any]:
    """The structured fields of a record: its ``extra`` values and the request id."""
    fields = {k: v for k, v in record.__dict__.items() if k not in _STANDARD}
    if record.name == "uvicorn.access" and isinstance(record.args, tuple):
        fields.update(zip(_UVICORN_ACCESS_ARGS, record.args, strict=False))
    rid = request_id.get()
    if rid is not None:
        fields.setdefault("request_id", rid)
    return fields


def _timestamp(record: logging.LogRecord) -> str:
    seconds = int(record.created)
    millis = int((record.created - seconds) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def _logfmt_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if text and not any(c in text for c in ' ="\\') and text.isprintable():
        return text
    return json.dumps(text, ensure_ascii=False)


class _Formatter(logging.Formatter):
    def __init__(self, kind: LogFormat) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.kind = kind

    def format(self, record: logging.LogRecord) -> str:
        fields = fields_of(record)
        message = record.getMessage()
        error = self.formatException(record.exc_info) if record.exc_info else None
        if self.kind is LogFormat.JSON:
            line: dict[str, Any] = {
                "ts": _timestamp(record),
                "level": record.levelname.lower(),
                "logger": record.name,
                "msg": message,
                **fields,
            }
            if error:
                line["exc"] = error
            return json.dumps(line, default=str, ensure_ascii=False)
        if self.kind is LogFormat.LOGFMT:
            pairs = {
                "ts": _timestamp(record),
                "level": record.levelname.lower(),
                "logger": record.name,
                "msg": message,
                **fields,
            }
            if error:
                pairs["exc"] = error
            return " ".join(f"{key}={_logfmt_value(value)}" for key, value in pairs.items())
        text = super().format(record)
        if fields:
            head, _, tail = text.partition("\n")
            extra = " ".join(f"{key}={_logfmt_value(value)}" for key, value in fields.items())
            text = f"{head} {extra}" + (f"\n{tail}" if tail else "")
        return text


def configure(
    level: int | str = logging.INFO,
    log_format: LogFormat | str = LogFormat.AUTO,
    *,
    stream: TextIO | None = None,
    quiet: tuple[str, ...] = _NOISY,
) -> LogFormat:
    """Send every record at ``level`` and above to ``stream`` (stderr) in ``log_format``.

    uvicorn's loggers lose their own handlers and propagate here, so its access and
    error lines share the stream and the format; ``quiet`` loggers stay at WARNING
    whatever the level. Returns the format chosen (``auto`` resolved).
    """
    out = sys.stderr if stream is None else stream
    kind = LogFormat(log_format)
    if kind is LogFormat.AUTO:
        kind = LogFormat.HUMAN if out.isatty() else LogFormat.LOGFMT
    handler = logging.StreamHandler(out)
    handler.setFormatter(_Formatter(kind))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    for name in quiet:
        logging.getLogger(name).setLevel(logging.WARNING)
    return kind
