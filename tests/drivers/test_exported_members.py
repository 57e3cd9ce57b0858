"""The public surface of scanctl.drivers is what we think it is."""

from __future__ import annotations

import importlib
import pkgutil

import scanctl.drivers as drivers
from scanctl.drivers import errors

EXPECTED_DRIVERS = {"SerialScanner", "HidScanner", "TcpScanner", "StdinScanner", "SimulatedScanner"}


def _modules() -> list[object]:
    return [
        importlib.import_module(f"scanctl.drivers.{info.name}")
        for info in pkgutil.iter_modules(drivers.__path__)
    ]


def test_every_module_has_a_one_line_docstring_and_all() -> None:
    for module in _modules():
        doc = module.__doc__ or ""
        assert doc.strip(), module
        assert hasattr(module, "__all__"), module
        for name in module.__all__:  # type: ignore[attr-defined]
            assert hasattr(module, name), (module, name)


def test_package_exports_every_public_name_of_its_modules() -> None:
    exported = set(drivers.__all__)
    assert len(exported) == len(drivers.__all__)
    for module in _modules():
        assert set(module.__all__) <= exported, module  # type: ignore[attr-defined]
    for name in exported:
        assert getattr(drivers, name) is not None


def test_every_driver_is_a_scanner_driver_class() -> None:
    assert set(drivers.__all__) >= EXPECTED_DRIVERS
    for name in EXPECTED_DRIVERS:
        cls = getattr(drivers, name)
        for member in ("__aiter__", "__anext__", "feedback", "aclose"):
            assert callable(getattr(cls, member)), (name, member)


def test_one_exception_tree() -> None:
    for name in errors.__all__:
        error = getattr(errors, name)
        assert issubclass(error, errors.DriverError)
        assert name in (errors.__doc__ or "")
    assert issubclass(errors.DriverConfigError, ValueError)
    assert issubclass(errors.DeviceNotFoundError, errors.DeviceUnavailableError)
