"""The CLI's config file: named contexts (backend URL, tenant, venue, event, device, data dir).

The file is TOML in the user's config directory (``platformdirs``; ``XDG_CONFIG_HOME``
on Linux), or wherever ``SCANCTL_CONFIG`` points::

    current-context = "hall-a"

    [contexts.hall-a]
    url = "https://scan.example.org"
    tenant = "acme"
    venue = "6f1c…"
    event = "0b7e…"

Tokens are never written here: `credentials` keeps them in the OS keyring.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

__all__ = [
    "CONTEXT_FIELDS",
    "CliConfig",
    "ConfigFileError",
    "ContextSettings",
    "complete_context_names",
    "config_dir",
    "config_path",
    "load_config",
    "save_config",
    "toml_dumps",
    "validate_context_name",
]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class ConfigFileError(Exception):
    """The config file cannot be read or a name in it is unusable (exit 2)."""


@dataclass
class ContextSettings:
    """Where one context points. Every field is optional; unset ones fall back to defaults."""

    url: str | None = None
    tenant: str | None = None
    venue: str | None = None
    event: str | None = None
    device: str | None = None
    data_dir: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return asdict(self)


CONTEXT_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(ContextSettings))


@dataclass
class CliConfig:
    """Every context and which one is current."""

    current: str | None = None
    contexts: dict[str, ContextSettings] = field(default_factory=dict)


def validate_context_name(name: str) -> str:
    """The name itself, or ConfigFileError: names become keyring entries and file names."""
    if not _NAME.match(name):
        raise ConfigFileError(
            f"{name!r} is not a usable context name (letters, digits, '.', '_', '-'; at most 64)"
        )
    return name


def config_dir() -> Path:
    """The directory of the config file (and of the token file fallback)."""
    explicit = os.environ.get("SCANCTL_CONFIG")
    if explicit:
        return Path(explicit).expanduser().parent
    import platformdirs  # here, not at start: completion starts `scanctl` on every TAB

    return Path(platformdirs.user_config_dir("scanctl", appauthor=False))


def config_path() -> Path:
    """``SCANCTL_CONFIG``, or ``config.toml`` in the user's config directory."""
    explicit = os.environ.get("SCANCTL_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    return config_dir() / "config.toml"


def complete_context_names(incomplete: str) -> list[str]:
    """Shell completion of a context name: the config file's names starting with ``incomplete``.

    A broken or missing file completes nothing (never an error in the middle of a TAB).
    """
    try:
        names = load_config().contexts
    except ConfigFileError:
        return []
    return sorted(name for name in names if name.startswith(incomplete))


def load_config(path: Path | None = None) -> CliConfig:
    """The config file's contexts; an absent file is an empty config."""
    import tomllib

    path = path or config_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return CliConfig()
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigFileError(f"{path}: {exc}") from None
    current = data.get("current-context")
    raw_contexts = data.get("contexts", {})
    if current is not None and not isinstance(current, str):
        raise ConfigFileError(f"{path}: current-context must be a string")
    if not isinstance(raw_contexts, dict):
        raise ConfigFileError(f"{path}: [contexts] must be a table")
    contexts: dict[str, ContextSettings] = {}
    for name, values in raw_contexts.items():
        if not isinstance(values, dict):
            raise ConfigFileError(f"{path}: [contexts.{name}] must be a table")
        unknown = sorted(set(values) - set(CONTEXT_FIELDS))
        if unknown:
            raise ConfigFileError(
                f"{path}: context {name}: unknown key(s) {', '.join(unknown)}"
                f" (known: {', '.join(CONTEXT_FIELDS)})"
            )
        if any(not isinstance(v, str) for v in values.values()):
            raise ConfigFileError(f"{path}: context {name}: every value must be a string")
        contexts[name] = ContextSettings(**values)
    return CliConfig(current=current, contexts=contexts)


def save_config(config: CliConfig, path: Path | None = None) -> Path:
    """Write the file atomically (a reader never sees half of it)."""
    path = path or config_path()
    data: dict[str, Any] = {}
    if config.current is not None:
        data["current-context"] = config.current
    data["contexts"] = {
        name: {k: v for k, v in settings.as_dict().items() if v is not None}
        for name, settings in sorted(config.contexts.items())
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(toml_dumps(data), encoding="utf-8")
    temporary.replace(path)
    return path


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _string(text: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped, rest as is."""
    out = ['"']
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def _key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _string(key)  # not match: "$" allows a "\n"


def _value(value: Any) -> str:
    # bool before int: True is an int too.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def toml_dumps(data: Mapping[str, Any], _prefix: tuple[str, ...] = ()) -> str:
    """TOML for plain data: scalars, lists of scalars, nested tables; None values are left out.

    (The standard library reads TOML but does not write it; this covers what we write.)
    """
    lines: list[str] = []
    tables: list[tuple[str, Mapping[str, Any]]] = []
    for key, value in data.items():
        if value is None:
            continue
        if isinstance(value, Mapping):
            tables.append((key, value))
        else:
            lines.append(f"{_key(key)} = {_value(value)}")
    out = "\n".join(lines) + ("\n" if lines else "")
    for key, table in tables:
        path = (*_prefix, key)
        header = ".".join(_key(k) for k in path)
        body = toml_dumps(table, path)
        has_scalars = any(not isinstance(v, Mapping) and v is not None for v in table.values())
        if has_scalars or not table:
            out += f"\n[{header}]\n"
        out += body
    return out
