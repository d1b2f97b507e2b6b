"""``kopnet lab up/status/fault/log/down`` as subprocesses on a temporary lab and inventory."""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import librouteros
import librouteros.exceptions
import paramiko
import pytest
from click.testing import CliRunner

from kopnet_iac.cli.main import cli
from kopnet_iac.errors import LabError
from kopnet_iac.lab import control
from kopnet_iac.lab.targets import lab_status, lab_targets
from kopnet_iac.lab.topology import ENV_PREFIX
from tests.addresses import claim_lab_prefix
from tests.conftest import EXAMPLE_FLEET

INVENTORY = EXAMPLE_FLEET
VILLAGE = "lebung-itam"  # PtP airOS backhaul pair + RouterOS core + sectors
RADIO_A, RADIO_B = "bh-lebung-itam-a", "bh-lebung-itam-b"

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(
        not (INVENTORY / "villages" / f"{VILLAGE}.yaml").exists(), reason="example village absent"
    ),
]


class Lab:
    def __init__(self, tmp: Path) -> None:
        self.dir = tmp / "lab"
        self.inventory = tmp / "inventory"
        # a /16 of its own so a lab running on this machine does not clash with the test's
        self.prefix = claim_lab_prefix()
        shutil.copytree(INVENTORY, self.inventory)

    def kopnet(
        self, *args: str, check: bool = True, inproc: bool = False
    ) -> subprocess.CompletedProcess[str]:
        """Run the CLI as a subprocess, or in this process (same code, faster) with inproc."""
        env = {**os.environ, "KOPNET_LAB_DIR": str(self.dir), ENV_PREFIX: self.prefix}
        if inproc:
            outcome = CliRunner().invoke(
                cli, ["--inventory", str(self.inventory), *args], env=env, catch_exceptions=False
            )
            result = subprocess.CompletedProcess(
                list(args), outcome.exit_code, outcome.stdout, outcome.stderr
            )
            if check:
                assert result.returncode == 0, result.stdout + result.stderr
            return result
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "kopnet_iac.cli.main",
                "--inventory",
                str(self.inventory),
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
        if check:
            assert result.returncode == 0, result.stdout + result.stderr
        return result

    def status(self, cli: bool = False) -> dict[str, dict[str, Any]]:
        """Status rows by hostname, through the CLI or (faster) the library call."""
        if cli:
            rows = json.loads(self.kopnet("lab", "status", "--json").stdout)
        else:
            rows = lab_status(self.dir)
        return {row["hostname"]: row for row in rows}


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    lab = Lab(tmp_path)
    try:
        yield lab
    finally:  # whatever happened, no daemon and no gateway namespace is left behind
        pid = control.read_pid(lab.dir)
        if pid is not None and control.pid_alive(pid) and control.is_lab_daemon(pid):
            os.kill(pid, signal.SIGKILL)
            control.wait_exit(pid, 10)
        if os.geteuid() == 0:
            with contextlib.suppress(ImportError):
                from kopnet_iac.lab import gateway_netns

                gateway_netns.down(lab.dir)


def radio_status(row: dict[str, Any]) -> dict[str, Any]:
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    base = f"http://{row['host']}:{row['http_port']}"
    form = urllib.parse.urlencode({"username": row["username"], "password": row["password"]})
    opener.open(base + "/api/auth", data=form.encode(), timeout=10).read()
    with opener.open(base + "/status.cgi", timeout=10) as response:
        document: dict[str, Any] = json.loads(response.read())
    return document


def ssh_exec(row: dict[str, Any], *commands: str) -> list[str]:
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect(
        row["host"],
        row["ssh_port"],
        username=row["username"],
        password=row["password"],
        look_for_keys=False,
        allow_agent=False,
        timeout=10,
    )
    outputs = []
    try:
        for command in commands:
            _, out, _ = client.exec_command(command, timeout=10)
            outputs.append(out.read().decode())
    finally:
        client.close()
    return outputs


