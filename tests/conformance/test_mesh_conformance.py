"""Issue 16: across two gates, the gate mesh answers a scan the way the backend does.

A ticket's scans move between two gates (two registered devices, gates "north" and
"south"). The backend decides them online, each with its own device's token; the mesh
path decides them offline at two gates — each a `GateDecider` on the manifest that
backend issued it, its real journal, and a real `MeshNode` on loopback UDP with the
other gate as its peer — waiting after each scan until the other gate has applied it
(a presentation a second later, as the issue's promise goes). Both must give every
step's expected reason, and a second entry must name the gate and time of the first.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from scanctl.client import ScanctlClient
from scanctl.client.device_token import mint_device_token
from scanctl.core import Decision, Direction, RawScan, Reason, ms_of_iso
from scanctl.daemon.config import MeshSettings
from scanctl.daemon.decider import GateContext, GateDecider, Lane
from scanctl.daemon.journal import Journal
from scanctl.daemon.layout import MANIFEST_FILE
from scanctl.daemon.mesh import MeshNode, build_node
from scanctl.daemon.state import GateState
from scanctl.manifests import ManifestStore, ManifestVerifier, TrustedKeys
from scanctl.manifests.sealing import open_event_keys
from tests.backend.helpers import ServerProcess, start_server
from tests.conformance.paths import Codes, Device, World, now_ms
from tests.conformance.scenarios import Scenario, Step

pytestmark = pytest.mark.slow

R = Reason
NORTH = Lane("north-1", "north")
NORTH_EXIT = Lane("north-out", "north", Direction.EXIT)
SOUTH = Lane("south-1", "south")
LANES = {"north": NORTH, "north-exit": NORTH_EXIT, "south": SOUTH}


@dataclass(frozen=True)
class CrossStep:
    gate: int
    """0: the first device (north), 1: the second (south)."""
    lane: str
    code: str = "fresh"


@dataclass(frozen=True)
class CrossScenario:
    name: str
    steps: tuple[CrossStep, ...]
    expect: tuple[Reason, ...]
    profile: str = "standard"


IN_NORTH, IN_SOUTH = CrossStep(0, "north"), CrossStep(1, "south")
SCENARIOS = [
    CrossScenario(
        "a second entry at the other gate",
        (IN_NORTH, IN_SOUTH),
        (R.ADMITTED, R.ALREADY_SCANNED),
    ),
    CrossScenario(
        "a screenshot at the other gate",
        (IN_NORTH, CrossStep(1, "south", "same")),
        (R.ADMITTED, R.QR_ALREADY_USED),
    ),
    CrossScenario(
        "a printed ticket at both gates",
        (CrossStep(0, "north", "printed"), CrossStep(1, "south", "printed")),
        (R.ADMITTED, R.ALREADY_SCANNED),
    ),
    CrossScenario(
        "out at one gate, in at the other, once too often",
        (IN_NORTH, CrossStep(0, "north-exit"), IN_SOUTH, CrossStep(0, "north-exit"), IN_NORTH),
        (R.ADMITTED, R.EXITED, R.RE_ENTRY_ADMITTED, R.EXITED, R.MAX_REENTRIES),
        profile="reentry",
    ),
]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("mesh-conformance")
    server = start_server(root / "backend", DEVICE_REGISTRATION_LIMIT="10000/hour")
    try:
        yield World(server, root / "gates")
    finally:
        assert server.stop() == 0, server.log()


def _pair(world: World, profile: str) -> tuple[Device, Device]:
    """Two gates of one event holding the same (fresh) tickets, each listed in the
    other's manifest."""
    first = world.device(Scenario("pair", (Step(),), (R.ADMITTED,), profile=profile))
    second = world.register(first.event, first.tickets, first.secrets)
    _pull_again(world, first)
    return first, second


def _pull_again(world: World, device: Device) -> None:
    with ScanctlClient(world.server.url, device.auth()) as client:
        wire = client.pull_manifest(device.event, device_id=device.device_id)
    with ManifestStore(device.data_dir / MANIFEST_FILE) as store:
        store.load(
            wire,
            ManifestVerifier(TrustedKeys(device.identity.trusted_manifest_keys)),
            tenant_id=world.tenant,
            venue_id=world.venue,
            now_ms=now_ms(),
        )


def _step(step: CrossStep) -> Step:
    return Step(step.lane, 0, step.code)


