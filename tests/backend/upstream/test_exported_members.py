"""The upstream package's public surface is what we think it is."""

from __future__ import annotations

import pytest

import scanctl.backend.upstream as upstream


def test_exports() -> None:
    assert set(upstream.__all__) == {
        "ServiceClient",
        "UpstreamCatalog",
        "UpstreamError",
        "UpstreamMetrics",
        "UpstreamUnavailable",
        "build_upstream",
    }
    for member in upstream.__all__:
        assert getattr(upstream, member) is not None
    with pytest.raises(AttributeError):
        upstream.no_such_name  # noqa: B018