def test_up_status_fault_log_down(lab: Lab) -> None:
    up = lab.kopnet(
        "lab",
        "up",
        VILLAGE,
        "--no-gateways",
        "--fault",
        f"{RADIO_B}:trap=HTTP GET /getcfg.cgi",
        check=False,
    )
    assert "devices answering" in up.stdout
    assert "gateway" not in up.stdout
    pid = control.read_pid(lab.dir)
    assert pid is not None and control.pid_alive(pid)

    status = lab.status(cli=True)
    assert status == lab.status()
    for field in (
        "village",
        "hostname",
        "platform",
        "model",
        "host",
        "api_port",
        "ssh_port",
        "http_port",
        "username",
        "password",
        "state",
    ):
        assert all(field in row for row in status.values())
    radios = [row for row in status.values() if row["platform"] == "airos"]
    assert len(radios) == 3 and all(row["state"] == "running" for row in radios)
    routers = [row for row in status.values() if row["platform"] == "routeros"]
    assert routers and all(row["http_port"] is None for row in routers)
    if all(row["state"] == "running" for row in routers):
        assert up.returncode == 0
    else:  # RouterOS emulator missing or broken: reported, exit code says so
        assert up.returncode == 3 and "failed to start" in up.stderr
    assert status[RADIO_B]["faults"] == {"trap_pattern": "HTTP GET /getcfg.cgi"}
    assert len({row["host"] for row in status.values()}) == len(status)
    assert all(row["host"].startswith(lab.prefix + ".") for row in status.values())

    targets = lab_targets(lab.dir)
    assert targets[RADIO_A].host == status[RADIO_A]["host"]
    assert targets[RADIO_A].http_port == 8080 and targets[RADIO_A].api_port is None

    core = status["core-lebung-itam"]
    if core["state"] == "running":  # the RouterOS emulator obeys the same fault channel
        lab.kopnet(
            "lab", "fault", core["hostname"], "--trap", "/system/identity/print*", inproc=True
        )
        api = librouteros.connect(
            host=core["host"],
            username=core["username"],
            password=core["password"],
            port=core["api_port"],
        )
        try:
            with pytest.raises(librouteros.exceptions.TrapError, match="injected"):
                tuple(api.path("/system/identity"))
            assert tuple(api.path("/interface"))
        finally:
            api.close()
        assert (
            "/system/identity/print"
            in lab.kopnet("lab", "log", core["hostname"], inproc=True).stdout
        )

    # link down on one end: the other end's registration table empties
    assert radio_status(status[RADIO_A])["wireless"]["count"] == 1
    out = lab.kopnet("lab", "fault", RADIO_B, "--link-down", "ath0").stdout
    assert "links_down" in out
    assert radio_status(status[RADIO_A])["wireless"]["count"] == 0
    lab.kopnet("lab", "fault", RADIO_B, "--link-up", "ath0", inproc=True)
    assert radio_status(status[RADIO_A])["wireless"]["count"] == 1

    # the trap given at start makes exactly the matching request fail
    with pytest.raises(urllib.error.HTTPError) as info:
        opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        base = f"http://{status[RADIO_B]['host']}:8080"
        form = urllib.parse.urlencode({"username": "kopnet", "password": f"lab-{RADIO_B}"})
        opener.open(base + "/api/auth", data=form.encode(), timeout=10).read()
        opener.open(base + "/getcfg.cgi", timeout=10).read()
    assert info.value.code == 500

    # drop-after closes the SSH session
    lab.kopnet("lab", "fault", RADIO_A, "--drop-after", "1", inproc=True)
    with pytest.raises((paramiko.SSHException, EOFError, OSError)):
        ssh_exec(status[RADIO_A], "hostname", "hostname", "hostname")

    # a change survives down + up (state under the lab dir)
    outputs = ssh_exec(
        status[RADIO_A],
        "echo snmp.location=Rehearsal-Site >> /tmp/system.cfg && cfgmtd -w -p /etc/",
    )
    assert outputs == [""]
    log = lab.kopnet("lab", "log", RADIO_A, inproc=True).stdout.splitlines()
    assert "ssh login kopnet" in log and "hostname" in log
    assert any(line.startswith("echo snmp.location") for line in log)
    assert lab.kopnet("lab", "log", "nope", check=False, inproc=True).returncode == 3
    bad = lab.kopnet("lab", "fault", RADIO_A, "--latency", "-3", check=False, inproc=True)
    assert bad.returncode == 3 and "error:" in bad.stderr

    # the daemon also survives garbage on its control socket
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(str(lab.dir / control.SOCKET_NAME))
        sock.sendall(b'{not json\n[1,2]\n{"op": "explode"}\n')
        sock.settimeout(10)
        answers = b""
        while answers.count(b"\n") < 3:
            answers += sock.recv(4096)
    assert [json.loads(line)["ok"] for line in answers.splitlines()] == [False, False, False]

    down = lab.kopnet("lab", "down")
    assert f"pid {pid}" in down.stdout
    assert not control.pid_alive(pid)
    assert not (lab.dir / control.PID_NAME).exists()
    gone = lab.kopnet("lab", "status", check=False, inproc=True)
    assert gone.returncode == 3 and "no lab running" in gone.stderr
    with pytest.raises(LabError, match="no lab running"):
        lab_targets(lab.dir)
    assert "no lab daemon was running" in lab.kopnet("lab", "down", inproc=True).stdout

    lab.kopnet("lab", "up", VILLAGE, "--no-gateways", check=False)
    again = lab.status()
    assert again[RADIO_A]["host"] == status[RADIO_A]["host"]  # same addresses
    assert again[RADIO_B]["faults"] == {}
    assert "snmp.location=Rehearsal-Site" in ssh_exec(again[RADIO_A], "cat /tmp/system.cfg")[0]
    removed = lab.kopnet("lab", "remove", VILLAGE, inproc=True).stdout
    assert f"removed {len(again)} devices" in removed
    assert lab.status() == {}
    with pytest.raises(LabError, match="no devices"):
        lab_targets(lab.dir)
    lab.kopnet("lab", "down")


