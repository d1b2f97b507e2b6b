"""Wire accounting through real clients: librouteros (API and API pipelining), netmiko and
paramiko (SSH), urllib (HTTP and HTTPS): connections, round trips, bytes, commands, reset."""

from __future__ import annotations

import http.cookiejar
import json
import socket
import ssl
import urllib.parse
import urllib.request
from typing import Any

import librouteros
import pytest
from librouteros.protocol import encode_sentence
from netmiko import ConnectHandler

from kopnet_iac.lab.airos import AirOSDevice
from kopnet_iac.lab.wirestats import (
    CONFIG,
    READ,
    SESSION,
    WireStats,
    classify_airos_http,
    classify_airos_shell,
    classify_routeros_api,
    classify_routeros_console,
)
from tests.lab.wire_harness import PASSWORD, WireLab, api, idle, ssh, wait_for, wire_lab

__all__ = ["wire_lab"]


def only(stats: dict[str, Any]) -> dict[str, Any]:
    """The one connection of a snapshot."""
    assert len(stats["connection_log"]) == 1, stats["connection_log"]
    conn: dict[str, Any] = stats["connection_log"][0]
    return conn


def test_librouteros_login_and_one_read(wire_lab: WireLab) -> None:
    device = wire_lab.routeros()
    device.wire.stats.reset()
    client = api(device)
    rows = list(client.path("system", "identity"))
    client.close()
    idle(device)
    stats = device.wire.stats.snapshot()
    assert rows and stats["connections"] == 1 and stats["open_connections"] == 0
    assert stats["round_trips"] == 2  # login, one print
    sent = encode_sentence(
        "/login", "=name=admin", f"=password={PASSWORD}", encoding="ascii"
    ) + encode_sentence("/system/identity/print", encoding="ascii")
    assert stats["bytes_to_device"] == len(sent)
    assert stats["bytes_from_device"] > len(b"!done") * 2
    assert (stats["config_commands"], stats["read_commands"], stats["session_commands"]) == (
        0,
        1,
        1,
    )
    conn = only(stats)
    assert conn["service"] == "api" and conn["closed"] is not None
    assert conn["round_trips"] == 2 and conn["read_commands"] == 1
    assert stats["by_service"]["api"]["bytes_to_device"] == len(sent)


def test_config_commands_counted_per_connection(wire_lab: WireLab) -> None:
    device = wire_lab.routeros()
    reader, writer = api(device), api(device)
    device.wire.stats.reset()
    list(reader.path("ip", "address"))
    tuple(writer("/system/identity/set", name="core-wire"))
    tuple(writer("/ip/address/add", address="10.9.9.1/24", interface="ether2"))
    stats = device.wire.stats.snapshot()
    by_conn = sorted((c["config_commands"], c["read_commands"]) for c in stats["connection_log"])
    assert by_conn == [(0, 1), (2, 0)]
    assert stats["config_commands"] == 2 and stats["read_commands"] == 1
    assert stats["connections"] == 0  # both were opened before the reset
    assert stats["round_trips"] == 3
    reader.close()
    writer.close()


def test_pipelined_sentences_are_one_round_trip(wire_lab: WireLab) -> None:
    device = wire_lab.routeros()
    client = api(device)
    device.wire.stats.reset()
    burst = b"".join(
        encode_sentence("/system/identity/print", f".tag={tag}", encoding="ascii")
        for tag in range(5)
    )
    client.protocol.transport.write(burst)  # five requests without waiting
    done = 0
    while done < 5:
        reply, _words = client.protocol.readSentence()
        done += reply == "!done"
    wait_for(lambda: device.wire.stats.snapshot()["read_commands"] == 5)
    stats = device.wire.stats.snapshot()
    assert stats["round_trips"] == 1 and stats["bytes_to_device"] == len(burst)
    list(client.path("system", "identity"))  # waited for: one more
    assert device.wire.stats.snapshot()["round_trips"] == 2
    client.close()


def test_reset_starts_from_zero_and_keeps_open_connections(wire_lab: WireLab) -> None:
    device = wire_lab.routeros()
    client = api(device)
    list(client.path("system", "identity"))
    before = device.wire.stats.snapshot(reset=True)
    assert before["connections"] == 1 and before["round_trips"] == 2
    after = device.wire.stats.snapshot()
    assert after["connections"] == 0 and after["round_trips"] == 0
    assert after["bytes_to_device"] == after["bytes_from_device"] == 0
    assert after["open_connections"] == 1 and only(after)["round_trips"] == 0
    list(client.path("system", "identity"))
    again = device.wire.stats.snapshot()
    assert again["round_trips"] == 1 and only(again)["round_trips"] == 1
    client.close()


