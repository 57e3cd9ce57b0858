"""The backend's public surface is what we think it is."""

from __future__ import annotations

import importlib

import pytest

import scanctl.backend
import scanctl.backend.auth
import scanctl.backend.store

PACKAGES = {
    "scanctl.backend": {
        "BackendError",
        "ConfigError",
        "Scope",
        "Settings",
        "create_app",
        "load_settings",
    },
    "scanctl.backend.auth": {
        "PERSON_ROLES",
        "ROLE_PERMISSIONS",
        "AuthenticationError",
        "Authenticator",
        "CurrentPrincipal",
        "DeviceTokenVerifier",
        "Permission",
        "PersonTokenVerifier",
        "Principal",
        "PrincipalKind",
        "Role",
        "allowed",
        "current_principal",
        "issue_person_token",
        "require",
    },
    "scanctl.backend.sharedstate": {
        "Invalidation",
        "InvalidationBus",
        "KeySpace",
        "Precheck",
        "RedisLink",
        "ScanGuard",
        "SharedLevel",
        "SharedState",
        "redis_url_problem",
    },
}


@pytest.mark.parametrize("name", sorted(PACKAGES))
def test_exports(name: str) -> None:
    module = importlib.import_module(name)
    assert set(module.__all__) == PACKAGES[name]
    for member in module.__all__:
        assert getattr(module, member) is not None
    with pytest.raises(AttributeError):
        module.no_such_name  # noqa: B018


def test_every_store_function_takes_a_scope_first() -> None:
    import inspect

    from scanctl.backend.store.scope import Scope

    functions = [
        getattr(scanctl.backend.store, name)
        for name in scanctl.backend.store.__all__
        if inspect.isfunction(getattr(scanctl.backend.store, name))
    ]
    assert len(functions) >= 15
    for function in functions:
        first = next(iter(inspect.signature(function, eval_str=True).parameters.values()))
        assert first.name == "scope" and first.annotation is Scope, function.__name__


def test_every_module_says_what_it_is_for() -> None:
    import pkgutil

    for info in pkgutil.walk_packages(scanctl.backend.__path__, "scanctl.backend."):
        if info.name.startswith("scanctl.backend.migrations."):
            continue  # run by Alembic only; checked by the migration tests
        module = importlib.import_module(info.name)
        assert module.__doc__ and module.__doc__.strip(), info.name
