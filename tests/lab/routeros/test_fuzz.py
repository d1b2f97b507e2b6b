"""Garbage on the API and the console never takes the emulated router down."""

from __future__ import annotations

import socket

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kopnet_iac.lab.routeros.device import RouterOSDevice
from kopnet_iac.lab.routeros.store import RosError, mask_secrets
from kopnet_iac.lab.routeros.wire import encode_sentence

from .conftest import TEST_PASSWORD, Lab
from .test_api import RawClient, connect

WORDS = st.one_of(
    st.sampled_from(
        [
            "/ip/address/print",
            "/ip/address/add",
            "/interface/set",
            "/system/reboot/x",
            "/login",
            "/cancel",
            "?#|",
            "?#!",
            "?=name=x",
            "?<vlan-id=3",
            "=.id=*1",
            "=numbers=ether1",
            "=address=10.0.0.1/24",
            "=interface=ether1",
            "=.proplist=name",
            ".tag=1",
            "=disabled=maybe",
            "/ip/pool/add",
            "=name=p",
            "=ranges=10.0.0.1-10.0.0.9",
            "/ip/pool/remove",
        ]
    ),
    st.text(min_size=1, max_size=20),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(sentences=st.lists(st.lists(WORDS, min_size=1, max_size=6), min_size=1, max_size=6))
def test_random_sentences_get_answers(lab: Lab, sentences: list[list[str]]) -> None:
    device = _device(lab)
    client = RawClient(device.spec.host)
    client.login()
    for words in sentences:
        client.send(*words)
        # every sentence gets an answer ending in !done or ends the session with !fatal
        while True:
            reply = client.read()
            if reply[0] in ("!done", "!fatal"):
                break
        if reply[0] == "!fatal":
            break
    client.close()
    api = connect(device.spec.host)
    assert list(api("/system/identity/print")) == [{"name": "MikroTik"}]
    api.close()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(junk=st.binary(min_size=1, max_size=64))
def test_random_bytes_never_crash(lab: Lab, junk: bytes) -> None:
    device = _device(lab)
    with socket.create_connection((device.spec.host, 8728), timeout=5) as sock:
        sock.sendall(encode_sentence(["/login", "=name=admin", f"=password={TEST_PASSWORD}"]))
        sock.sendall(junk)
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(2)
        try:
            while sock.recv(4096):
                pass
        except OSError:
            pass
    assert device.state == "running"
    api = connect(device.spec.host)
    assert next(iter(api("/system/identity/print")))["name"] == "MikroTik"
    api.close()


def test_console_script_garbage_is_a_syntax_error(lab: Lab) -> None:
    device = _device(lab)
    interpreter = device.router.interpreter
    assert interpreter is not None
    before = interpreter.router.store.to_json()
    for text in ('/ip address add address="1.2.3.4', "/ip address set [ find", "}{", "/ip ad\\"):
        with pytest.raises(RosError) as caught:
            lab.loop.run(interpreter.run_text(text, source="junk"))
        message = str(caught.value)
        assert "syntax error" in message or "bad command" in message or "no such" in message
    assert interpreter.router.store.to_json() == before, "garbage changed the configuration"
    assert device.state == "running"


def test_secrets_never_reach_the_command_log(lab: Lab) -> None:
    device = _device(lab)
    api = connect(device.spec.host)
    api.path("user").add(name="ops", group="read", password="ops-fake-pw")
    api.path("ppp", "secret").add(name="alice", password="alice-fake-pw", service="pppoe")
    api.close()
    assert not any("fake-pw" in line for line in device.commands_log)
    assert mask_secrets("/ppp secret add name=a password=x1 secret=y2") == (
        "/ppp secret add name=a password=*** secret=***"
    )


_DEVICES: dict[int, RouterOSDevice] = {}


def _device(lab: Lab) -> RouterOSDevice:
    """One device per test function (hypothesis reuses the function-scoped ``lab``)."""
    key = id(lab)
    if key not in _DEVICES or _DEVICES[key] not in lab.devices:
        _DEVICES.clear()
        _DEVICES[key] = lab.start()
    return _DEVICES[key]