def test_a_bare_probe_is_a_connection_without_exchanges(wire_lab: WireLab) -> None:
    device = wire_lab.routeros()
    device.wire.stats.reset()
    with socket.create_connection((device.spec.host, 8728), timeout=5):
        pass
    wait_for(lambda: device.wire.stats.snapshot()["connections"] == 1)
    idle(device)
    stats = device.wire.stats.snapshot()
    assert stats["round_trips"] == stats["bytes_to_device"] == 0


def test_netmiko_console_counts_reads_and_config(wire_lab: WireLab) -> None:
    device = wire_lab.routeros()
    device.wire.stats.reset()
    handler = ConnectHandler(
        device_type="mikrotik_routeros",
        host=device.spec.host,
        port=8022,
        username="admin",
        password=PASSWORD,
        fast_cli=False,
    )
    stats = device.wire.stats.snapshot()
    config_before = stats["config_commands"]
    assert stats["connections"] == 1 and stats["by_service"]["ssh"]["round_trips"] >= 3
    output = handler.send_command("/system identity print")
    assert "name" in output
    middle = device.wire.stats.snapshot()
    assert middle["config_commands"] == config_before  # a print is no configuration command
    assert middle["read_commands"] > stats["read_commands"]
    handler.send_command("/system identity set name=wire-ssh", expect_string=r"\]")
    after = device.wire.stats.snapshot()
    assert after["config_commands"] == config_before + 1
    assert after["round_trips"] > middle["round_trips"] > stats["round_trips"]
    assert after["bytes_to_device"] > middle["bytes_to_device"]
    handler.disconnect()
    idle(device)
    conn = only(device.wire.stats.snapshot())
    assert conn["service"] == "ssh" and conn["config_commands"] == config_before + 1


def test_airos_ssh_exec_reads_and_writes(wire_lab: WireLab) -> None:
    radio = wire_lab.airos()
    client = ssh(radio, username="kopnet")
    radio.wire.stats.reset()
    _, out, _ = client.exec_command("cat /tmp/system.cfg")
    assert b"users.1.name" in out.read()
    assert radio.wire.stats.snapshot()["config_commands"] == 0
    _, out, _ = client.exec_command("cfgmtd -w -p /etc/")
    out.channel.recv_exit_status()
    stats = radio.wire.stats.snapshot()
    assert (stats["read_commands"], stats["config_commands"]) == (1, 1)
    assert stats["round_trips"] >= 2 and stats["by_service"]["ssh"]["bytes_from_device"] > 0
    client.close()


def _opener(context: ssl.SSLContext | None = None) -> urllib.request.OpenerDirector:
    handlers: list[urllib.request.BaseHandler] = [
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    ]
    if context is not None:
        handlers.append(urllib.request.HTTPSHandler(context=context))
    return urllib.request.build_opener(*handlers)


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_airos_http_login_and_status(wire_lab: WireLab, scheme: str) -> None:
    radio: AirOSDevice = wire_lab.airos()
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    opener = _opener(context if scheme == "https" else None)
    port = radio.spec.https_port if scheme == "https" else radio.spec.http_port
    base = f"{scheme}://{radio.spec.host}:{port}"
    radio.wire.stats.reset()
    form = urllib.parse.urlencode({"username": "kopnet", "password": PASSWORD}).encode()
    with opener.open(urllib.request.Request(base + "/api/auth", data=form), timeout=10) as r:
        assert json.loads(r.read())["ok"] is True
    with opener.open(base + "/status.cgi", timeout=10) as r:
        assert "wireless" in json.loads(r.read())
    idle(radio)
    stats = radio.wire.stats.snapshot()
    # urllib opens one connection per request (Connection: close)
    assert stats["connections"] == 2 and stats["by_service"][scheme]["connections"] == 2
    assert (stats["session_commands"], stats["read_commands"], stats["config_commands"]) == (
        1,
        1,
        0,
    )
    per_conn = [c["round_trips"] for c in stats["connection_log"]]
    if scheme == "http":
        assert per_conn == [1, 1]  # one request, one answer each
    else:
        assert all(n >= 2 for n in per_conn)  # the TLS handshake costs exchanges too
    assert stats["bytes_to_device"] == sum(c["bytes_to_device"] for c in stats["connection_log"])


def test_stats_are_safe_from_another_thread_while_traffic_flows(wire_lab: WireLab) -> None:
    device = wire_lab.routeros()
    client = api(device)
    for _ in range(20):
        list(client.path("interface"))
        snapshot = device.wire.stats.snapshot()
        assert snapshot["round_trips"] >= 1
    client.close()


