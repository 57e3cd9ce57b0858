"""The CLI's few HTTP calls to the backend, in one place until `scanctl.client` replaces them.

Errors become `BackendCallError` carrying the exit code the command should end with:
3 when the backend cannot be reached, 4 when the token is refused, 1 otherwise.
"""

from __future__ import annotations

import os
from typing import Any

import httpx

from scanctl.cli.exit_codes import ExitCode

__all__ = ["DEFAULT_URL", "BackendCallError", "BackendHttp", "token_from_env", "url_from_env"]

DEFAULT_URL = "http://127.0.0.1:3009"


def url_from_env() -> str:
    """SCANCTL_URL, or the backend's default local address."""
    return os.environ.get("SCANCTL_URL", DEFAULT_URL)


def token_from_env() -> str | None:
    """SCANCTL_TOKEN, when set."""
    return os.environ.get("SCANCTL_TOKEN") or None


class BackendCallError(Exception):
    """A call failed; ``exit_code`` says how the command should end."""

    def __init__(self, message: str, exit_code: ExitCode) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class BackendHttp:
    """A bearer-authenticated JSON client for the backend's REST API."""

    def __init__(
        self,
        url: str,
        token: str | None,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._client = httpx.Client(
            base_url=url.rstrip("/"), headers=headers, timeout=timeout, transport=transport
        )

    def __enter__(self) -> BackendHttp:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._client.close()

    def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
    ) -> Any:
        """The decoded JSON answer of a 2xx response, or BackendCallError."""
        try:
            response = self._client.request(method, path, json=json, params=params)
        except httpx.TransportError as exc:
            raise BackendCallError(
                f"cannot reach the backend at {self._client.base_url}: {exc}",
                ExitCode.UNREACHABLE,
            ) from None
        if response.is_success:
            return response.json() if response.content else None
        detail = _detail(response)
        if response.status_code in (401, 403):
            raise BackendCallError(f"{response.status_code}: {detail}", ExitCode.NOT_AUTHORIZED)
        raise BackendCallError(f"{response.status_code}: {detail}", ExitCode.FAILED)


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    detail = body.get("detail") if isinstance(body, dict) else body
    if isinstance(detail, list):  # FastAPI validation errors
        return "; ".join(
            f"{'.'.join(str(p) for p in item.get('loc', []))}: {item.get('msg')}"
            for item in detail
            if isinstance(item, dict)
        )
    return str(detail)
