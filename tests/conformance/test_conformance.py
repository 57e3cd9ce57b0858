"""Online and offline answer the same scan the same way: one table, every path.

Each scenario of `scenarios.SCENARIOS` is decided by the backend online, by the gate's
offline decision on the manifest that backend issued, and by a real daemon online-first
(its serial lanes on ptys, asking the backend); a subset also by a real daemon that
decides offline only. Every path must give the scenario's expected reason at every step.
A hypothesis test then draws random step sequences and requires the backend and the
gate to agree at every step.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanctl.core import Reason
from scanctl.daemon.layout import MANIFEST_FILE
from scanctl.manifests import ManifestStore
from tests.backend.helpers import ServerProcess, start_server
from tests.conformance.paths import (
    Device,
    World,
    backend_reasons,
    daemon_reasons,
    gate_reasons,
    now_ms,
)
from tests.conformance.scenarios import LANES, SCENARIOS, Scenario, Step
from tests.polling import wait_for

pytestmark = pytest.mark.slow

BY_NAME = {scenario.name: scenario for scenario in SCENARIOS}

# Decided by a real daemon offline too: one scenario per kind of rule the gate keeps.
PROCESS_OFFLINE = [
    "a screenshot",
    "a printed ticket twice",
    "a mistaken exit does not lock a single-entry ticket out",
    "the device's zone",
    "the policy's gate zone",
    "rate limits count per lane",
    "refunded",
]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("conformance")
    server = start_server(root / "backend", DEVICE_REGISTRATION_LIMIT="10000/hour")
    try:
        yield World(server, root / "gates")
    finally:
        assert server.stop() == 0, server.log()


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_backend_and_gate_give_the_expected_reasons(world: World, scenario: Scenario) -> None:
    online = backend_reasons(world.server, world.device(scenario), scenario)
    offline = gate_reasons(world.device(scenario), scenario)
    expected = list(scenario.expect)
    assert (online, offline) == (expected, expected)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_a_real_daemon_online_first_gives_the_backends_reasons(
    world: World, scenario: Scenario
) -> None:
    journaled = daemon_reasons(world.server, world.device(scenario), scenario, "online-first")
    assert journaled == [(reason, "online") for reason in scenario.expect]


@pytest.mark.parametrize("name", PROCESS_OFFLINE)
def test_a_real_daemon_offline_gives_the_same_reasons(world: World, name: str) -> None:
    scenario = BY_NAME[name]
    journaled = daemon_reasons(world.server, world.device(scenario), scenario, "offline-only")
    assert journaled == [(reason, "offline") for reason in scenario.expect]


_STEPS = st.builds(
    Step,
    lane=st.sampled_from(["main", "main-2", "exit", "vip", "ga"]),
    ticket=st.integers(min_value=0, max_value=1),
    code=st.sampled_from(["fresh", "fresh", "fresh", "same", "printed", "expired", "forged"]),
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    profile=st.sampled_from(["standard", "reentry", "window", "cooldown", "zones", "all-zones"]),
    device_zone=st.sampled_from([None, "GA"]),
    zones=st.lists(st.sampled_from([[], ["GA"], ["VIP"], ["GA", "VIP"]]), min_size=2, max_size=2),
    steps=st.lists(_STEPS, min_size=1, max_size=6),
)
def test_backend_and_gate_agree_on_any_sequence(
    world: World,
    profile: str,
    device_zone: str | None,
    zones: list[list[str]],
    steps: list[Step],
) -> None:
    if device_zone is not None:  # a box registered to a zone has no lane into another
        steps = [s for s in steps if LANES[s.lane].zone in (None, device_zone)] or [Step()]
    scenario = Scenario(
        "drawn",
        tuple(steps),
        (),
        profile=profile,
        tickets=tuple({"zones": z} for z in zones),
        device_zone=device_zone,
    )
    online = backend_reasons(world.server, world.device(scenario), scenario)
    offline = gate_reasons(world.device(scenario), scenario)
    assert online == offline, [(s.lane, s.code, s.ticket) for s in steps]


def test_a_stale_manifest_is_the_one_documented_difference(tmp_path: Path) -> None:
    """Offline, a manifest past its validity denies (MANIFEST_STALE, the default) or admits
    with a warning; online the backend's data is never stale and it decides as usual."""
    server: ServerProcess = start_server(
        tmp_path / "backend", OFFLINE_MANIFEST_VALIDITY_HOURS="0.0005"
    )
    try:
        world = World(server, tmp_path / "gates")
        scenario = BY_NAME["first entry"]
        device = world.device(scenario)
        wait_for(lambda: _stale(device), timeout=10, what="the manifest to go stale")
        assert gate_reasons(device, scenario) == [Reason.MANIFEST_STALE]
        assert backend_reasons(server, device, scenario) == [Reason.ADMITTED]
    finally:
        assert server.stop() == 0


def _stale(device: Device) -> bool:
    with ManifestStore(device.data_dir / MANIFEST_FILE) as store:
        return bool(store.is_stale(now_ms()))
