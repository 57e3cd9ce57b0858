"""The backend's one settings object: environment names of DESIGN.md, or a TOML file.

Built once at the entry point with `load_settings()` and passed down. Sources, highest
priority first: explicit overrides (command-line flags), the environment, the TOML
file given with ``--config`` (keys are the lower-case setting names, ``hmac_secret =
"…"``), then the defaults below. Secrets have no default: they must be configured.

Every problem is collected and reported at once (`ConfigError.problems`, one line
each, named by its environment variable) before anything binds a port.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import platformdirs
from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from scanctl.backend.errors import ConfigError
from scanctl.backend.secrets_check import generate_hint, secret_problems

__all__ = [
    "MANIFEST_SIGNING_KEY_REQUIRED",
    "SECRET_SETTINGS",
    "Settings",
    "load_jwt_secret",
    "load_settings",
]

# Offline manifests are signed with it, so the signing key is mandatory (DESIGN.md, Keys).
# A configured key is always checked with the manifests package's own loader.
MANIFEST_SIGNING_KEY_REQUIRED = True

Port = Annotated[int, Field(ge=1, le=65535)]
PositiveSeconds = Annotated[float, Field(gt=0, le=3600)]


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("scanctl"))


class Settings(BaseSettings):
    """Everything `scanctl server run` needs. Environment names are the upper-case names."""

    model_config = SettingsConfigDict(
        extra="forbid",
        case_sensitive=False,
        validate_by_name=True,
        validate_by_alias=True,
        frozen=True,
    )

    hmac_secret: SecretStr
    """Master secret of rotating QR codes (event keys derive from it). Required, no default."""
    hmac_secret_previous: SecretStr | None = None
    """The previous HMAC secret, still accepted for verification while codes rotate over."""
    jwt_secret: SecretStr
    """HS256 key of people's bearer tokens. Required, no default."""
    manifest_signing_key: SecretStr | None = None
    """Ed25519 private key for manifests: 32 bytes as base64, or a PKCS8 PEM file path."""

    host: str = "127.0.0.1"
    """Interface to listen on."""
    port: Port = 3009
    """TCP port to listen on."""
    data_dir: Path = Field(
        default_factory=_default_data_dir,
        validation_alias=AliasChoices("data_dir", "scanctl_data_dir"),
    )
    """Where the default SQLite database lives (env SCANCTL_DATA_DIR)."""
    database_url: str | None = None
    """SQLAlchemy URL; default a SQLite file `backend.sqlite3` in the data directory."""
    redis_url: str | None = None
    """Redis shared by several instances: nonces, rate limits, duplicate windows, catalog
    caches and their invalidations. Optional: the database stays the authority; without
    Redis (or while it is down) each instance works from the database and its memory."""
    redis_key_prefix: str = "scanctl:"
    """Prefix of every Redis key and channel, so that deployments can share one Redis."""
    redis_timeout_seconds: Annotated[float, Field(gt=0, le=5)] = 0.25
    """Deadline of one Redis operation; a slower or failed one marks Redis unavailable."""
    ticket_service_url: str | None = None
    """Upstream ticket service; the backend's own catalog is used when unset."""
    event_service_url: str | None = None
    """Upstream event service; the backend's own catalog is used when unset."""
    upstream_token: SecretStr | None = None
    """Bearer token presented to the ticket and event services (for a scanctl backend
    upstream: a SYSTEM-role JWT of its tenant). Required with the service URLs; no default."""
    upstream_tenant: str | None = None
    """The tenant whose tickets and events the services hold (the token's tenant). Required
    with the service URLs; other tenants of this backend keep using its own catalog."""
    upstream_timeout_seconds: Annotated[float, Field(gt=0, le=10)] = 0.5
    """Budget of one upstream lookup, retries included: a dead service must not stall a scan."""
    upstream_failure_threshold: Annotated[int, Field(ge=1, le=1000)] = 5
    """Consecutive failed lookups that open a service's circuit breaker."""
    upstream_reset_seconds: Annotated[float, Field(gt=0, le=3600)] = 10
    """How long an open breaker waits before letting a probe through (half-open)."""
    upstream_ticket_ttl_seconds: Annotated[float, Field(gt=0, le=86400)] = 300
    """How long a fetched ticket is used without asking again."""
    upstream_event_ttl_seconds: Annotated[float, Field(gt=0, le=86400)] = 900
    """How long a fetched event is used without asking again."""

    duplicate_scan_window_seconds: Annotated[int, Field(ge=0, le=7 * 24 * 3600)] = 600
    """Default duplicate window of events without their own policy."""
    qr_expiration_seconds: Annotated[int, Field(ge=5, le=3600)] = 30
    """How long a rotating QR code is valid."""
    offline_manifest_validity_hours: Annotated[float, Field(gt=0, le=7 * 24)] = 24
    """Upper bound on an offline manifest's validity, from the pull. A manifest is valid
    until its event's end plus OFFLINE_MANIFEST_GRACE_HOURS; this only caps that, so a
    snapshot pulled days early (refunds and transfers since unseen) is not used at the
    doors. 24 h covers any one-day event pulled the same day."""
    offline_manifest_grace_hours: Annotated[float, Field(ge=0, le=48)] = 2
    """How long after its event's end an offline manifest stays valid (late exits,
    an overrunning show, a gate that cannot reach the backend at the end)."""
    offline_late_upload_hours: Annotated[float, Field(gt=0, le=365 * 24)] = 24
    """An offline scan uploaded more than this long after it was scanned is flagged late."""

    request_timeout_seconds: PositiveSeconds = 30
    """A request still running after this long is answered 504 (its work is abandoned)."""
    max_body_bytes: Annotated[int, Field(ge=1024, le=256 * 1024 * 1024)] = 8 * 1024 * 1024
    """Request bodies larger than this are refused with 413."""
    keep_alive_seconds: PositiveSeconds = 5
    """How long an idle HTTP keep-alive connection stays open."""
    max_connections: Annotated[int, Field(ge=16, le=1_000_000)] = 1000
    """Open connections at most (also kept below the process's file limit); one more
    closes the connection idle longest, so a flood of idle sockets never stops `/health`."""
    max_header_bytes: Annotated[int, Field(ge=1024, le=1024 * 1024)] = 32 * 1024
    """Request headers larger than this are answered 431 and the connection closed."""
    header_timeout_seconds: PositiveSeconds = 10
    """A request's headers (and a new connection's first request) must arrive within
    this long, else the connection is closed (slow-header attacks)."""
    shutdown_timeout_seconds: PositiveSeconds = 20
    """How long SIGTERM waits for in-flight requests before cancelling them."""
    shutdown_drain_seconds: Annotated[float, Field(ge=0, le=300)] = 0
    """After SIGTERM, keep serving this long with `/ready` at 503 before closing the socket."""
    device_registration_limit: str = "10/hour"
    """Device registrations allowed per venue (`limits` notation, e.g. `10/hour`)."""
    rate_limit_storage_url: str | None = None
    """`limits` storage for rate limits; default REDIS_URL when set, else `memory://`."""
    auto_migrate: bool | None = None
    """Migrate the database at start. Default: yes for SQLite, no for other databases."""
    enable_test_routes: bool = False
    """Adds routes that exist only for the test suite (a deliberately slow request)."""
    log_level: Literal["critical", "error", "warning", "info", "debug", "trace"] = "info"
    """Log level of the server's log (the access log and uvicorn's own lines included).
    ``debug`` adds the cause of each INVALID scan (bad format, bad MAC, unknown ticket),
    which ``info`` already logs too; never the code itself."""
    log_format: Literal["auto", "human", "logfmt", "json"] = "auto"
    """One line per record on stderr: ``json`` (one object a line), ``logfmt``, or
    ``human``; ``auto`` is human on a terminal and logfmt otherwise (journald)."""

    @property
    def effective_database_url(self) -> str:
        """The configured database URL, or the SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'backend.sqlite3'}"

    @property
    def effective_rate_limit_storage_url(self) -> str:
        """Where rate-limit counts live: RATE_LIMIT_STORAGE_URL, else REDIS_URL, else memory."""
        if self.rate_limit_storage_url:
            return self.rate_limit_storage_url
        if self.redis_url:
            # `limits` spells a Redis socket path redis+unix://, redis-py unix://.
            url = self.redis_url
            return "redis+" + url if url.startswith("unix://") else url
        return "memory://"

    @property
    def is_sqlite(self) -> bool:
        """Whether the database is the embedded SQLite."""
        return self.effective_database_url.startswith("sqlite")

    @property
    def should_auto_migrate(self) -> bool:
        """Whether `server run` migrates before serving."""
        return self.is_sqlite if self.auto_migrate is None else self.auto_migrate

    @field_validator("hmac_secret", "jwt_secret", "hmac_secret_previous")
    @classmethod
    def _strong(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            problems = secret_problems(value.get_secret_value())
            if problems:
                raise ValueError(_PROBLEM_SEPARATOR.join(problems))
        return value

    @field_validator("manifest_signing_key")
    @classmethod
    def _manifest_key(cls, value: SecretStr | None) -> SecretStr | None:
        problems = _manifest_key_problems(value)
        if problems:
            raise ValueError(_PROBLEM_SEPARATOR.join(problems))
        return value

    @field_validator("device_registration_limit")
    @classmethod
    def _limit(cls, value: str) -> str:
        from limits import parse

        try:
            parse(value)
        except ValueError:
            raise ValueError("not a rate like `10/hour` or `100 per day`") from None
        return value

    @field_validator("rate_limit_storage_url")
    @classmethod
    def _limit_storage(cls, value: str | None) -> str | None:
        if value is None:
            return value
        scheme = value.split("://", 1)[0]
        if "://" not in value or scheme not in _LIMIT_STORAGE_SCHEMES:
            raise ValueError(
                f"must start with one of {', '.join(sorted(_LIMIT_STORAGE_SCHEMES))}://"
            )
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is None:
            return value
        from scanctl.backend.sharedstate.keys import redis_url_problem

        problem = redis_url_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("redis_key_prefix")
    @classmethod
    def _redis_prefix(cls, value: str) -> str:
        if not 1 <= len(value) <= 64 or not value.isprintable() or any(c.isspace() for c in value):
            raise ValueError("must be 1 to 64 printable characters without spaces")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        if value is None:
            return value
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError, NoSuchModuleError

        try:
            make_url(value).get_dialect().import_dbapi()
        except (ArgumentError, NoSuchModuleError, ValueError):
            raise ValueError("not a database URL this installation can use") from None
        except ImportError as exc:
            raise ValueError(f"its driver is not installed ({exc.name})") from None
        return value

    @model_validator(mode="after")
    def _distinct_secrets(self) -> Settings:
        problems: list[str] = []
        if self.hmac_secret.get_secret_value() == self.jwt_secret.get_secret_value():
            problems.append("JWT_SECRET: must differ from HMAC_SECRET")
        previous = self.hmac_secret_previous
        if (
            previous is not None
            and previous.get_secret_value() == self.hmac_secret.get_secret_value()
        ):
            problems.append("HMAC_SECRET_PREVIOUS: must differ from HMAC_SECRET")
        problems += _upstream_problems(self)
        if problems:
            raise ValueError(_PROBLEM_SEPARATOR.join(problems))
        return self

    @property
    def uses_upstream(self) -> bool:
        """Whether tickets and events come from the upstream services."""
        return self.ticket_service_url is not None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # load_settings merges flags > environment > TOML file itself and passes the result
        # as init values, so that tests can inject an environment mapping.
        return (init_settings,)


_PROBLEM_SEPARATOR = "\n\x00"
# Storages of `limits` that support the moving-window strategy.
_LIMIT_STORAGE_SCHEMES = frozenset(
    {"memory", "redis", "rediss", "redis+unix", "redis+cluster", "redis+sentinel", "mongodb"}
)


def _upstream_problems(settings: Settings) -> list[str]:
    # Both or neither: scans are recorded against events, so tickets from a service
    # need their events from the same source of truth.
    problems: list[str] = []
    ticket_url, event_url = settings.ticket_service_url, settings.event_service_url
    for name, url in (("TICKET_SERVICE_URL", ticket_url), ("EVENT_SERVICE_URL", event_url)):
        if url is not None and not url.startswith(("http://", "https://")):
            problems.append(f"{name}: must be an http:// or https:// URL")
    if (ticket_url is None) != (event_url is None):
        problems.append("TICKET_SERVICE_URL, EVENT_SERVICE_URL: set both or neither")
    if ticket_url is not None and settings.upstream_token is None:
        problems.append(
            "UPSTREAM_TOKEN: is required with TICKET_SERVICE_URL and EVENT_SERVICE_URL "
            "(the bearer token the services accept)"
        )
    if ticket_url is not None and settings.upstream_token is not None:
        problems += _token_expiry_problems(settings.upstream_token.get_secret_value())
    if ticket_url is not None and not settings.upstream_tenant:
        problems.append(
            "UPSTREAM_TENANT: is required with TICKET_SERVICE_URL and EVENT_SERVICE_URL "
            "(the tenant whose data the services hold)"
        )
    return problems


def _token_expiry_problems(token: str) -> list[str]:
    # A JWT that has already expired would make every lookup a 401: refuse it at start.
    # Opaque tokens are the services' business; the signature is theirs to check.
    import time

    import jwt

    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        return []
    expires = claims.get("exp")
    if isinstance(expires, int | float) and expires <= time.time():
        return ["UPSTREAM_TOKEN: has expired (its `exp` claim is in the past)"]
    return []


def _manifest_key_problems(value: SecretStr | None) -> list[str]:
    # The manifests package owns the key format; its loader's message names the setting
    # and never contains the key material.
    if value is None:
        return []
    from scanctl.manifests.errors import KeyMaterialError
    from scanctl.manifests.signing import load_signing_key

    try:
        load_signing_key(value.get_secret_value(), name="MANIFEST_SIGNING_KEY")
    except KeyMaterialError as exc:
        return [str(exc)]
    return []


_ENV_NAMES = {"data_dir": "SCANCTL_DATA_DIR", "scanctl_data_dir": "SCANCTL_DATA_DIR"}


def _env_name(field: str) -> str:
    return _ENV_NAMES.get(field, field.upper())


SECRET_SETTINGS = (
    "hmac_secret",
    "hmac_secret_previous",
    "jwt_secret",
    "manifest_signing_key",
    "upstream_token",
)
"""Settings that may also come from a file: ``X_FILE`` names it (systemd credentials:
``LoadCredential=hmac_secret:/etc/scanctl/hmac_secret`` and
``HMAC_SECRET_FILE=%d/hmac_secret``)."""


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            mode = os.fstat(fh.fileno()).st_mode
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError([f"--config: {path} does not exist"]) from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError([f"--config: {path} cannot be read: {exc}"]) from None
    values = {key.lower(): value for key, value in data.items()}
    held = sorted(k for k in values if k in SECRET_SETTINGS)
    if held and mode & 0o004:
        raise ConfigError(
            [
                f"--config: {path} holds secrets ({', '.join(held)}) and every user of this "
                f"machine may read it (mode {mode & 0o777:04o}): run `chmod 600 {path}` "
                "(640 for a group), or move the secrets to *_FILE settings"
            ]
        )
    return values


def _secret_files(values: dict[str, Any], env: dict[str, str]) -> list[str]:
    """Read every ``X_FILE`` (environment, else the TOML file's ``x_file``) into ``X``;
    the problems found (unreadable file, both X and X_FILE given)."""
    problems: list[str] = []
    for name in SECRET_SETTINGS:
        file_key = f"{name}_file"
        from_env = env.pop(file_key.upper(), None)
        from_toml = values.pop(file_key, None)
        location = from_env if from_env is not None else from_toml
        if location is None:
            continue
        if from_env is None and name.upper() in env:
            continue  # the environment beats the TOML file, as for every setting
        if name.upper() in env if from_env is not None else name in values:
            problems.append(f"{file_key.upper()}: set either {name.upper()} or this, not both")
            continue
        try:
            secret = Path(str(location)).read_text(encoding="utf-8").rstrip("\r\n")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            problems.append(f"{file_key.upper()}: cannot read {location}: {reason}")
            continue
        if from_env is not None:
            env[name.upper()] = secret
        else:
            values[name] = secret
    return problems


def _env_keys(env: Mapping[str, str]) -> set[str]:
    fields = set(Settings.model_fields) | {"scanctl_data_dir"}
    found = {key.lower() for key in env if key.lower() in fields}
    if "scanctl_data_dir" in found:
        found.add("data_dir")
    return found


def load_settings(
    config_file: Path | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Settings from flags, the environment and a TOML file, or ConfigError with every problem.

    ``environ`` defaults to the process environment; tests pass their own mapping.
    """
    env = dict(os.environ if environ is None else environ)
    values: dict[str, Any] = _read_toml(config_file) if config_file is not None else {}
    problems = _secret_files(values, env)
    # The environment beats the file: drop file keys the environment sets.
    for key in _env_keys(env):
        values.pop(key, None)
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    has_manifest_key = "manifest_signing_key" in values or "manifest_signing_key" in _env_keys(env)
    if MANIFEST_SIGNING_KEY_REQUIRED and not has_manifest_key:
        problems.append(
            "MANIFEST_SIGNING_KEY: is required (an Ed25519 private key: 32 bytes as standard "
            "base64, or the path of a PKCS8 PEM file)"
        )
    try:
        settings = _build(values, env)
    except ValidationError as exc:
        problems = _problems_from(exc) + problems
    if problems:
        raise ConfigError(problems)
    return settings


def _build(values: dict[str, Any], env: Mapping[str, str]) -> Settings:
    # pydantic-settings reads os.environ; to honour an injected mapping the environment
    # values are passed in as init values (they already lost to overrides above).
    keys = _env_keys(env)
    merged: dict[str, Any] = {k.lower(): v for k, v in env.items() if k.lower() in keys}
    if "scanctl_data_dir" in merged:
        merged["data_dir"] = merged.pop("scanctl_data_dir")
    merged.update(values)
    return Settings(**merged)


def _problems_from(exc: ValidationError) -> list[str]:
    problems: list[str] = []
    weak_secret = False
    for error in exc.errors():
        loc = [str(part) for part in error["loc"]]
        name = _env_name(loc[0]) if loc else ""
        if error["type"] == "missing":
            hint = f"; {generate_hint()}" if "secret" in name.lower() else ""
            problems.append(f"{name}: is required{hint}")
            continue
        if error["type"] == "extra_forbidden":
            problems.append(f"{name}: is not a setting this program knows")
            continue
        ctx_error = error.get("ctx", {}).get("error")
        lines = str(ctx_error).split(_PROBLEM_SEPARATOR) if ctx_error else [error["msg"]]
        for line in lines:
            if not loc:
                problems.append(line)  # model-level lines already start with their name
            elif line.startswith(name):  # a message that names its setting already
                problems.append(f"{name}: {line[len(name) :].lstrip(': ')}")
            else:
                problems.append(f"{name}: {line}")
                weak_secret |= "SECRET" in name
    if weak_secret:
        problems.append(f"(secrets: {generate_hint()})")
    return problems


def load_jwt_secret(
    config_file: Path | None = None, *, environ: Mapping[str, str] | None = None
) -> SecretStr:
    """JWT_SECRET alone, from the same sources and with the same checks (for `token issue`)."""
    env = dict(os.environ if environ is None else environ)
    values = _read_toml(config_file) if config_file is not None else {}
    problems = _secret_files(values, env)
    if problems:
        raise ConfigError(problems)
    raw = env.get("JWT_SECRET", values.get("jwt_secret"))
    if raw is None:
        raise ConfigError([f"JWT_SECRET: is required; {generate_hint()}"])
    problems = [f"JWT_SECRET: {p}" for p in secret_problems(str(raw))]
    if problems:
        raise ConfigError(problems)
    return SecretStr(str(raw))
