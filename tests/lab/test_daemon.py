"""The lab daemon in-process: add/remove devices, faults, failure isolation, control socket."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from kopnet_iac.errors import LabError
from kopnet_iac.lab import control
from kopnet_iac.lab.daemon import LabDaemon
from kopnet_iac.lab.spec import DeviceSpec, LinkSpec, spec_from_dict, spec_to_dict


def radio(hostname: str, host: str, peer: str) -> DeviceSpec:
    return DeviceSpec(
        village="desa-test",
        hostname=hostname,
        platform="airos",
        model="LiteBeam-5AC-Gen2",
        host=host,
        api_port=None,
        http_port=8080,
        https_port=8443,
        username="kopnet",
        password=f"lab-{hostname}",
        boot_seconds=0.2,
        links=(LinkSpec("ath0", peer, "ath0", kind="wireless", signal_dbm=-63, ap_hostname="r-a"),),
        ports=("eth0", "ath0"),
        wireless=True,
        role="backhaul-radio",
    )


class Running:
    """A LabDaemon serving in a background thread, like the real process does."""

    def __init__(self, lab_dir: Path) -> None:
        self.lab_dir = lab_dir
        self.loop = asyncio.new_event_loop()
        self.daemon = LabDaemon(lab_dir)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        for _ in range(200):
            if control.is_running(lab_dir):
                break
            threading.Event().wait(0.02)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        # signal handlers only work in the main thread: serve without them
        self.loop.add_signal_handler = lambda *a, **k: None  # type: ignore[method-assign]
        self.loop.run_until_complete(self.daemon.serve())

    def request(self, op: str, **fields: Any) -> dict[str, Any]:
        return control.request(self.lab_dir, op, **fields)

    def close(self) -> None:
        if self.thread.is_alive():
            with contextlib.suppress(LabError):
                self.request("stop")
            self.thread.join(20)
        # let closing transports finish their callbacks before the loop goes away
        self.loop.run_until_complete(asyncio.sleep(0.05))
        self.loop.close()


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Running]:
    running = Running(tmp_path / "lab")
    yield running
    running.close()


def test_spec_round_trips_through_json() -> None:
    spec = radio("r-a", "127.75.1.2", "r-b")
    assert spec_from_dict(json.loads(json.dumps(spec_to_dict(spec)))) == spec
    assert spec_from_dict({**spec_to_dict(spec), "future_field": 1}) == spec


def test_add_status_fault_remove_stop(lab: Running) -> None:
    specs = [radio("r-a", "127.75.1.2", "r-b"), radio("r-b", "127.75.1.3", "r-a")]
    answer = lab.request("add", specs=[spec_to_dict(s) for s in specs], faults={})
    assert answer["added"] == ["r-a", "r-b"] and answer["failed"] == {}
    again = lab.request("add", specs=[spec_to_dict(specs[0])])
    assert again["added"] == [] and again["already_running"] == ["r-a"]
    rows = {row["hostname"]: row for row in lab.request("status")["devices"]}
    assert {row["state"] for row in rows.values()} == {"running"}
    assert rows["r-a"]["password"] == "lab-r-a"

    device_a = lab.daemon.slots["r-a"].device
    assert device_a is not None
    assert lab.daemon.network.link_state("r-b", "ath0").running  # type: ignore[union-attr]
    faults = lab.request("fault", host="r-a", changes={"link_down": ["ath0"]})["faults"]
    assert faults == {"links_down": ["ath0"]}
    assert not lab.daemon.network.link_state("r-b", "ath0").running  # type: ignore[union-attr]

    lab.request("fault", host="r-b", changes={"clear": True, "boot_seconds": 1.0, "reboot": True})
    assert lab.daemon.slots["r-b"].state == "booting"
    with pytest.raises(LabError, match="not running"):
        lab.request("fault", host="r-b", changes={"reboot": True})
    with pytest.raises(LabError, match="no device"):
        lab.request("fault", host="ghost", changes={})
    with pytest.raises(LabError, match="unknown fault setting"):
        lab.request("fault", host="r-a", changes={"explode": True})

    log = lab.request("log", host="r-a")["commands"]
    assert isinstance(log, list)
    assert lab.request("remove", villages=["desa-test"])["removed"] == ["r-a", "r-b"]
    assert lab.request("status")["devices"] == []
    assert device_a.state == "stopped"
    # state was persisted on stop
    assert (lab.lab_dir / "devices" / "r-a" / "flash.cfg").exists()


def test_a_device_that_cannot_start_does_not_stop_the_others(lab: Running) -> None:
    good = radio("r-a", "127.75.2.2", "r-b")
    clash = replace(radio("r-b", "127.75.2.2", "r-a"))  # same address and ports as r-a
    unknown = replace(radio("r-c", "127.75.2.4", "r-a"), platform="vyos")  # type: ignore[arg-type]
    lab.request("add", specs=[spec_to_dict(good)])
    answer = lab.request("add", specs=[spec_to_dict(clash), spec_to_dict(unknown)])
    assert set(answer["failed"]) == {"r-b", "r-c"}
    assert "127.75.2.2" in answer["failed"]["r-b"]
    assert "KOPNET_LAB_PREFIX" in answer["failed"]["r-b"]
    assert "no emulator" in answer["failed"]["r-c"]
    rows = {row["hostname"]: row for row in lab.request("status")["devices"]}
    assert rows["r-a"]["state"] == "running"
    assert rows["r-b"]["state"] == "failed" and rows["r-b"]["error"]
    with socket.create_connection(("127.75.2.2", 8022), timeout=5) as sock:
        assert sock.recv(64).startswith(b"SSH-2.0-")


def test_malformed_control_requests_get_error_answers(lab: Running) -> None:
    path = str(lab.lab_dir / control.SOCKET_NAME)
    requests = [
        b"not json at all\n",
        b"[]\n",
        b'{"op": 5}\n',
        b'{"op": "nope"}\n',
        b'{"op": "add", "specs": [{"hostname": "x"}]}\n',
        b'{"op": "add", "specs": "zzz"}\n',
        b'{"op": "fault", "host": "x", "changes": []}\n',
        b'{"op": "remove", "villages": 7}\n',
        b"\xff\xfe\n",
    ]
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(path)
        sock.settimeout(10)
        sock.sendall(b"".join(requests))
        data = b""
        while data.count(b"\n") < len(requests):
            chunk = sock.recv(65536)
            assert chunk, "daemon closed the connection"
            data += chunk
    answers = [json.loads(line) for line in data.splitlines()]
    assert [a["ok"] for a in answers] == [False] * len(requests)
    assert all(a["error"] for a in answers)
    assert lab.request("ping")["devices"] == 0


def test_status_shows_the_routeros_login_that_works_now(lab: Running) -> None:
    """After a deploy re-passwords the admin, or replaces it by a named account, the status
    (and so every ``--lab`` connection built from it) carries the device's current login."""
    import librouteros

    spec = DeviceSpec(
        village="desa-test",
        hostname="core-t",
        platform="routeros",
        model="RB5009UG+S+",
        host="127.93.201.2",
        api_port=8728,
        ssh_port=8022,
        password="lab-first",
        boot_seconds=0.1,
        ports=("ether1", "ether2"),
    )
    assert lab.request("add", specs=[spec_to_dict(spec)], faults={})["added"] == ["core-t"]

    def login() -> tuple[str, str]:
        row = next(r for r in lab.request("status")["devices"] if r["hostname"] == "core-t")
        assert row["state"] == "running"
        return str(row["username"]), str(row["password"])

    assert login() == ("admin", "lab-first")
    api = librouteros.connect(spec.host, "admin", "lab-first", port=8728, timeout=10)
    users = api.path("user")
    admin = next(u for u in users if u["name"] == "admin")
    users.update(**{".id": admin[".id"], "password": "changed-by-deploy"})
    api.close()
    assert login() == ("admin", "changed-by-deploy")

    api = librouteros.connect(spec.host, "admin", "changed-by-deploy", port=8728, timeout=10)
    users = api.path("user")
    users.add(name="noc", group="full", password="noc-now")
    admin = next(u for u in users if u["name"] == "admin")
    users.update(**{".id": admin[".id"], "disabled": "yes"})
    api.close()
    user, password = login()
    assert (user, password) == ("noc", "noc-now")
    api = librouteros.connect(spec.host, user, password, port=8728, timeout=10)  # it works
    api.close()
