"""The lab from Python (what ``kopnet lab up/remove/down`` call): no CLI, no printing."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import librouteros
import pytest

from kopnet_iac.errors import LabError
from kopnet_iac.inventory.loader import load_inventory
from kopnet_iac.lab import control, service
from kopnet_iac.lab.targets import LabTargets
from kopnet_iac.lab.topology import ENV_PREFIX
from tests.addresses import claim_lab_prefix
from tests.conftest import EXAMPLE_FLEET

pytestmark = pytest.mark.lab


@pytest.fixture
def lab_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    directory = tmp_path / "lab"
    monkeypatch.setenv(ENV_PREFIX, claim_lab_prefix())
    try:
        yield directory
    finally:  # no daemon left behind, whatever happened
        pid = control.read_pid(directory)
        if pid is not None and control.pid_alive(pid) and control.is_lab_daemon(pid):
            os.kill(pid, signal.SIGKILL)
            control.wait_exit(pid, 10)


def test_lab_up_remove_down_from_python(lab_dir: Path) -> None:
    inv = load_inventory(EXAMPLE_FLEET)
    said: list[str] = []
    warned: list[str] = []
    result = service.lab_up(
        inv, ["lebung-itam"], lab_dir, gateways=False, say=said.append, warn=warned.append
    )
    assert result.complete and not warned, warned
    assert result.running == len(result.specs) > 0
    assert any("lab daemon started" in line for line in said)
    assert any("devices answering" in line for line in said)

    # every device answers where the target source says, with the login it gives
    targets = LabTargets(lab_dir).targets()
    core = next(t for t in targets.values() if t.platform == "routeros" and t.api_port)
    api = librouteros.connect(
        core.host, core.username, core.password, port=core.api_port, timeout=10
    )
    assert list(api.path("system", "identity"))
    api.close()

    again = service.lab_up(inv, ["lebung-itam"], lab_dir, gateways=False, say=said.append)
    assert sorted(again.already_running) == sorted(s.hostname for s in result.specs)

    removed = service.lab_remove(["lebung-itam"], lab_dir)
    assert sorted(removed) == sorted(s.hostname for s in result.specs)
    pid = service.lab_down(lab_dir)
    assert pid is not None and not control.pid_alive(pid)
    assert service.lab_down(lab_dir) is None


def test_lab_up_refuses_nothing_and_unknown_fault_hosts(lab_dir: Path) -> None:
    inv = load_inventory(EXAMPLE_FLEET)
    with pytest.raises(LabError, match="at least one village"):
        service.lab_up(inv, [], lab_dir)
    with pytest.raises(LabError, match="fault for unknown device 'ghost'"):
        service.lab_up(inv, ["lebung-itam"], lab_dir, faults=["ghost:latency=10"])
    assert not control.is_running(lab_dir)  # refused before anything started
