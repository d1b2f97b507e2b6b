"""The gateway's device-side revert against a real lab gateway (namespaces, sshd, BIRD):
armed on the gateway, it restores the managed files byte for byte by itself when the
controller goes away, and is kept by a confirm. Tests run in order on one gateway."""

from __future__ import annotations

import base64
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kopnet_iac.errors import ApplyError, RollbackError
from kopnet_iac.inventory.loader import Inventory
from kopnet_iac.lab import gateway_netns
from kopnet_iac.platforms.linux.apply import apply_gateway
from kopnet_iac.platforms.linux.sshrun import SshTarget
from kopnet_iac.platforms.linux.transaction import (
    arm_revert,
    confirm,
    managed_paths,
    pending,
    revert_now,
    revert_state,
)
from tests.conftest import REPO_ROOT
from tests.lab.gateway.helpers import sudo_run, target_of

pytestmark = [pytest.mark.root, pytest.mark.lab]

# Generous margins: the machine running the tests may be loaded. Waiting is by polling.
MARGIN_S = 45.0
Files = dict[str, tuple[str, bytes] | None]


def _info(lab: Path) -> dict[str, Any]:
    rows = [r for r in gateway_netns.status(lab) if r["village"] == "sukadana"]
    assert rows and rows[0]["state"] == "running", rows
    return dict(rows[0])


def _target(lab: Path) -> SshTarget:
    return target_of(_info(lab))


def read_files(info: dict[str, Any]) -> Files:
    """Every managed path -> (mode, bytes), None when absent, read over SSH."""
    script = ["set -e"]
    for path in managed_paths().values():
        q = shlex.quote(path)
        script.append(
            f"if [ -e {q} ]; then echo {q} $(stat -c %a {q}) $(base64 -w0 < {q}); "
            f"else echo {q} absent; fi"
        )
    out = sudo_run(info, "\n".join(script) + "\n")
    files: Files = {}
    for line in out.splitlines():
        parts = line.split(" ")
        if parts[1] == "absent":
            files[parts[0]] = None
        else:
            files[parts[0]] = (parts[1], base64.b64decode(parts[2] if len(parts) > 2 else ""))
    assert set(files) == set(managed_paths().values())
    return files


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.5)


def _gateway_clock_past(target: SshTarget, deadline: int, by: int = 3) -> bool:
    now = revert_state(target, village="sukadana").now
    return now is not None and now >= deadline + by


@pytest.fixture(autouse=True)
def _no_armed_revert(gateway_lab: Path) -> None:
    """Every test starts with nothing armed (an earlier failure may have left one)."""
    target = _target(gateway_lab)
    if pending(target, village="sukadana"):
        revert_now(target, village="sukadana")


def test_arm_apply_then_controller_gone_restores_byte_for_byte(
    inv: Inventory, gateway_lab: Path, tmp_path: Path
) -> None:
    info = _info(gateway_lab)
    target = target_of(info)
    before = read_files(info)
    revert_in = 40  # an Ansible apply on a loaded 2-core box fits well inside
    arm = arm_revert(target, revert_in, village="sukadana", service_manager="lab")
    assert arm.mechanism == "process" and arm.id
    assert set(arm.present) | set(arm.absent) == set(managed_paths())
    report = apply_gateway(
        inv, "sukadana", lab_dir=gateway_lab, workdir=tmp_path / "w", rollback=False, verify=False
    )
    assert not report.error, report.error
    assert not report.rolled_back and not report.checks
    assert not (tmp_path / "w" / "snapshot").exists()  # no controller-side snapshot
    applied = read_files(info)
    assert applied != before, "the apply changed nothing: the test proves nothing"
    assert pending(target, village="sukadana")
    # Every SSH session of the controller is closed now; the gateway is on its own.
    wait_until(lambda: not pending(target, village="sukadana"), revert_in + MARGIN_S, "the revert")
    assert read_files(info) == before
    state = revert_state(target, village="sukadana")
    assert state.last.startswith(f"reverted {arm.id}")
    assert "bird.conf" in state.last