def test_factory_default_and_reboot(lab: Lab) -> None:
    lab.kopnet("lab", "up", VILLAGE, "--factory-default", "--no-gateways", check=False)
    status = lab.status()
    radio = status[RADIO_A]
    assert (radio["username"], radio["password"]) == ("ubnt", "ubnt")
    # forced password change: status answers 403 until changed
    with pytest.raises(urllib.error.HTTPError) as info:
        radio_status(radio)
    assert info.value.code == 403
    lab.kopnet("lab", "fault", RADIO_A, "--slow-boot", "3", "--reboot")
    assert lab.status()[RADIO_A]["state"] == "booting"
    lab.kopnet("lab", "down")
    usage = lab.kopnet("lab", "up", check=False, inproc=True)
    assert usage.returncode != 0


@pytest.mark.root
def test_gateway_namespace_joins_the_lab(lab: Lab) -> None:
    pytest.importorskip("kopnet_iac.lab.gateway_netns")
    up = lab.kopnet("lab", "up", "sukadana", check=False)
    assert "gateway gw-sukadana up" in up.stdout, up.stdout + up.stderr
    status = lab.status()
    gateway = status["gw-sukadana"]
    assert gateway["platform"] == "linux" and gateway["state"] == "running"
    assert gateway["api_port"] is None and gateway["http_port"] is None
    assert lab_targets(lab.dir)["gw-sukadana"].ssh_port == gateway["ssh_port"]
    lab.kopnet("lab", "down")
    from kopnet_iac.lab import gateway_netns

    assert gateway_netns.status(lab.dir) == []
