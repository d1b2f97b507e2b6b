"""airOS emulator: background jobs on the busybox shell, set -e, substitutions, flash vs RAM.

Driven with paramiko as the driver does; every wait polls a condition with a deadline.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from kopnet_iac.lab.airos.config import SystemConfig
from tests.lab.airos.conftest import RadioHarness
from tests.lab.airos.test_ssh import run, ssh


def wait_for(condition: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_nohup_job_survives_a_dropped_session(make_radio: Callable[..., RadioHarness]) -> None:
    radio = make_radio()
    device = radio.device
    with ssh(radio) as client:
        out, err, status = run(
            client,
            "nohup sh -c 'sleep 0.5; echo done > /tmp/marker' >/dev/null 2>&1 &\n"
            "echo $! > /tmp/job.pid\ncat /tmp/job.pid",
        )
        assert status == 0 and err == ""
        pid = int(out)
        assert device.job_alive(pid)
        transport = client.get_transport()
        assert transport is not None
        transport.sock.close()  # the controller's link goes away without a goodbye
    assert wait_for(lambda: device.files.get("/tmp/marker") == "done\n")
    assert not device.job_alive(pid)


def test_plain_background_job_gets_the_hangup(make_radio: Callable[..., RadioHarness]) -> None:
    radio = make_radio()
    device = radio.device
    with ssh(radio) as client:
        out, _, _ = run(client, "sh -c 'sleep 0.5; echo x > /tmp/never' & echo $!")
        pid = int(out)
    assert wait_for(lambda: not device.job_alive(pid))
    # a detached witness started later and sleeping longer proves the time has passed
    with ssh(radio) as client:
        run(client, "nohup sh -c 'sleep 1; echo w > /tmp/witness' >/dev/null 2>&1 &")
    assert wait_for(lambda: "/tmp/witness" in device.files)
    assert "/tmp/never" not in device.files


def test_kill_and_probe(make_radio: Callable[..., RadioHarness]) -> None:
    radio = make_radio()
    with ssh(radio) as client:
        out, _, _ = run(client, "setsid sleep 30 >/dev/null 2>&1 & echo $! > /tmp/p; cat /tmp/p")
        pid = int(out)
        assert run(client, "kill -0 $(cat /tmp/p) && echo alive")[0] == "alive\n"
        assert run(client, "kill $(cat /tmp/p)")[2] == 0
        assert not radio.device.job_alive(pid)
        _, err, status = run(client, f"kill {pid}")
        assert status == 1 and "No such process" in err
        assert run(client, "kill -0 $(cat /tmp/missing 2>/dev/null) 2>/dev/null || echo none")[
            0
        ] == ("none\n")


def test_reboot_ends_jobs_and_boots_from_flash(make_radio: Callable[..., RadioHarness]) -> None:
    radio = make_radio()
    device = radio.device
    with ssh(radio) as client:
        run(client, "nohup sh -c 'sleep 2; echo late > /tmp/late' >/dev/null 2>&1 &")
        run(client, "echo snmp.location=unsaved >> /tmp/system.cfg && rc.softrestart")
        assert device.active.get("snmp.location") == "unsaved"
        assert device.jobs
    radio.loop.run(device.reboot(0.1))
    assert not device.jobs
    assert device.active.get("snmp.location") == ""
    assert "snmp.location" not in device.files["/tmp/system.cfg"]
    with ssh(radio) as client:
        run(client, "nohup sh -c 'sleep 2.5; echo w > /tmp/witness' >/dev/null 2>&1 &")
    assert wait_for(lambda: "/tmp/witness" in device.files)
    assert "/tmp/late" not in device.files


def test_set_e_stops_at_the_first_failure(make_radio: Callable[..., RadioHarness]) -> None:
    radio = make_radio()
    with ssh(radio) as client:
        out, _, status = run(client, "set -e\necho one\nfalse || echo two\nfalse\necho three")
        assert (out, status) == ("one\ntwo\n", 1)
        out, _, status = run(client, "echo one; false; echo two")
        assert (out, status) == ("one\ntwo\n", 0)
        out, _, _ = run(client, "X=abc; echo \"$X-${X}\" '$X' \\$X")
        assert out == "abc-abc $X $X\n"
        assert run(client, "echo $(echo nested $(echo deep))")[0] == "nested deep\n"
        assert run(client, "echo `hostname`")[0] == "bh-a\n"
        out, err, _ = run(client, "cat /nope 2>&1; cat /nope 2>/dev/null; echo end")
        assert "can't open" in out and err == "" and out.endswith("end\n")


def test_files_flash_and_persistent(make_radio: Callable[..., RadioHarness]) -> None:
    radio = make_radio()
    device = radio.device
    with ssh(radio) as client:
        assert "board.name=LiteBeam 5AC Gen2" in run(client, "cat /etc/board.info")[0]
        run(client, "cp /tmp/system.cfg /tmp/copy.cfg && cmp -s /tmp/copy.cfg /tmp/system.cfg")
        assert run(client, "cmp -s /tmp/copy.cfg /tmp/system.cfg")[2] == 0
        run(client, "echo snmp.location=ram >> /tmp/system.cfg")
        assert run(client, "cmp -s /tmp/copy.cfg /tmp/system.cfg")[2] == 1
        # cfgmtd -r -f copies flash elsewhere, /tmp/system.cfg keeps the RAM edit
        assert run(client, "cfgmtd -r -p /etc/ -f /tmp/flash.cfg")[2] == 0
        assert device.files["/tmp/flash.cfg"] == device.flash
        assert "snmp.location=ram" in device.files["/tmp/system.cfg"]
        assert run(client, "test -e /tmp/flash.cfg && echo yes")[0] == "yes\n"
        assert run(client, "rm /tmp/flash.cfg; test ! -e /tmp/flash.cfg && echo gone")[0] == (
            "gone\n"
        )
        _, err, status = run(client, "rm /tmp/flash.cfg")
        assert status == 1 and "No such file" in err
        assert run(client, "mv /tmp/copy.cfg /etc/persistent/keep.cfg")[2] == 0
        assert "/tmp/copy.cfg" not in device.files
        assert run(client, "cfgmtd -w -p /etc/")[2] == 0
        run(client, "echo gone > /etc/persistent/unsaved")
    radio.loop.run(device.reboot(0.1))
    assert "/etc/persistent/keep.cfg" in device.files
    assert "/etc/persistent/unsaved" not in device.files
    assert SystemConfig.parse(device.files["/tmp/system.cfg"]).get("snmp.location") == "ram"


def test_sh_c_only_form_and_exit_status(make_radio: Callable[..., RadioHarness]) -> None:
    radio = make_radio()
    with ssh(radio) as client:
        assert run(client, "sh /tmp/x")[2] == 2
        assert run(client, "sh -c 'exit'; echo after")[0] == "after\n"
        assert run(client, "sh -c 'false'")[2] == 1


def test_running_cfg_shows_what_is_applied(make_radio: Callable[..., RadioHarness]) -> None:
    radio = make_radio()
    with ssh(radio) as client:
        assert run(client, "cmp -s /tmp/running.cfg /tmp/system.cfg")[2] == 0
        run(client, "echo snmp.location=written >> /tmp/system.cfg")
        assert run(client, "grep snmp.location /tmp/running.cfg")[2] == 1  # not applied yet
        run(client, "/usr/etc/rc.d/rc.softrestart")
        assert run(client, "grep snmp.location /tmp/running.cfg")[0] == "snmp.location=written\n"
        assert "snmp.location" not in radio.device.flash  # applied, not saved