def test_controller_killed_with_sigkill_after_apply(gateway_lab: Path, tmp_path: Path) -> None:
    info = _info(gateway_lab)
    before = read_files(info)
    controller = tmp_path / "controller.py"
    controller.write_text(
        "import sys, time\n"
        "from pathlib import Path\n"
        "from kopnet_iac.platforms.linux.transaction import arm_revert\n"
        "from tests.lab.gateway.helpers import sudo_run, target_of\n"
        "from kopnet_iac.lab import gateway_netns\n"
        f"info = [r for r in gateway_netns.status(Path({str(gateway_lab)!r}))"
        " if r['village'] == 'sukadana'][0]\n"
        "arm_revert(target_of(info), 8, village='sukadana')\n"
        'sudo_run(info, \'echo "# applied by a controller about to die" >> /etc/bird/bird.conf;'
        " echo PermitRootLogin no > /etc/ssh/sshd_config.d/90-kopnet.conf')\n"
        "print('applied', flush=True)\n"
        "time.sleep(600)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, str(controller)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip() == b"applied", line
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    target = target_of(info)
    assert read_files(info) != before
    wait_until(lambda: not pending(target, village="sukadana"), 8 + MARGIN_S, "the revert")
    assert read_files(info) == before
    assert revert_state(target, village="sukadana").last.startswith("reverted")


def test_confirm_keeps_the_change(gateway_lab: Path) -> None:
    info = _info(gateway_lab)
    target = target_of(info)
    arm = arm_revert(target, 6, village="sukadana")
    sudo_run(info, "echo '# confirmed change' >> /etc/bird/bird.conf")
    changed = read_files(info)
    confirm(target, village="sukadana", arm=arm)
    assert not pending(target, village="sukadana")
    wait_until(lambda: _gateway_clock_past(target, arm.deadline), 6 + MARGIN_S, "the deadline")
    assert read_files(info) == changed
    state = revert_state(target, village="sukadana")
    assert state.last.startswith(f"confirmed {arm.id}") and not state.timer_alive
    with pytest.raises(ApplyError, match="no revert armed"):
        confirm(target, village="sukadana")


def test_revert_now_restores_and_removes_files_that_were_absent(gateway_lab: Path) -> None:
    info = _info(gateway_lab)
    target = target_of(info)
    sudo_run(info, "rm -f /etc/sysctl.d/90-kopnet.conf")
    before = read_files(info)
    assert before["/etc/sysctl.d/90-kopnet.conf"] is None
    arm = arm_revert(target, 300, village="sukadana")
    assert "sysctl.conf" in arm.absent and "bird.conf" in arm.present
    sudo_run(
        info,
        "echo net.ipv4.ip_forward = 1 > /etc/sysctl.d/90-kopnet.conf\n"
        "printf 'flush ruleset\\n' > /etc/nftables.conf\nchmod 0600 /etc/bird/bird.conf\n",
    )
    assert read_files(info) != before
    revert_now(target, village="sukadana")
    assert read_files(info) == before
    assert not pending(target, village="sukadana")
    revert_now(target, village="sukadana")  # already reverted: fine
    with pytest.raises(ApplyError, match="already reverted"):
        confirm(target, village="sukadana")


def test_a_second_arm_is_refused_and_the_first_stays(gateway_lab: Path) -> None:
    target = _target(gateway_lab)
    first = arm_revert(target, 300, village="sukadana")
    with pytest.raises(ApplyError, match=f"already armed.*id={first.id}"):
        arm_revert(target, 300, village="sukadana")
    state = revert_state(target, village="sukadana")
    assert state.armed and state.id == first.id and state.timer_alive
    assert state.deadline == first.deadline
    with pytest.raises(ApplyError, match="another revert is armed"):
        confirm(target, village="sukadana", arm=first.__class__(**{**first.__dict__, "id": "x"}))
    confirm(target, village="sukadana", arm=first)
    assert not revert_state(target, village="sukadana").timer_alive


def test_revert_now_without_any_arm_is_an_error(gateway_lab: Path) -> None:
    info = _info(gateway_lab)
    sudo_run(info, "rm -rf /var/lib/kopnet/txn")
    with pytest.raises(RollbackError, match="no revert armed"):
        revert_now(target_of(info), village="sukadana")


def test_revert_reapplies_the_restored_network(inv: Inventory, gateway_lab: Path) -> None:
    from kopnet_iac.inventory.addressing import village_addressing
    from kopnet_iac.platforms.linux.ansible import ROLES_DIR
    from kopnet_iac.platforms.linux.files import rendered_files

    info = _info(gateway_lab)
    target = target_of(info)
    uplink = managed_paths()["networkd:net-uplink"]
    applier = "/usr/local/lib/kopnet/netapply.py"
    original = rendered_files(inv, "sukadana", "gw-sukadana")["net-uplink"]
    edge = village_addressing(inv, "sukadana").uplink_edge.ip
    write = (
        f"install -D -m 0755 {ROLES_DIR / 'gateway' / 'files' / 'netapply.py'} {applier}\n"
        f"mkdir -p /etc/systemd/network\ncat > {uplink} <<'KOPNET_EOF'\n{{text}}KOPNET_EOF\n"
        f"python3 {applier} networkd {uplink}\n"
    )
    sudo_run(info, write.format(text=original))
    before = read_files(info)
    arm_revert(target, 300, village="sukadana")
    changed = original + f"\n[Route]\nDestination=10.254.0.0/24\nGateway={edge}\n"
    sudo_run(info, write.format(text=changed))
    assert "10.254.0.0/24" in sudo_run(info, "ip route show proto static")
    revert_now(target, village="sukadana")
    assert read_files(info) == before
    routes = sudo_run(info, "ip route show proto static")
    assert "10.254.0.0/24" not in routes and "10.255.0.0/24" in routes
