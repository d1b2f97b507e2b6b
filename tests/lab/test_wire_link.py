"""The link model: delay on the traffic itself (handshake, login, pipelining), outages,
bandwidth, jitter order; link faults at start and at runtime through the daemon and the CLI.

Timings are asserted only as lower bounds the model guarantees, never as upper bounds."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import librouteros
import pytest
from click.testing import CliRunner
from librouteros.protocol import encode_sentence

from kopnet_iac.cli.main import cli
from kopnet_iac.errors import LabError
from kopnet_iac.lab import control
from kopnet_iac.lab.daemon import LabDaemon
from kopnet_iac.lab.faults import Faults
from kopnet_iac.lab.faultspec import GEO_RTT_MS, apply_changes, parse_fault_spec
from kopnet_iac.lab.spec import spec_to_dict
from kopnet_iac.lab.wire import Link, _Direction
from tests.lab.wire_harness import PASSWORD, WireLab, api, idle, ssh, wait_for, wire_lab

__all__ = ["wire_lab"]
SLACK = 0.98  # timers may fire a hair early; the model's bound is what is asserted


def elapsed(start: float) -> float:
    return time.monotonic() - start


def test_librouteros_login_and_one_command_cost_three_round_trips(wire_lab: WireLab) -> None:
    rtt = 0.2
    device = wire_lab.routeros(Faults(link_rtt_ms=rtt * 1000))
    start = time.monotonic()
    client = api(device)  # TCP handshake + /login
    logged_in = elapsed(start)
    list(client.path("system", "identity"))
    total = elapsed(start)
    client.close()
    assert logged_in >= 2 * rtt * SLACK
    assert total >= 3 * rtt * SLACK
    stats = device.wire.stats.snapshot()
    assert stats["connections"] == 1 and stats["round_trips"] == 2


def test_a_flow_that_opens_more_connections_pays_for_each(wire_lab: WireLab) -> None:
    rtt = 0.15
    device = wire_lab.routeros(Faults(link_rtt_ms=rtt * 1000))
    start = time.monotonic()
    for _ in range(3):
        client = api(device)
        client.close()
    assert elapsed(start) >= 3 * 2 * rtt * SLACK  # handshake + login, three times
    assert device.wire.stats.snapshot()["connections"] == 3


def _pipeline(client: librouteros.api.Api, count: int, together: bool, nodelay: bool) -> None:
    """Send ``count`` tagged prints without waiting, then read every answer."""
    if nodelay:
        client.protocol.transport.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sentences = [
        encode_sentence("/interface/print", f".tag={tag}", encoding="ascii") for tag in range(count)
    ]
    if together:
        client.protocol.transport.write(b"".join(sentences))
    else:
        for sentence in sentences:  # one write each, none waits for an answer
            client.protocol.transport.write(sentence)
    done = 0
    while done < count:
        done += client.protocol.readSentence()[0] == "!done"


@pytest.mark.parametrize(
    ("together", "nodelay", "trips"),
    [
        (True, False, 1),  # written together: one round trip
        (False, True, 1),  # one by one with TCP_NODELAY: still one
        (False, False, 2),  # one by one, Nagle: the rest waits for the first one's ACK
    ],
)
def test_pipelined_requests_pay_one_round_trip_together(
    wire_lab: WireLab, together: bool, nodelay: bool, trips: int
) -> None:
    rtt = 0.4
    device = wire_lab.routeros(Faults(link_rtt_ms=rtt * 1000))
    client = api(device)
    device.wire.stats.reset()
    start = time.monotonic()
    _pipeline(client, 4, together, nodelay)
    assert elapsed(start) >= trips * rtt * SLACK
    stats = device.wire.stats.snapshot()
    assert stats["round_trips"] == trips and stats["read_commands"] == 4
    start = time.monotonic()
    for _ in range(2):  # waiting for each answer: one round trip each
        list(client.path("interface"))
    assert elapsed(start) >= 2 * rtt * SLACK
    assert device.wire.stats.snapshot()["round_trips"] == trips + 2
    client.close()


def test_nagle_can_be_switched_off_at_runtime(wire_lab: WireLab) -> None:
    device = wire_lab.routeros(Faults(link_rtt_ms=300))
    client = api(device)
    apply_changes(device.faults, parse_fault_spec("x:nagle=no")[1])
    device.wire.stats.reset()
    _pipeline(client, 3, together=False, nodelay=False)
    assert device.wire.stats.snapshot()["round_trips"] == 1
    client.close()


def test_ssh_key_exchange_and_login_cost_their_round_trips(wire_lab: WireLab) -> None:
    rtt = 0.15
    device = wire_lab.routeros(Faults(link_rtt_ms=rtt * 1000))
    start = time.monotonic()
    client = ssh(device)  # TCP, banners, KEXINIT, ECDH, NEWKEYS, service request, auth
    connected = elapsed(start)
    _, out, _ = client.exec_command("/system identity print")
    assert b"name" in out.read()
    client.close()
    stats = device.wire.stats.snapshot()
    assert connected >= 4 * rtt * SLACK
    assert stats["round_trips"] >= 5  # key exchange, auth, channel, exec
    assert elapsed(start) >= (1 + stats["round_trips"]) * rtt * SLACK


def test_https_pays_tls_on_top_of_tcp(wire_lab: WireLab) -> None:
    import ssl

    rtt = 0.15
    radio = wire_lab.airos(Faults(link_rtt_ms=rtt * 1000))
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    start = time.monotonic()
    url = f"https://{radio.spec.host}:{radio.spec.https_port}/status.cgi"
    with (
        contextlib.suppress(urllib.error.HTTPError),
        urllib.request.urlopen(url, context=context, timeout=30),
    ):
        pass
    # TCP (1) + TLS 1.3 handshake (1) + the request (1)
    assert elapsed(start) >= 3 * rtt * SLACK
    idle(radio)
    assert radio.wire.stats.snapshot()["round_trips"] >= 2


def test_link_fault_applies_at_runtime_to_an_open_connection(wire_lab: WireLab) -> None:
    device = wire_lab.routeros()
    client = api(device)
    start = time.monotonic()
    list(client.path("system", "identity"))
    fast = elapsed(start)
    apply_changes(device.faults, parse_fault_spec("x:rtt=300")[1])
    start = time.monotonic()
    list(client.path("system", "identity"))
    assert elapsed(start) >= 0.3 * SLACK > fast
    apply_changes(device.faults, {"clear": True})
    assert device.faults.link_rtt_ms == 0
    client.close()


def test_an_outage_stalls_the_exchange_until_the_link_is_back(wire_lab: WireLab) -> None:
    device = wire_lab.routeros(Faults(link_loss_burst_ms=600, link_loss_every_s=1.0))
    client = api(device)
    epoch, period = device.wire.link.epoch, 1.0
    # wait until an outage has just begun, then ask
    wait_for(lambda: 0.05 <= (time.monotonic() - epoch) % period <= 0.15 < time.monotonic() - epoch)
    phase = (time.monotonic() - epoch) % period
    start = time.monotonic()
    list(client.path("system", "identity"))
    assert elapsed(start) >= (0.6 - phase) * SLACK
    client.close()


def test_bandwidth_limits_a_large_answer(wire_lab: WireLab) -> None:
    radio = wire_lab.airos()
    client = ssh(radio, username="kopnet")
    radio.wire.stats.reset()
    apply_changes(radio.faults, {"link_kbps": 64.0})
    start = time.monotonic()
    _, out, _ = client.exec_command("cat /tmp/system.cfg /tmp/system.cfg /tmp/system.cfg")
    body = out.read()
    took = elapsed(start)
    client.close()
    assert len(body) > 1000
    assert took >= len(body) * 8 / 64000 * SLACK


def test_link_model_delivery_times() -> None:
    faults = Faults(link_rtt_ms=200, link_jitter_ms=50)
    link = Link(faults, epoch=0.0)
    direction = _Direction()
    times = [link.deliver_at(direction, sent, 100) for sent in (1.0, 1.0, 1.001, 1.002)]
    assert times == sorted(times) and all(t >= 1.1 for t in times)  # order kept under jitter
    faults.link_jitter_ms = 0
    direction = _Direction(not_before=5.0)  # the handshake: nothing leaves before 5.0
    assert link.deliver_at(direction, 4.0, 10) == pytest.approx(5.1)
    faults.link_kbps = 8.0  # 1000 bytes/s
    direction = _Direction()
    assert link.deliver_at(direction, 10.0, 500) == pytest.approx(10.6)
    assert link.deliver_at(direction, 10.0, 500) == pytest.approx(11.1)  # queued behind
    faults.link_kbps = 0
    faults.link_rtt_ms, faults.link_loss_burst_ms, faults.link_loss_every_s = 0, 300, 2.0
    direction = _Direction()
    assert link.deliver_at(direction, 4.1, 10) == pytest.approx(4.3)  # outage 4.0-4.3
    assert link.deliver_at(_Direction(), 4.5, 10) == pytest.approx(4.5)  # link up
    assert link.deliver_at(_Direction(), 1.0, 10) == pytest.approx(1.0)  # none before 2.0


def test_geo_is_a_link_not_a_slow_device() -> None:
    faults = Faults()
    apply_changes(faults, parse_fault_spec("core:geo")[1])
    assert faults.link_rtt_ms == GEO_RTT_MS and faults.latency_ms == 0
    host, changes = parse_fault_spec(
        "core:rtt=600,link-jitter=20,loss-burst=1500,loss-every=20,kbps=512,latency=30"
    )
    assert host == "core" and changes == {
        "link_rtt_ms": 600.0,
        "link_jitter_ms": 20.0,
        "link_loss_burst_ms": 1500.0,
        "link_loss_every_s": 20.0,
        "link_kbps": 512.0,
        "latency_ms": 30.0,
    }
    assert parse_fault_spec("core:nagle=no")[1] == {"link_nagle": False}
    with pytest.raises(LabError):
        parse_fault_spec("core:rtt=-5")


# ---- through the lab daemon and the CLI --------------------------------------------------------
class DaemonThread:
    """A lab daemon serving in a background thread, as the real process does."""

    def __init__(self, lab_dir: Path) -> None:
        self.lab_dir = lab_dir
        self.loop = asyncio.new_event_loop()
        self.daemon = LabDaemon(lab_dir)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        wait_for(lambda: control.is_running(lab_dir))

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.add_signal_handler = lambda *a, **k: None  # type: ignore[method-assign]
        self.loop.run_until_complete(self.daemon.serve())

    def close(self) -> None:
        with contextlib.suppress(LabError):
            control.request(self.lab_dir, "stop")
        self.thread.join(30)
        self.loop.close()


@pytest.fixture
def daemon(wire_lab: WireLab, tmp_path: Path) -> Iterator[tuple[DaemonThread, Any]]:
    running = DaemonThread(tmp_path / "lab")
    spec = wire_lab.routeros().spec  # an address of our own; the device runs in the daemon
    wire_lab.run(wire_lab.devices.pop().stop())
    answer = control.request(
        running.lab_dir,
        "add",
        specs=[spec_to_dict(spec)],
        faults={spec.hostname: parse_fault_spec(f"{spec.hostname}:rtt=100")[1]},
    )
    assert answer["failed"] == {}
    yield running, spec
    running.close()


def test_daemon_stats_reset_and_runtime_link_faults(daemon: tuple[DaemonThread, Any]) -> None:
    running, spec = daemon
    host = spec.hostname
    control.lab_stats(running.lab_dir, reset=True)
    start = time.monotonic()
    client = librouteros.connect(host=spec.host, username="admin", password=PASSWORD, timeout=30)
    list(client.path("system", "identity"))
    assert elapsed(start) >= 3 * 0.1 * SLACK  # rtt=100 given at start
    stats = control.lab_stats(running.lab_dir, [host])[host]
    assert stats["connections"] == 1 and stats["round_trips"] == 2
    assert stats["read_commands"] == 1 and stats["config_commands"] == 0
    row = next(r for r in control.request(running.lab_dir, "status")["devices"])
    assert row["faults"] == {"link_rtt_ms": 100.0}
    assert row["wire"]["round_trips"] == 2 and "connection_log" not in row["wire"]

    env = {control.ENV_LAB_DIR: str(running.lab_dir)}
    out = CliRunner().invoke(cli, ["lab", "fault", host, "--rtt", "400"], env=env)
    assert out.exit_code == 0 and "link_rtt_ms" in out.output
    start = time.monotonic()
    list(client.path("system", "identity"))
    assert elapsed(start) >= 0.4 * SLACK
    out = CliRunner().invoke(cli, ["lab", "stats", host, "--json", "--reset"], env=env)
    assert out.exit_code == 0
    shown = json.loads(out.output)[host]
    assert shown["round_trips"] == 3 and shown["connection_log"][0]["service"] == "api"
    out = CliRunner().invoke(cli, ["lab", "stats"], env=env)
    assert out.exit_code == 0 and host in out.output and "ROUND-TRIPS" in out.output
    assert control.lab_stats(running.lab_dir, [host])[host]["round_trips"] == 0

    out = CliRunner().invoke(
        cli,
        [
            *("lab", "fault", host, "--no-nagle", "--loss-burst", "500", "--loss-every", "5"),
            *("--kbps", "1000", "--link-jitter", "10"),
        ],
        env=env,
    )
    assert out.exit_code == 0, out.output
    assert json.loads(out.output.split(": ", 1)[1]) == {
        "link_rtt_ms": 400.0,
        "link_nagle": False,
        "link_loss_burst_ms": 500.0,
        "link_loss_every_s": 5.0,
        "link_kbps": 1000.0,
        "link_jitter_ms": 10.0,
    }
    out = CliRunner().invoke(cli, ["lab", "fault", host, "--clear"], env=env)
    assert out.exit_code == 0 and "no faults" in out.output
    tuple(client("/system/identity/set", name="wire-daemon"))
    assert control.lab_stats(running.lab_dir, [host])[host]["config_commands"] == 1
    client.close()
    with pytest.raises(LabError, match="no device"):
        control.lab_stats(running.lab_dir, ["ghost"])
    out = CliRunner().invoke(cli, ["lab", "stats", "ghost"], env=env)
    assert out.exit_code != 0 and "no device" in out.output


def test_pipelining_over_a_relay_counts_bytes_exactly(wire_lab: WireLab) -> None:
    device = wire_lab.routeros(Faults(link_rtt_ms=100))
    client = librouteros.connect(
        host=device.spec.host, username="admin", password=PASSWORD, timeout=30
    )
    device.wire.stats.reset()
    sentences = [
        encode_sentence("/ip/address/print", f".tag={n}", encoding="ascii") for n in (1, 2)
    ]
    client.protocol.transport.write(b"".join(sentences))
    done = 0
    while done < 2:
        done += client.protocol.readSentence()[0] == "!done"
    stats = device.wire.stats.snapshot()
    assert stats["bytes_to_device"] == sum(map(len, sentences)) and stats["round_trips"] == 1
    client.close()


def test_a_rebooting_device_refuses_connections_then_answers_again(wire_lab: WireLab) -> None:
    device = wire_lab.routeros(Faults(link_rtt_ms=200))
    client = api(device)
    done = asyncio.run_coroutine_threadsafe(device.reboot(1.0), wire_lab.loop)
    wait_for(lambda: device.state == "booting")
    with pytest.raises(OSError):  # nothing listens while it boots: refused, not accepted
        socket.create_connection((device.spec.host, 8728), timeout=5).close()
    done.result(30)
    assert device.state == "running"
    with pytest.raises((OSError, librouteros.exceptions.LibRouterosError)):
        list(client.path("system", "identity"))  # the old session died with the reboot
    fresh = api(device)
    assert list(fresh.path("system", "identity"))
    fresh.close()
    stats = device.wire.stats.snapshot()
    assert stats["connections"] == 2  # the refused attempt never reached the device
