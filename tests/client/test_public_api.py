"""The public surface of scanctl.client is what we think it is."""

from __future__ import annotations

import scanctl.client
from scanctl.client import errors

EXPECTED = {
    "DEFAULT_TIMEOUT", "DEVICE_TOKEN_LIFETIME", "NO_RETRY", "SCAN_DEADLINE", "ApiError",
    "AsyncScanctlClient", "AuthError", "BadRequest", "BearerToken", "BreakerSnapshot",
    "BreakerState", "Call", "CircuitBreaker", "CircuitOpen", "ClientError", "Conflict",
    "ConnectFailed", "DeviceAuth", "FieldError", "Forbidden", "InvalidResponse",
    "NotAuthorized", "NotFound", "RateLimited", "RetryPolicy", "ScanResult", "ScansPage",
    "ScanctlClient",
    "ServerError", "ServiceUnavailable", "TimedOut", "Unreachable", "mint_device_token",
}  # fmt: skip


def test_exported_members() -> None:
    assert set(scanctl.client.__all__) == EXPECTED
    for name in EXPECTED:
        assert hasattr(scanctl.client, name), name


def test_the_tree_is_as_drawn() -> None:
    """The CLI's three checks (Unreachable → 3, AuthError → 4, ClientError → 1) cover all."""
    for name in errors.__all__:
        cls = getattr(errors, name)
        if isinstance(cls, type) and issubclass(cls, Exception):
            assert issubclass(cls, errors.ClientError), name
            assert name in (errors.__doc__ or ""), f"{name} is missing from the drawing"
    assert issubclass(errors.ServiceUnavailable, errors.Unreachable)
    assert issubclass(errors.ServiceUnavailable, errors.ServerError)
    for cls in (errors.ConnectFailed, errors.TimedOut, errors.CircuitOpen):
        assert issubclass(cls, errors.Unreachable)
    for cls in (errors.NotAuthorized, errors.Forbidden):
        assert issubclass(cls, errors.AuthError)
        assert not issubclass(cls, errors.Unreachable)
