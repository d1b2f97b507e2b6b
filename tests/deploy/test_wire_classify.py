"""The lab's wire accounting counts what the drivers' reads really are: reads."""

from __future__ import annotations

from kopnet_iac.lab.wirestats import CONFIG, READ, classify_airos_shell, classify_routeros_api


def test_an_api_execute_of_exports_is_a_read() -> None:
    script = "=script=/interface bridge export terse show-sensitive; /ip address export terse"
    assert classify_routeros_api(["/execute", script, "=as-string="]) == READ
    assert classify_routeros_api(["/execute", "=script=/ip address add address=10.0.0.1"]) == CONFIG
    assert classify_routeros_api(["/execute"]) == CONFIG


def test_a_process_probe_on_airos_is_a_read() -> None:
    probe = "kill -0 $(cat /tmp/kopnet.revert.pid 2>/dev/null) 2>/dev/null && echo yes"
    assert classify_airos_shell(probe) == READ
    assert classify_airos_shell("kill $(cat /tmp/kopnet.revert.pid)") == CONFIG
    assert classify_airos_shell("kill -0 1; rm -f /tmp/x") == CONFIG
    assert classify_airos_shell("echo x > /tmp/y") == CONFIG