@pytest.mark.parametrize(
    ("words", "kind"),
    [
        (["/ip/address/print", "?interface=ether1"], READ),
        (["/system/identity/getall"], READ),
        (["/ip/address/add", "=address=10.0.0.1/24"], CONFIG),
        (["/system/script/run", "=.id=*1"], CONFIG),
        (["/export", "=file=x"], CONFIG),
        (["/file/set", "=numbers=a.rsc", "=contents=x"], CONFIG),
        (["/import", "=file-name=a.rsc"], CONFIG),
        (["/login", "=name=admin"], SESSION),
        (["/cancel", "=tag=1"], SESSION),
        (["/whatever/new-verb"], CONFIG),
        (["/execute", "=script=:put [/export terse show-sensitive]", "=as-string="], READ),
        (["/execute", "=script=/system identity set name=x", "=as-string="], CONFIG),
        (["/execute", "=script=/export", "=file=out"], CONFIG),
    ],
)
def test_classify_routeros_api(words: list[str], kind: str) -> None:
    assert classify_routeros_api(words) == kind


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ("/system identity print", READ),
        ("/ip/address/print where interface=ether1", READ),
        (":put [/system identity get name]", READ),
        ("/export terse", READ),
        ("/export file=backup", CONFIG),
        ("/ip address add address=10.0.0.1/24 interface=ether1", CONFIG),
        ("/system reboot", CONFIG),
        ('/system scheduler add name=x on-event="/import a.rsc"', CONFIG),
        ("quit", SESSION),
        ("/system package update install", CONFIG),
    ],
)
def test_classify_routeros_console(line: str, kind: str) -> None:
    assert classify_routeros_console(line) == kind


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ("cat /tmp/system.cfg", READ),
        ("grep wireless /tmp/system.cfg | head -n 3", READ),
        ("mca-status", READ),
        ("md5sum /tmp/system.cfg > /dev/null", READ),
        ("cat > /tmp/system.cfg <<EOF\na=b\nEOF", CONFIG),
        ("echo a=b >> /tmp/system.cfg", CONFIG),
        ("cfgmtd -w -p /etc/", CONFIG),
        ("/usr/etc/rc.d/rc.softrestart save", CONFIG),
        ("(sleep 300; reboot) &", CONFIG),
        ("hostname other", CONFIG),
        ("exit", SESSION),
    ],
)
def test_classify_airos_shell(line: str, kind: str) -> None:
    assert classify_airos_shell(line) == kind


def test_classify_airos_http() -> None:
    assert classify_airos_http("POST", "/api/auth") == SESSION
    assert classify_airos_http("GET", "/getcfg.cgi") == READ
    assert classify_airos_http("POST", "/writecfg.cgi") == CONFIG
    assert classify_airos_http("POST", "/api/auth/change-password") == CONFIG


def test_round_trip_definition_on_the_counter_itself() -> None:
    stats = WireStats()
    conn = stats.opened("api", "127.0.0.1:1")
    stats.device_bytes(conn, 25)  # the device speaks first (a banner): no exchange
    assert stats.snapshot()["round_trips"] == 0
    stats.client_bytes(conn, 10)
    stats.client_bytes(conn, 10)  # back to back: same exchange
    stats.device_bytes(conn, 5)
    stats.device_bytes(conn, 5)  # the rest of the same answer
    assert stats.snapshot()["round_trips"] == 1
    stats.client_bytes(conn, 1)
    stats.device_bytes(conn, 1)
    snap = stats.snapshot()
    assert snap["round_trips"] == 2
    assert (snap["bytes_to_device"], snap["bytes_from_device"]) == (21, 36)
    stats.client_bytes(conn, 4)
    stats.device_bytes(conn, 2, client_pending=8)  # 8 more bytes were sent before this answer
    stats.client_bytes(conn, 5)
    stats.client_bytes(conn, 3)  # ... read late: still the same exchange
    stats.device_bytes(conn, 2)
    assert stats.snapshot()["round_trips"] == 3
    stats.client_bytes(conn, 1)  # sent after the answer: a new exchange
    stats.device_bytes(conn, 1)
    assert stats.snapshot()["round_trips"] == 4
    stats.command("config", ("127.0.0.1", 9))  # unknown peer: counted for the device only
    assert stats.snapshot()["config_commands"] == 1
    assert stats.snapshot()["connection_log"][0]["config_commands"] == 0
    stats.closed(conn)
    assert stats.snapshot()["open_connections"] == 0


def test_counters_per_client_address(wire_lab: WireLab) -> None:
    device = wire_lab.routeros()
    device.wire.stats.reset()
    other = device.spec.host.rsplit(".", 1)[0] + ".250"  # a second client on loopback
    for source in (None, other, other):
        client = librouteros.connect(
            host=device.spec.host, username="admin", password=PASSWORD, saddr=source, timeout=30
        )
        list(client.path("system", "identity"))
        client.close()
    idle(device)
    stats = device.wire.stats.snapshot()
    mine = stats["by_client"][other]
    assert (mine["connections"], mine["round_trips"], mine["read_commands"]) == (2, 4, 2)
    assert stats["connections"] == 3 and stats["round_trips"] == 6
    rest = {k: stats[k] - mine[k] for k in ("connections", "round_trips", "bytes_to_device")}
    assert rest["connections"] == 1 and rest["round_trips"] == 2
    assert rest["bytes_to_device"] * 2 == mine["bytes_to_device"]
