"""Issue 16: gates of one event share admissions on the LAN while the backend is gone.

Real daemons, each with a serial scanner on a pty, deciding offline-only (no backend at
all). Where this machine can make network namespaces (root, iproute2: as CI has) each
gate is its own test host on a bridge and a partition is a cut link; otherwise the
gates share the loopback interface, and the tests that need a cut link say so. Every
test prints which hosts it ran on.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from scanctl.core import Direction
from scanctl.daemon.mesh import derive_mesh_key
from scanctl.daemon.mesh.wire import MeshCodec, MeshRecord, Summary
from scanctl.manifests import DeviceKeys, load_public_key
from tests.daemon.gate_kit import EVENT, SCANCTL, TENANT, api, wait_for
from tests.daemon.mesh_kit import (
    Lan,
    MeshGate,
    Venue,
    lan,
    namespaces_usable,
    provision_mesh,
    scanners,
    wait_mesh,
    write_config,
)

pytestmark = pytest.mark.slow

WHY_NO_NAMESPACES = namespaces_usable()


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Mesh:
    venue: Venue
    gates: list[MeshGate]
    lan: Lan | None
    addresses: dict[str, str]
    """gate name -> host:port its mesh listens on."""

    def gate(self, name: str) -> MeshGate:
        return next(g for g in self.gates if g.name == name)

    def cut(self, gate: MeshGate) -> None:
        assert self.lan is not None and gate.netns is not None
        self.lan.cut(gate.netns)

    def heal(self, gate: MeshGate) -> None:
        assert self.lan is not None and gate.netns is not None
        self.lan.heal(gate.netns)


def _start(venue: Venue, hosts: dict[str, str] | None, namespaces: list[str]) -> Mesh:
    gates = venue.gates
    if hosts is None:
        addresses = {g.name: f"127.0.0.1:{free_udp_port()}" for g in gates}
    else:
        for gate, netns in zip(gates, namespaces, strict=False):
            gate.netns = netns
        addresses = {g.name: f"{hosts[g.netns or '']}:7488" for g in gates}
    for gate in gates:
        others = [addresses[o.name] for o in gates if o is not gate]
        write_config(gate, addresses[gate.name], others)
    for gate in gates:
        gate.start()
    return Mesh(venue, gates, None, addresses)


@pytest.fixture
def mesh_of_three(tmp_path: Path) -> Iterator[Mesh]:
    venue = provision_mesh(tmp_path, ["north", "south", "east"], now_ms())
    with scanners(venue.gates):
        if WHY_NO_NAMESPACES is None:
            with lan(3) as (made, names):
                mesh = _start(venue, made.hosts, names)
                mesh.lan = made
                print("mesh hosts: network namespaces on a bridge (veth)")
                yield mesh
        else:
            if os.environ.get("CI") == "true":
                pytest.fail(f"CI must test the mesh across real hosts: {WHY_NO_NAMESPACES}")
            print(f"mesh hosts: loopback only ({WHY_NO_NAMESPACES})")
            yield _start(venue, None, [])


def _all_up(mesh: Mesh) -> None:
    wait_mesh(mesh.gates, "every gate to hear both others", lambda m: m["peers_up"] == 2)


def test_an_admission_at_one_gate_is_known_at_the_others_within_a_second(
    mesh_of_three: Mesh,
) -> None:
    mesh = mesh_of_three
    north, south, east = mesh.gates
    _all_up(mesh)
    ticket, printed_code = mesh.venue.tickets[7], next(iter(mesh.venue.printed))

    screenshot = north.token(ticket, now_ms())
    assert north.present(screenshot) == "ADMITTED"
    assert north.present(printed_code) == "ADMITTED"
    time.sleep(0.3)  # a second presentation, 300 ms later (the gap the issue promises is 1 s)
    assert south.present(south.token(ticket, now_ms())) == "ALREADY_SCANNED"
    assert east.present(screenshot) == "QR_ALREADY_USED"
    assert east.present(printed_code) == "ALREADY_SCANNED"
    # A ticket nobody has used is still admitted: the mesh shares, it does not block.
    assert south.present(south.token(mesh.venue.tickets[8], now_ms())) == "ADMITTED"

    for gate in (south, east):
        view = gate.mesh()
        assert view["records"]["peers"] >= 2
        assert view["propagation_ms"]["p99"] is not None
        assert view["propagation_ms"]["p99"] <= 250, view
    assert north.status()["journal"]["scans"] == 2
    names = {p["name"] for p in north.mesh()["peers"]}
    assert names == {"south", "east"}


def test_a_gate_that_was_down_catches_up_and_nothing_is_applied_twice(
    mesh_of_three: Mesh,
) -> None:
    mesh = mesh_of_three
    north, south, _east = mesh.gates
    _all_up(mesh)
    south.stop()
    admitted = mesh.venue.tickets[20:25]
    for ticket in admitted:
        assert north.present(north.token(ticket, now_ms())) == "ADMITTED"
    south.start()
    wait_for(
        lambda: south.mesh()["records"]["peers"] == len(admitted),
        "south to catch up on north's admissions",
        10,
    )
    # Heartbeats keep resending while it catches up; every record is held once.
    time.sleep(1)
    assert south.mesh()["records"]["peers"] == len(admitted)
    assert south.present(south.token(admitted[0], now_ms())) == "ALREADY_SCANNED"


@pytest.mark.skipif(
    WHY_NO_NAMESPACES is not None and os.environ.get("CI") != "true",
    reason=f"a partition needs a link to cut: {WHY_NO_NAMESPACES}",
)
def test_both_sides_of_a_cut_link_keep_deciding_and_report_the_overlap_when_it_heals(
    mesh_of_three: Mesh,
) -> None:
    mesh = mesh_of_three
    north, _south, east = mesh.gates
    _all_up(mesh)
    ticket = mesh.venue.tickets[40]
    mesh.cut(east)
    wait_for(
        lambda: {p["name"]: p["state"] for p in north.mesh()["peers"]}["east"] == "down",
        "north to see east's link down",
        10,
    )
    started = time.monotonic()
    assert north.present(north.token(ticket, now_ms())) == "ADMITTED"
    assert east.present(east.token(ticket, now_ms())) == "ADMITTED"  # it cannot know
    assert time.monotonic() - started < 2, "a cut link must not slow a decision down"
    assert north.mesh()["peers_up"] == 1
    shown = subprocess.run(
        [SCANCTL, "daemon", "status", "--config", str(north.config)],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    assert "1 of 2 peers up" in shown, shown
    wait_for(  # the once-a-second watch raises it
        lambda: any(
            a["kind"] == "mesh_peer_lost" and a["active"] and "east" in a["message"]
            for a in api(north.socket, "/alerts")["alerts"]
        ),
        "north's alert that east is lost",
        5,
    )
    assert re.search(r"peer east \(\S+:7488\): DOWN, last heard", shown), shown
    assert re.search(r"peer south \(\S+:7488\): up, last heard .*, 0 admissions behind", shown)

    mesh.heal(east)
    for gate in (north, east):
        wait_for(
            lambda gate=gate: gate.status()["conflicts"].get("open") == 1,
            f"{gate.name} to report the double entry",
            15,
        )
    for gate in (north, east):
        (conflict,) = api(gate.socket, "/conflicts")["conflicts"]
        assert conflict["ticket_id"] == ticket
        assert conflict["kind"] == "entry-without-exit"
        assert set(conflict["gates"]) == {"north", "east"}
    wait_mesh(
        mesh.gates,
        "every gate to hold every record",
        lambda m: m["records"]["own"] + m["records"]["peers"] == 2,
    )


@pytest.mark.skipif(
    WHY_NO_NAMESPACES is not None and os.environ.get("CI") != "true",
    reason=f"mDNS needs hosts on a LAN: {WHY_NO_NAMESPACES}",
)
def test_gates_with_no_peers_configured_find_each_other_by_mdns(tmp_path: Path) -> None:
    venue = provision_mesh(tmp_path, ["north", "south", "east"], now_ms())
    with scanners(venue.gates), lan(3) as (_lan, names):
        for gate, netns in zip(venue.gates, names, strict=True):
            gate.netns = netns
            write_config(gate, "0.0.0.0:7488", [], discovery="mdns")
            gate.start()
        print("mesh hosts: network namespaces on a bridge (veth), found by mDNS")
        wait_mesh(venue.gates, "every gate to find both others", lambda m: m["peers_up"] == 2, 20)
        north, south, _east = venue.gates
        assert {p["found_by"] for p in north.mesh()["peers"]} <= {"mdns", "heard"}
        assert north.mesh()["discovery"] == "mdns"
        ticket = venue.tickets[1]
        assert north.present(north.token(ticket, now_ms())) == "ADMITTED"
        time.sleep(0.3)
        assert south.present(south.token(ticket, now_ms())) == "ALREADY_SCANNED"


def _codec(device_id: str, keys: DeviceKeys, peers: dict[str, str], event_key: bytes) -> MeshCodec:
    return MeshCodec(
        event_id=EVENT,
        device_id=device_id,
        signing_key=keys.signing,
        mesh_keys=[derive_mesh_key(event_key, TENANT, EVENT)],
        peers={d: load_public_key(k) for d, k in peers.items()},
    )


def test_hostile_datagrams_are_refused_and_counted_and_ticket_ids_never_cross_in_clear(
    tmp_path: Path,
) -> None:
    """One real gate on loopback; the test is every other host on the LAN: a gate of the
    venue that is not running (its keys are in the manifest), and a laptop."""
    venue = provision_mesh(tmp_path, ["north", "south"], now_ms())
    north, south = venue.gates
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.settimeout(5)
    laptop_port = listener.getsockname()[1]
    port = free_udp_port()
    write_config(north, f"127.0.0.1:{port}", [f"127.0.0.1:{laptop_port}"])
    listed = {g.device_id: g.identity.keys.signing_public_b64 for g in venue.gates}
    as_south = _codec(south.device_id, south.identity.keys, listed, south.event_key)
    with scanners([north]):
        north.start()
        ticket = venue.tickets[3]
        assert north.present(north.token(ticket, now_ms())) == "ADMITTED"
        while True:  # heartbeats come too: wait for the pushed admission
            pushed, _ = listener.recvfrom(2048)
            _sender, body = as_south.open(pushed, now_ms())  # a gate of the venue reads it
            if isinstance(body, tuple):
                break
        assert body[0].ticket_id == ticket
        assert ticket.encode() not in pushed and ticket.encode().hex().encode() not in pushed

        record = MeshRecord(south.device_id, 1, "s-1", venue.tickets[4], now_ms(), "south",
                            "south-1", Direction.ENTRY, "offline")  # fmt: skip
        genuine = as_south.seal((record,), now_ms())
        target = ("127.0.0.1", port)
        intruder = DeviceKeys.generate()
        laptop = _codec("0b0b0b0b-0000-4000-8000-000000000000", intruder, listed, south.event_key)
        impostor = _codec(south.device_id, intruder, listed, south.event_key)
        wrong_key = _codec(south.device_id, south.identity.keys, listed, b"k" * 32)
        other_event = MeshCodec(
            event_id="11111111-2222-4333-8444-555555555555",
            device_id=south.device_id,
            signing_key=south.identity.keys.signing,
            mesh_keys=[derive_mesh_key(south.event_key, TENANT, EVENT)],
            peers={},
        )
        hostile = {
            "unknown-sender": laptop.seal((record,), now_ms()),
            "bad-signature": impostor.seal((record,), now_ms()),
            "undecryptable": wrong_key.seal((record,), now_ms()),
            "foreign-event": other_event.seal((record,), now_ms()),
            "stale": as_south.seal(Summary({}), now_ms() - 10 * 60_000),
            "malformed": b"SCG1 not a datagram",
        }
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for datagram in hostile.values():
            sender.sendto(datagram, target)
        sender.sendto(genuine[:-64] + bytes(64), target)  # unsigned: a zero signature
        sender.sendto(genuine, target)
        sender.sendto(genuine, target)  # the same datagram again: a replay
        expected = {why: 1 for why in hostile} | {"bad-signature": 2, "replayed": 1}
        wait_for(lambda: north.mesh()["refused"] == expected, "every refusal counted", 5)
        assert north.mesh()["records"]["peers"] == 1  # the genuine one, once
        wait_for(
            lambda: any(
                a["kind"] == "mesh_hostile" and a["severity"] == "critical" and a["active"]
                for a in api(north.socket, "/alerts")["alerts"]
            ),
            "a critical alert about the hostile datagrams",
            5,
        )
        assert north.present(north.token(venue.tickets[4], now_ms())) == "ALREADY_SCANNED"
        sender.close()
        transport = httpx.HTTPTransport(uds=str(north.socket))
        with httpx.Client(transport=transport, base_url="http://daemon") as client:
            scraped = client.get("/metrics").text
        samples = {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(scraped)
            for sample in family.samples
        }
        assert samples[("scanctl_daemon_mesh_refused_total", (("why", "replayed"),))] == 1
        assert samples[("scanctl_daemon_mesh_records", (("source", "peers"),))] == 1
        assert samples[("scanctl_daemon_mesh_peer_up", (("peer", "south"),))] == 1
    listener.close()
