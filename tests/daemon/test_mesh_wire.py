"""The gate mesh's datagrams: what one gate seals another opens; nothing else is taken."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from hypothesis import given, settings
from hypothesis import strategies as st

from scanctl.core import Direction
from scanctl.daemon.config import ConfigError, MeshSettings, load_settings
from scanctl.daemon.layout import MANIFEST_FILE
from scanctl.daemon.mesh.wire import (
    MAX_DATAGRAM_BYTES,
    REFUSALS,
    MeshCodec,
    MeshRecord,
    MeshRefused,
    Summary,
    derive_mesh_key,
    pack,
)
from scanctl.manifests import (
    DeviceKeys,
    ManifestStore,
    ManifestVerifier,
    PeerDevice,
    build_manifest,
)
from tests.daemon.gate_kit import EVENT, TENANT, VENUE, provision

NOW = 1_800_000_000_000
A, B = str(uuid.uuid4()), str(uuid.uuid4())
KEYS = {A: DeviceKeys.generate(), B: DeviceKeys.generate()}
MESH_KEY = derive_mesh_key(b"e" * 32, TENANT, EVENT)


def codec(device: str, *, keys: list[bytes] | None = None) -> MeshCodec:
    return MeshCodec(
        event_id=EVENT,
        device_id=device,
        signing_key=KEYS[device].signing,
        mesh_keys=keys or [MESH_KEY],
        peers={d: k.signing.public_key() for d, k in KEYS.items()},
    )


def record(seq: int, ticket: str = "0000abcd", **changes: object) -> MeshRecord:
    fields: dict[str, object] = {
        "origin": A,
        "seq": seq,
        "scan_id": f"scan-{seq}",
        "ticket_id": ticket,
        "at_ms": NOW,
        "gate": "north",
        "lane": "north-1",
        "direction": Direction.ENTRY,
        "decided_by": "offline",
        "code": "nonce:" + "ab" * 8,
        "code_expires_at_ms": NOW + 35_000,
    }
    return MeshRecord(**{**fields, **changes})  # type: ignore[arg-type]


def test_records_and_summaries_cross_intact_and_the_nonce_is_readable() -> None:
    records = (record(1), record(2, "0000beef", code=None, direction=Direction.EXIT))
    sender, body = codec(B).open(codec(A).seal(records, NOW), NOW)
    assert sender == A and body == records
    assert records[0].nonce == "ab" * 8 and records[1].nonce is None
    assert codec(B).open(codec(A).seal(Summary({A: 3, B: 0}), NOW), NOW)[1] == Summary({A: 3, B: 0})


def test_a_rotated_key_still_opens_while_both_are_held() -> None:
    old, new = MESH_KEY, derive_mesh_key(b"n" * 32, TENANT, EVENT)
    datagram = codec(A, keys=[old]).seal(Summary({}), NOW)
    assert codec(B, keys=[new, old]).open(datagram, NOW)[0] == A


@pytest.mark.parametrize(
    ("tamper", "why"),
    [
        (lambda d: d[:30], "malformed"),
        (lambda d: b"XXXX" + d[4:], "malformed"),
        (lambda d: d[:4] + uuid.uuid4().bytes + d[20:], "foreign-event"),
        (lambda d: d[:20] + uuid.uuid4().bytes + d[36:], "unknown-sender"),
        (lambda d: d[:-64] + bytes(64), "bad-signature"),
        (lambda d: d[:50] + bytes([d[50] ^ 1]) + d[51:], "bad-signature"),
    ],
)
def test_tampered_datagrams_are_refused_with_their_reason(tamper: object, why: str) -> None:
    datagram = codec(A).seal((record(1),), NOW)
    with pytest.raises(MeshRefused) as refused:
        codec(B).open(tamper(datagram), NOW)  # type: ignore[operator]
    assert refused.value.why == why


def test_replays_old_datagrams_and_our_own_echo_are_refused() -> None:
    receiver = codec(B)
    datagram = codec(A).seal((record(1),), NOW)
    receiver.open(datagram, NOW)
    with pytest.raises(MeshRefused, match="replayed"):
        receiver.open(datagram, NOW + 1000)
    with pytest.raises(MeshRefused, match="stale"):
        receiver.open(codec(A).seal(Summary({}), NOW - 10 * 60_000), NOW)
    with pytest.raises(MeshRefused, match="unknown-sender"):
        receiver.open(codec(B).seal(Summary({}), NOW), NOW)
    wrong_key = codec(A, keys=[derive_mesh_key(b"x" * 32, TENANT, EVENT)])
    with pytest.raises(MeshRefused, match="undecryptable"):
        receiver.open(wrong_key.seal(Summary({}), NOW), NOW)


def test_a_signed_sealed_body_of_nonsense_is_malformed_not_a_crash() -> None:
    cipher = ChaCha20Poly1305(MESH_KEY)  # seal arbitrary bytes, as a peer gate could
    nonsense = (b"[]", b'{"k":"rec","sent":1,"from":{"x":[[1]]}}', b"\xff", b'{"k":"z","sent":0}')
    for plain in nonsense:
        nonce = os.urandom(12)
        head = b"SCG1" + uuid.UUID(EVENT).bytes + uuid.UUID(A).bytes + nonce
        signed = head + cipher.encrypt(nonce, plain, head)
        datagram = signed + KEYS[A].signing.sign(signed)
        with pytest.raises(MeshRefused) as refused:
            codec(B).open(datagram, NOW)
        assert refused.value.why == "malformed"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_garbage_is_always_a_counted_refusal(data: bytes) -> None:
    with pytest.raises(MeshRefused) as refused:
        codec(B).open(data, NOW)
    assert refused.value.why in REFUSALS


def test_records_are_packed_into_datagrams_of_one_frame() -> None:
    records = [record(seq, f"{seq:08x}") for seq in range(1, 200)]
    groups = pack(records)
    assert sum(len(g) for g in groups) == len(records) and len(groups) > 1
    for group in groups:
        assert len(codec(A).seal(tuple(group), NOW)) <= MAX_DATAGRAM_BYTES


def test_manifests_carry_the_venues_gates_and_old_manifests_carry_none(tmp_path: Path) -> None:
    gate = provision(tmp_path, NOW)
    with ManifestStore(gate.data_dir / MANIFEST_FILE) as store:
        assert store.header is not None and store.header.peers == ()
    peers = [PeerDevice(A, "north", KEYS[A].signing_public_b64)]
    wire = build_manifest(
        event=gate.event,
        issued_at_ms=NOW,
        valid_until_ms=NOW + 1000,
        sequence=1,
        policy={},
        device_id=A,
        sealed_event_keys=b"s" * 80,
        entries=[],
        signer=gate.signer,
        peers=peers,
    )
    verified = ManifestVerifier([gate.signer.public_key_b64()]).verify(
        wire, tenant_id=TENANT, venue_id=VENUE, now_ms=NOW
    )
    assert verified.header.peers == tuple(peers)


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ('listen = "7488"', "mesh: Value error, '7488': no port"),
        ('peers = ["10.0.0.2:99999"]', "the port is not a number"),
        ('discovery = "bonjour"', "mesh.discovery"),
        ("heartbeat_ms = 5", "mesh.heartbeat_ms"),
        ("gossip = true", "mesh.gossip"),
    ],
)
def test_a_bad_mesh_table_is_a_clear_configuration_error(
    tmp_path: Path, table: str, problem: str
) -> None:
    path = tmp_path / "gate.toml"
    path.write_text(
        f'event_id = "{EVENT}"\ndata_dir = "{tmp_path}"\n[mesh]\n{table}\n'
        '[[scanner]]\nname = "a"\ndriver = "stdin"\ngate = "north"\n'
    )
    with pytest.raises(ConfigError) as error:
        load_settings(path)
    assert any(problem in line for line in error.value.problems), error.value.problems


def test_peers_default_to_the_mesh_port() -> None:
    mesh = MeshSettings(peers=["10.0.0.2", "[fe80::1]:9000", "gate-b.local:7500"])
    assert mesh.peer_addresses == [("10.0.0.2", 7488), ("fe80::1", 9000), ("gate-b.local", 7500)]
