"""airOS HTTP(S) API driven with a real HTTP client (urllib): auth, CSRF, status, cfg."""

from __future__ import annotations

import http.cookiejar
import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from kopnet_iac.lab.airos.config import SystemConfig
from kopnet_iac.lab.faults import Faults
from tests.lab.airos.conftest import RadioHarness


class Client:
    """A browser-like client: cookie jar, CSRF header remembered from /api/auth."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.csrf = ""
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
            urllib.request.HTTPSHandler(context=context),
        )

    def call(
        self,
        method: str,
        path: str,
        form: dict[str, str] | None = None,
        body: bytes | None = None,
        csrf: bool = True,
    ) -> tuple[int, dict[str, str], bytes]:
        data = urllib.parse.urlencode(form).encode() if form is not None else body
        request = urllib.request.Request(self.base + path, data=data, method=method)
        if csrf and self.csrf:
            request.add_header("X-CSRF-ID", self.csrf)
        if body is not None:
            request.add_header("Content-Type", "text/plain")
        try:
            with self.opener.open(request, timeout=10) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()

    def login(self, username: str, password: str) -> tuple[int, dict[str, Any]]:
        status, headers, body = self.call(
            "POST", "/api/auth", {"username": username, "password": password}
        )
        self.csrf = headers.get("X-CSRF-ID", "")
        return status, json.loads(body)


def test_auth_status_getcfg_writecfg(make_radio: Callable[..., RadioHarness]) -> None:
    radio = make_radio()
    client = Client(f"http://{radio.spec.host}:{radio.spec.http_port}")
    assert client.call("GET", "/status.cgi")[0] == 401  # no session yet
    assert client.login("kopnet", "wrong-password")[0] == 401
    status, answer = client.login("kopnet", "lab-fake-pw")
    assert status == 200 and client.csrf
    assert answer["password_change_required"] is False

    code, _, body = client.call("GET", "/status.cgi")
    assert code == 200
    document = json.loads(body)
    assert document["host"]["hostname"] == "bh-a"
    assert document["host"]["fwversion"] == "v8.7.11"
    assert document["host"]["devmodel"] == "LiteBeam 5AC Gen2"
    assert document["wireless"]["mode"] == "ap-ptp"  # "bh-a" < "bh-b" without an explicit AP
    assert document["wireless"]["frequency"] == 5765
    assert document["wireless"]["count"] == 1
    station = document["wireless"]["sta"][0]
    assert station["signal"] == -57 and station["remote"]["hostname"] == "bh-b"

    code, _, cfg = client.call("GET", "/getcfg.cgi")
    assert code == 200
    config = SystemConfig.parse(cfg.decode())
    config.set("wireless.1.ssid", "RENAMED-BY-TEST")
    config.set("radio.1.freq", "5805")

    saved_csrf, client.csrf = client.csrf, ""
    code, _, _ = client.call("POST", "/writecfg.cgi", body=config.text.encode(), csrf=False)
    assert code == 403  # cookie alone is not enough
    client.csrf = saved_csrf
    code, _, body = client.call("POST", "/writecfg.cgi", body=config.text.encode())
    assert code == 200, body
    document = json.loads(client.call("GET", "/status.cgi")[2])
    assert document["wireless"]["essid"] == "RENAMED-BY-TEST"
    assert document["wireless"]["frequency"] == 5805
    assert client.call("GET", "/getcfg.cgi")[2].decode() == config.text
    # persisted to flash: survives a reboot
    radio.loop.run(radio.device.reboot(0.1))
    client2 = Client(f"http://{radio.spec.host}:{radio.spec.http_port}")
    assert client2.login("kopnet", "lab-fake-pw")[0] == 200
    assert json.loads(client2.call("GET", "/status.cgi")[2])["wireless"]["essid"] == (
        "RENAMED-BY-TEST"
    )


def test_writecfg_rejects_garbage_and_keeps_config(
    make_radio: Callable[..., RadioHarness],
) -> None:
    radio = make_radio()
    client = Client(f"http://{radio.spec.host}:{radio.spec.http_port}")
    client.login("kopnet", "lab-fake-pw")
    before = client.call("GET", "/getcfg.cgi")[2]
    code, _, body = client.call("POST", "/writecfg.cgi", body=b"radio.1.freq=5745\nnot a line\n")
    assert code == 400
    assert "expected key=value" in json.loads(body)["error"]
    code, _, body = client.call("POST", "/writecfg.cgi", body=b"\xff\xfe\x00garbage")
    assert code in (400, 500)
    assert client.call("GET", "/getcfg.cgi")[2] == before
    assert client.call("GET", "/no-such-page")[0] == 404
    assert "HTTP POST /writecfg.cgi" in radio.device.commands_log
    assert "HTTP GET /no-such-page" in radio.device.commands_log


def test_https_uses_the_lab_certificate(make_radio: Callable[..., RadioHarness]) -> None:
    radio = make_radio()
    client = Client(f"https://{radio.spec.host}:{radio.spec.https_port}")
    assert client.login("kopnet", "lab-fake-pw")[0] == 200
    assert client.call("GET", "/status.cgi")[0] == 200
    strict = ssl.create_default_context()
    with pytest.raises(urllib.error.URLError):  # self-signed: a verifying client refuses it
        urllib.request.urlopen(
            f"https://{radio.spec.host}:{radio.spec.https_port}/status.cgi",
            context=strict,
            timeout=5,
        )


def test_factory_default_forces_password_change(make_radio: Callable[..., RadioHarness]) -> None:
    radio = make_radio(factory_default=True)
    client = Client(f"http://{radio.spec.host}:{radio.spec.http_port}")
    assert client.login("kopnet", "lab-fake-pw")[0] == 401  # lab credentials do not exist yet
    status, answer = client.login("ubnt", "ubnt")
    assert status == 200 and answer["password_change_required"] is True
    for path in ("/status.cgi", "/getcfg.cgi"):
        code, _, body = client.call("GET", path)
        assert code == 403
        assert json.loads(body)["password_change_required"] is True
    code, _, _ = client.call(
        "POST",
        "/api/auth/change-password",
        {"currentPassword": "ubnt", "newPassword": "ubnt"},
    )
    assert code == 400  # must differ from the default
    code, _, _ = client.call(
        "POST",
        "/api/auth/change-password",
        {"currentPassword": "ubnt", "newPassword": "fake-new-pw"},
    )
    assert code == 200
    code, _, body = client.call("GET", "/status.cgi")
    assert code == 200
    cfg = client.call("GET", "/getcfg.cgi")[2].decode()
    assert "netconf.3.ip=192.168.1.20" in cfg
    assert (
        Client(f"http://{radio.spec.host}:{radio.spec.http_port}").login("ubnt", "ubnt")[0] == 401
    )
    assert (
        Client(f"http://{radio.spec.host}:{radio.spec.http_port}").login("ubnt", "fake-new-pw")[0]
        == 200
    )
    assert radio.device.password == "fake-new-pw"


def test_fault_hooks_on_http(make_radio: Callable[..., RadioHarness]) -> None:
    faults = Faults(trap_pattern="HTTP GET /getcfg.cgi", trap_message="failure: injected")
    radio = make_radio(faults=faults)
    client = Client(f"http://{radio.spec.host}:{radio.spec.http_port}")
    client.login("kopnet", "lab-fake-pw")
    code, _, body = client.call("GET", "/getcfg.cgi")
    assert code == 500 and json.loads(body)["error"] == "failure: injected"
    assert client.call("GET", "/status.cgi")[0] == 200
    faults.drop_after_commands = 0
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        client.opener.open(f"{client.base}/status.cgi", timeout=5).read()
    assert client.call("GET", "/status.cgi")[0] == 200  # the drop was one-shot
    radio.device.faults.refuse_login = True
    assert Client(client.base).login("kopnet", "lab-fake-pw")[0] == 401


def test_link_down_empties_the_station_list(make_radio: Callable[..., RadioHarness]) -> None:
    radio = make_radio()
    client = Client(f"http://{radio.spec.host}:{radio.spec.http_port}")
    client.login("kopnet", "lab-fake-pw")
    assert json.loads(client.call("GET", "/status.cgi")[2])["wireless"]["count"] == 1
    radio.network.down.add("ath0")
    document = json.loads(client.call("GET", "/status.cgi")[2])
    assert document["wireless"]["count"] == 0 and document["wireless"]["sta"] == []
    plugged = {i["ifname"]: i["status"]["plugged"] for i in document["interfaces"]}
    assert plugged == {"eth0": False, "ath0": False}


def test_garbage_on_the_http_port_does_not_hurt(make_radio: Callable[..., RadioHarness]) -> None:
    import socket

    radio = make_radio()
    for payload in (
        b"\x16\x03\x01\x00\x05hello",  # TLS on the plain port
        b"GET /status.cgi HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
        b"POST /writecfg.cgi HTTP/1.1\r\nContent-Length: 99999999\r\n\r\nshort",
        b"\xff" * 10000 + b"\r\n\r\n",
    ):
        with socket.create_connection((radio.spec.host, radio.spec.http_port), timeout=5) as sock:
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
            sock.settimeout(5)
            try:
                while sock.recv(4096):
                    pass
            except OSError:
                pass
    client = Client(f"http://{radio.spec.host}:{radio.spec.http_port}")
    assert client.login("kopnet", "lab-fake-pw")[0] == 200
    assert client.call("GET", "/status.cgi")[0] == 200
    assert radio.device.state == "running"


def test_auth_accepts_a_json_body(make_radio: Callable[..., RadioHarness]) -> None:
    radio = make_radio()
    base = f"http://{radio.spec.host}:{radio.spec.http_port}"
    for body, expected in (
        (b'{"username": "kopnet", "password": "lab-fake-pw"}', 200),
        (b'{"username": "kopnet", "password": "wrong"}', 401),
        (b"{broken", 400),
        (b"[1, 2]", 401),
    ):
        request = urllib.request.Request(
            base + "/api/auth", data=body, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                code = response.status
        except urllib.error.HTTPError as exc:
            code = exc.code
        assert code == expected, body
