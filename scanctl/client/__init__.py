"""The backend API client: auth, retries, circuit breaker; used by the CLI and the daemon.

    with ScanctlClient(url, BearerToken(token)) as backend:
        backend.put_policy(event_id, policy)

    async with AsyncScanctlClient(url, DeviceAuth(...), breaker=CircuitBreaker()) as backend:
        result = await backend.scan(code, event_id, device_id)   # 300 ms deadline

Errors: see `scanctl.client.errors` (``Unreachable`` → exit 3, ``AuthError`` → exit 4).
"""

from scanctl.client.async_client import AsyncScanctlClient
from scanctl.client.auth import BearerToken, DeviceAuth
from scanctl.client.base import DEFAULT_TIMEOUT
from scanctl.client.breaker import BreakerSnapshot, BreakerState, CircuitBreaker
from scanctl.client.device_token import DEVICE_TOKEN_LIFETIME, mint_device_token
from scanctl.client.endpoints import SCAN_DEADLINE, Call
from scanctl.client.errors import (
    ApiError,
    AuthError,
    BadRequest,
    CircuitOpen,
    ClientError,
    Conflict,
    ConnectFailed,
    FieldError,
    Forbidden,
    InvalidResponse,
    NotAuthorized,
    NotFound,
    RateLimited,
    ServerError,
    ServiceUnavailable,
    TimedOut,
    Unreachable,
)
from scanctl.client.models import ScanResult, ScansPage
from scanctl.client.retry import NO_RETRY, RetryPolicy
from scanctl.client.sync_client import ScanctlClient

__all__ = [
    "DEFAULT_TIMEOUT",
    "DEVICE_TOKEN_LIFETIME",
    "NO_RETRY",
    "SCAN_DEADLINE",
    "ApiError",
    "AsyncScanctlClient",
    "AuthError",
    "BadRequest",
    "BearerToken",
    "BreakerSnapshot",
    "BreakerState",
    "Call",
    "CircuitBreaker",
    "CircuitOpen",
    "ClientError",
    "Conflict",
    "ConnectFailed",
    "DeviceAuth",
    "FieldError",
    "Forbidden",
    "InvalidResponse",
    "NotAuthorized",
    "NotFound",
    "RateLimited",
    "RetryPolicy",
    "ScanResult",
    "ScanctlClient",
    "ScansPage",
    "ServerError",
    "ServiceUnavailable",
    "TimedOut",
    "Unreachable",
    "mint_device_token",
]