def backend_answers(
    server: ServerProcess, devices: tuple[Device, Device], scenario: CrossScenario
) -> list[dict[str, Any]]:
    codes = Codes(devices[0])  # both gates present codes of the same tickets
    answers = []
    for step in scenario.steps:
        device, lane = devices[step.gate], LANES[step.lane]
        token = mint_device_token(
            device_id=device.device_id,
            tenant_id=device.identity.tenant_id,
            venue_id=device.identity.venue_id,
            private_key=device.keys.signing,
            now=time.time(),
        )
        body = {
            "qrData": codes.code(_step(step)),
            "eventId": device.event,
            "deviceId": device.device_id,
            "gate": lane.gate,
            "direction": lane.direction.value,
            "lane": lane.scanner,
            "timestamp": now_ms(),
        }
        with server.client(token) as http:
            response = http.post("/api/scan", json=body)
        assert response.status_code == 200, response.text
        answers.append({**response.json(), "sentAt": body["timestamp"]})
        time.sleep(0.002)  # the next read a moment later, as at a door
    return answers


@dataclass
class MeshGate:
    decider: GateDecider
    journal: Journal
    node: MeshNode
    store: ManifestStore


def _mesh_gate(device: Device) -> MeshGate:
    store = ManifestStore(device.data_dir / MANIFEST_FILE)
    header = store.header
    assert header is not None
    keys = tuple(open_event_keys(header, device.keys.exchange))
    context = GateContext(header.event, header.policy, keys, device.device_id, header.issued_at_ms)
    state = GateState()
    decider = GateDecider(context, store, state)
    journal = Journal(device.data_dir / "journal.sqlite3")
    node = build_node(
        MeshSettings(listen="127.0.0.1:0", heartbeat_ms=100),
        header=header,
        keys=device.keys,
        event_keys=keys,
        database=device.data_dir / "journal.sqlite3",
        state=state,
        policy=lambda: header.policy,
        conflicts=None,
        clock_ms=now_ms,
    )
    journal.on_commit = node.on_journaled
    return MeshGate(decider, journal, node, store)


async def mesh_decisions(
    devices: tuple[Device, Device], scenario: CrossScenario
) -> list[tuple[Decision, int]]:
    gates = [_mesh_gate(device) for device in devices]
    codes = Codes(devices[0])
    try:
        for gate in gates:
            await gate.node.start()
        gates[0].node.add_peer(gates[1].node.listen, "static")
        gates[1].node.add_peer(gates[0].node.listen, "static")
        decisions = []
        for step in scenario.steps:
            gate, lane = gates[step.gate], LANES[step.lane]
            raw = RawScan(codes.code(_step(step)).encode(), "]Q1", lane.scanner, time.monotonic())
            read = gate.decider.take(raw, lane, now_ms())
            decision, entry = gate.decider.decide(read)
            await gate.journal.append(entry)
            decisions.append((decision, read.read_ms))
            other = gates[1 - step.gate]
            deadline = time.monotonic() + 5
            while other.node.log.have.get(devices[step.gate].device_id, 0) < gate.node.log.own_seq:
                assert time.monotonic() < deadline, "the other gate never heard of the scan"
                await asyncio.sleep(0.005)
        return decisions
    finally:
        for gate in gates:
            gate.node.close()
            gate.journal.close()
            gate.store.close()


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_two_gates_in_a_mesh_answer_as_the_backend_does(
    world: World, scenario: CrossScenario
) -> None:
    backend_pair, mesh_pair = _pair(world, scenario.profile), _pair(world, scenario.profile)
    online = backend_answers(world.server, backend_pair, scenario)
    offline = asyncio.run(mesh_decisions(mesh_pair, scenario))
    assert [R(a["reason"]) for a in online] == list(scenario.expect)
    assert [d.reason for d, _ in offline] == list(scenario.expect)
    for answer, (decision, _) in zip(online, offline, strict=True):
        if decision.reason is R.ALREADY_SCANNED:  # where and when: the first admission's
            assert answer["admittedGate"] == decision.admitted_gate == "north"
            assert answer["admittedDevice"] == backend_pair[0].device_id  # who: the first gate
            assert decision.admitted_device == mesh_pair[0].device_id
            assert ms_of_iso(answer["admittedAt"]) == online[0]["sentAt"]
            assert decision.admitted_at_ms == offline[0][1]
