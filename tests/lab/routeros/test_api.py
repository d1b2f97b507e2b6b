"""The API server against librouteros (unmodified) and raw sockets for what clients never send."""

from __future__ import annotations

import asyncio
import socket

import librouteros
import pytest
from librouteros.exceptions import TrapError
from librouteros.login import token
from librouteros.query import And, Key, Or

from kopnet_iac.lab.faults import Faults
from kopnet_iac.lab.routeros.wire import encode_length, encode_sentence, read_length, read_sentence

from .conftest import TEST_PASSWORD, Lab


def connect(host: str, password: str = TEST_PASSWORD, **kwargs: object) -> librouteros.api.Api:
    return librouteros.connect(host, "admin", password, port=8728, timeout=5, **kwargs)  # type: ignore[arg-type]


class RawClient:
    """Speaks the wire format directly, to send what librouteros never would."""

    def __init__(self, host: str) -> None:
        self.sock = socket.create_connection((host, 8728), timeout=5)
        self.buf = b""

    def send(self, *words: str) -> None:
        self.sock.sendall(encode_sentence(list(words)))

    def send_bytes(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read(self) -> list[str]:
        while True:
            try:
                words = asyncio.run(_decode(self.buf))
            except asyncio.IncompleteReadError:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise ConnectionError("closed") from None
                self.buf += chunk
                continue
            consumed = sum(len(encode_length(len(w.encode()))) + len(w.encode()) for w in words) + 1
            self.buf = self.buf[consumed:]
            return words

    def login(self) -> None:
        self.send("/login", "=name=admin", f"=password={TEST_PASSWORD}")
        assert self.read() == ["!done"]

    def close(self) -> None:
        self.sock.close()


async def _decode(data: bytes) -> list[str]:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    return await read_sentence(reader)


async def _length(data: bytes) -> int:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    return await read_length(reader)


def test_length_forms_round_trip() -> None:
    sizes = (0, 1, 0x7F, 0x80, 0x3FFF, 0x4000, 0x1FFFFF, 0x200000, 0xFFFFFFF, 0x10000000)
    for length in sizes:
        assert asyncio.run(_length(encode_length(length))) == length
    assert [len(encode_length(n)) for n in sizes] == [1, 1, 1, 2, 2, 3, 3, 4, 4, 5]
    words = ["/ip/address/add", "=comment=" + "x" * 300, "=address=10.0.0.1/24"]
    assert asyncio.run(_decode(encode_sentence(words))) == words


def test_print_add_set_remove_with_librouteros(lab: Lab) -> None:
    device = lab.start()
    api = connect(device.spec.host)
    addresses = api.path("ip", "address")
    first = addresses.add(address="10.0.0.1/24", interface="ether2", comment="lan")
    second = addresses.add(address="10.0.1.1/24", interface="ether3")
    assert first == "*1" and second == "*2"
    rows = list(addresses)
    assert [r["address"] for r in rows] == ["10.0.0.1/24", "10.0.1.1/24"]
    assert (
        rows[0][".id"] == "*1" and rows[0]["network"] == "10.0.0.0" and rows[0]["disabled"] is False
    )
    addresses.update(**{".id": first, "comment": "changed", "disabled": True})
    row = next(iter(addresses.select(Key("comment"), Key("disabled")).where(Key(".id") == first)))
    assert row == {"comment": "changed", "disabled": True}
    tuple(api("/ip/address/unset", **{".id": first, "value-name": "comment"}))
    assert "comment" not in next(r for r in addresses if r[".id"] == first)
    addresses.remove(first)
    assert [r[".id"] for r in addresses] == [second]
    assert (
        "/ip/address/add =address=10.0.0.1/24 =interface=ether2 =comment=lan" in device.commands_log
    )
    assert "add address=10.0.1.1/24 interface=ether3" in device.export()
    api.close()


def test_queries_and_proplist(lab: Lab) -> None:
    device = lab.start()
    api = connect(device.spec.host)
    vlans = api.path("interface", "vlan")
    for vid in (10, 20, 30):
        vlans.add(name=f"vlan{vid}", interface="ether1", **{"vlan-id": vid})
    name, vid = Key("name"), Key("vlan-id")
    assert [r["name"] for r in vlans.select(name).where(vid == 20)] == ["vlan20"]
    assert [r["name"] for r in vlans.select(name).where(vid > 15)] == ["vlan20", "vlan30"]
    assert [r["name"] for r in vlans.select(name).where(vid < 15)] == ["vlan10"]
    assert [r["name"] for r in vlans.select(name).where(vid != 20)] == ["vlan10", "vlan30"]
    assert [r["name"] for r in vlans.select(name).where(Or(vid == 10, vid == 30))] == [
        "vlan10",
        "vlan30",
    ]
    assert [r["name"] for r in vlans.select(name).where(And(vid > 5, name == "vlan30"))] == [
        "vlan30"
    ]
    assert [r["name"] for r in vlans.select(name).where(name.In("vlan10", "vlan20"))] == [
        "vlan10",
        "vlan20",
    ]
    assert list(vlans.select(name, vid).where(name == "vlan10")) == [
        {"name": "vlan10", "vlan-id": 10}
    ]
    raw = list(api.rawCmd("/interface/vlan/print", "?comment", "=.proplist=name"))
    assert raw == []
    raw = list(api.rawCmd("/interface/vlan/print", "?-comment", "?vlan-id=10", "=.proplist=name"))
    assert raw == [{"name": "vlan10"}]
    count = list(api.rawCmd("/interface/vlan/print", "=count-only="))
    assert count == [{"ret": 3}]
    api.close()


def test_move_orders_entries(lab: Lab) -> None:
    device = lab.start()
    api = connect(device.spec.host)
    rules = api.path("ip", "firewall", "filter")
    ids = [rules.add(chain="input", action="accept", comment=f"r{i}") for i in range(3)]
    tuple(api("/ip/firewall/filter/move", numbers=ids[2], destination=ids[0]))
    assert [r["comment"] for r in rules] == ["r2", "r0", "r1"]
    api.close()


def test_traps_for_bad_input(lab: Lab) -> None:
    device = lab.start()
    api = connect(device.spec.host)
    with pytest.raises(TrapError, match="no such command prefix"):
        tuple(api("/nonexistent/menu/print"))
    with pytest.raises(TrapError, match="no such command"):
        tuple(api("/ip/address/frobnicate"))
    with pytest.raises(TrapError, match="invalid value for argument address"):
        api.path("ip", "address").add(address="not-an-ip", interface="ether1")
    with pytest.raises(TrapError, match="input does not match any value of interface"):
        api.path("ip", "address").add(address="10.0.0.1/24", interface="ether99")
    with pytest.raises(TrapError, match="unknown parameter"):
        api.path("ip", "address").add(address="10.0.0.1/24", interface="ether1", colour="red")
    with pytest.raises(TrapError, match="vlan-id out of range"):
        api.path("interface", "vlan").add(name="v", interface="ether1", **{"vlan-id": 5000})
    with pytest.raises(TrapError, match="must be yes or no"):
        api.path("ip", "address").add(address="10.0.0.1/24", interface="ether1", disabled="maybe")
    with pytest.raises(TrapError, match="no such item"):
        api.path("ip", "address").remove("*99")
    api.path("ip", "address").add(address="10.0.0.1/24", interface="ether1")
    with pytest.raises(TrapError, match="already have such address"):
        api.path("ip", "address").add(address="10.0.0.1/24", interface="ether1")
    # the session is still usable and nothing half-done was stored
    assert [r["address"] for r in api.path("ip", "address")] == ["10.0.0.1/24"]
    assert device.state == "running"
    assert "/nonexistent/menu/print" in device.commands_log
    api.close()


def test_wrong_credentials_and_refused_login(lab: Lab) -> None:
    faults = Faults()
    device = lab.start(faults=faults)
    with pytest.raises(TrapError, match="invalid user name or password"):
        connect(device.spec.host, password="wrong-fake-pw")
    faults.refuse_login = True
    with pytest.raises(TrapError, match="invalid user name or password"):
        connect(device.spec.host)
    faults.refuse_login = False
    api = connect(device.spec.host)
    assert next(iter(api("/system/identity/print")))["name"] == "MikroTik"
    api.close()
    assert all("wrong-fake-pw" not in line for line in device.commands_log)


def test_legacy_token_login(lab: Lab) -> None:
    device = lab.start()
    api = connect(device.spec.host, login_method=token)
    assert next(iter(api("/system/identity/print")))["name"] == "MikroTik"
    api.close()
    with pytest.raises(TrapError):
        connect(device.spec.host, password="wrong-fake-pw", login_method=token)


def test_raw_protocol_tags_fatal_and_malformed(lab: Lab) -> None:
    device = lab.start()
    client = RawClient(device.spec.host)
    client.send("/system/identity/print")
    assert client.read() == ["!trap", "=category=0", "=message=not logged in"]
    assert client.read() == ["!done"]
    client.login()
    client.send("/system/identity/print", ".tag=7")
    assert client.read() == ["!re", "=name=MikroTik", ".tag=7"]
    assert client.read() == ["!done", ".tag=7"]
    client.send("/system/identity/print", "garbage-word")
    assert client.read()[0] == "!trap"
    assert client.read() == ["!done"]
    client.send("no-slash")
    assert client.read()[0] == "!trap"
    assert client.read() == ["!done"]
    client.send("/quit")
    assert client.read()[0] == "!fatal"
    client.close()
    # a length control byte RouterOS never sends: the session ends with !fatal, device lives on
    bad = RawClient(device.spec.host)
    bad.send_bytes(b"\xf8abc")
    assert bad.read()[0] == "!fatal"
    bad.close()
    api = connect(device.spec.host)
    assert list(api("/system/identity/print")) == [{"name": "MikroTik"}]
    api.close()


def test_fault_trap_and_drop(lab: Lab) -> None:
    faults = Faults()
    device = lab.start(faults=faults)
    api = connect(device.spec.host)
    faults.trap_pattern = "/ip/address/*"
    with pytest.raises(TrapError, match="injected"):
        tuple(api("/ip/address/print"))
    faults.trap_pattern = None
    faults.drop_after_commands = 0
    with pytest.raises((librouteros.exceptions.ConnectionClosed, OSError)):
        tuple(api("/ip/address/print"))
    api = connect(device.spec.host)
    assert list(api("/ip/address/print")) == []
    api.close()


def test_file_add_get_contents_and_remove(lab: Lab) -> None:
    device = lab.start()
    api = connect(device.spec.host)
    files = api.path("file")
    files.add(name="notes.rsc", contents='/system identity set name="from file"')
    got = list(api("/file/get", number="notes.rsc", **{"value-name": "contents"}))
    assert got == [{"ret": '/system identity set name="from file"'}]
    row = next(iter(files.select(Key("size"), Key("type")).where(Key("name") == "notes.rsc")))
    assert row == {"size": 37, "type": ".rsc file"}
    with pytest.raises(TrapError, match="already exists"):
        files.add(name="notes.rsc", contents="x")
    tuple(api("/import", **{"file-name": "notes.rsc"}))
    assert device.router.identity() == "from file"
    files.remove(*(r[".id"] for r in files.select(Key(".id")).where(Key("name") == "notes.rsc")))
    assert list(files) == []
    with pytest.raises(TrapError, match="no such file"):
        tuple(api("/import", **{"file-name": "notes.rsc"}))
    api.close()


def test_api_ssl_when_a_tls_context_is_given(lab: Lab) -> None:
    import ssl

    from kopnet_iac.lab.routeros.device import RouterOSDevice
    from kopnet_iac.lab.tls import server_context

    spec = lab.spec()
    device = RouterOSDevice(spec, lab.tmp, lab.network, ssl_context=server_context(lab.tmp / "tls"))
    lab.loop.run(device.start())
    lab.devices.append(device)
    client_ctx = ssl.create_default_context()
    client_ctx.check_hostname = False
    client_ctx.verify_mode = ssl.CERT_NONE
    api = librouteros.connect(
        spec.host, "admin", TEST_PASSWORD, port=8729, timeout=5, ssl_wrapper=client_ctx.wrap_socket
    )
    assert next(iter(api("/system/identity/print")))["name"] == "MikroTik"
    api.close()
