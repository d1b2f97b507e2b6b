"""``kopnet lab up`` exits non-zero, with the reason, when a part it was asked to start (the
gateways, by default) does not start; the emulated devices it could start keep running."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from kopnet_iac.transport.hostkeys import HostKeyStore, host_id, scan_key
from tests.lab.test_cli_lab import (
    Lab,
    lab,  # noqa: F401 - the fixture (stops the daemon)
)

pytestmark = [pytest.mark.lab]


@pytest.fixture
def lab_under_var(tmp_path: Path) -> Iterator[Lab]:
    # A lab directory under /var is refused by the gateway lab (it overlays /var for each
    # gateway): a real start failure that happens before any namespace is created.
    var_tmp = Path(tempfile.mkdtemp(prefix="kopnet-up-", dir="/var/tmp"))
    bench = Lab(tmp_path)
    bench.dir = var_tmp / "lab"
    try:
        yield bench
    finally:
        bench.kopnet("lab", "down", check=False)
        shutil.rmtree(var_tmp, ignore_errors=True)


@pytest.mark.root
# an error (>= 3 by the exit-code convention), not "differences found"
def test_gateway_start_failure_is_a_non_zero_exit_with_the_reason(lab_under_var: Lab) -> None:
    up = lab_under_var.kopnet("lab", "up", "sukadana", check=False)
    assert up.returncode == 3, up.stdout + up.stderr
    assert "gateway of sukadana not started" in up.stderr
    assert "must not be under /var" in up.stderr
    assert "lab up incomplete" in up.stderr
    status = lab_under_var.status()
    # the emulated devices were started and keep running; no gateway joined the lab
    assert status and all(row["state"] == "running" for row in status.values())
    assert "gw-sukadana" not in status


def test_devices_only_lab_up_exits_zero_and_pins_the_host_keys(lab: Lab) -> None:  # noqa: F811
    up = lab.kopnet("lab", "up", "sukadana", "--no-gateways", check=False)
    assert up.returncode == 0, up.stdout + up.stderr
    assert "lab up: " in up.stdout and "incomplete" not in up.stderr
    status = lab.status()
    store = HostKeyStore.open()  # $KOPNET_STATE of this test, inherited by the CLI
    pins = {p.device: p for p in store.entries()}
    assert set(pins) == {h for h, row in status.items() if row["ssh_port"]} and pins
    for hostname, pin in pins.items():
        row = status[hostname]
        assert pin.host == host_id(row["host"], row["ssh_port"])
        assert pin.matches(scan_key(row["host"], row["ssh_port"]))
    assert f"{len(pins)} SSH host keys recorded" in up.stdout
    # a second "lab up" of the same village keeps one pin per device
    lab.kopnet("lab", "up", "sukadana", "--no-gateways")
    assert len(store.entries()) == len(pins)
    lab.kopnet("lab", "down")


def _gateways_up_without_root(explicit: bool, tmp_path: Path) -> str:
    """What ``lab up``'s gateway step reports in a process that dropped root."""
    from kopnet_iac.cli import lab_cmds
    from kopnet_iac.inventory.loader import load_inventory
    from tests.conftest import EXAMPLE_FLEET

    inv = load_inventory(EXAMPLE_FLEET)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: drop root, run the step, report failures and what it printed
        try:
            os.close(read_end)
            os.setuid(65534)
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                failures = lab_cmds._gateways_up(
                    ["sukadana"], inv, tmp_path / "lab", explicit=explicit
                )
            os.write(write_end, json.dumps([failures, out.getvalue()]).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        answer = pipe.read()
    os.waitpid(pid, 0)
    return answer


@pytest.mark.root
def test_without_root_default_gateways_are_a_note_and_asked_ones_a_failure(
    tmp_path: Path,
) -> None:
    failures, printed = json.loads(_gateways_up_without_root(False, tmp_path))
    assert failures == [] and "gateways not started: needs root" in printed
    failures, printed = json.loads(_gateways_up_without_root(True, tmp_path))
    assert failures == ["gateways not available: needs root"]
    assert not (tmp_path / "lab").exists()
