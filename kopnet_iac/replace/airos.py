"""A replaced airOS 8 radio: probe its factory state, the forced password change, day-0.

Probe: SSH as ``ubnt`` (factory password, then the NOC password a first run may already have
set), then as the NOC account on the management address; one exec reads ``/etc/board.info``
and ``/tmp/system.cfg``. The password change goes through the web API
(``/api/auth/change-password``, what airOS 8 demands before anything else). Day-0 goes
through the ``kopnet_airos`` NAPALM driver: the factory configuration with the day-0 keys laid
over it, committed in airOS test mode (reverts by itself unless confirmed), confirmed once the
NOC account logs in on the management address.
"""

from __future__ import annotations

import http.client
import json
import logging
import ssl
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from kopnet_iac.drivers.airos.errors import AirOSAuthError, AirOSConnectError
from kopnet_iac.drivers.airos.scripts import PENDING
from kopnet_iac.drivers.airos.transport import Endpoint, SSHSession
from kopnet_iac.errors import ConnectError, KopnetError
from kopnet_iac.replace.day0 import load_rules, parse_cfg
from kopnet_iac.replace.routeros import Probe

log = logging.getLogger(__name__)

READ = (
    "cat /etc/board.info; echo ---KOPNET---; cat /tmp/system.cfg; echo ---KOPNET---; "
    f"kill -0 $(cat {PENDING} 2>/dev/null) 2>/dev/null && echo pending"
)


@dataclass
class AirOSFactory:
    """One replaced radio: where it answers, its ports and the logins to try."""

    village: str
    hostname: str
    address: str
    ssh_port: int
    http_port: int | None
    https_port: int | None
    factory_password: str = field(repr=False)
    noc_login: tuple[str, str] = field(repr=False)
    timeout: float = 60.0
    round_trips: int = 0
    config: str = field(default="", repr=False)  # system.cfg read by the probe
    login: tuple[str, str, str] = field(default=("", "", ""), repr=False)  # the probe's

    def _error(self, message: str, step: str) -> KopnetError:
        return KopnetError(message, village=self.village, host=self.hostname, step=step)

    def _endpoint(self, address: str, user: str, password: str) -> Endpoint:
        return Endpoint(
            name=self.hostname,
            address=address,
            username=user,
            password=password,
            ssh_port=self.ssh_port,
            http_port=self.http_port,
            https_port=self.https_port,
            timeout=self.timeout,
            village=self.village,
        )

    def _read(self, address: str, user: str, password: str) -> tuple[str, str, bool] | None:
        session = SSHSession(self._endpoint(address, user, password))
        try:
            session.open()
        except AirOSAuthError:
            self.round_trips += 1
            return None
        except AirOSConnectError as exc:
            raise ConnectError(
                f"no SSH answer from {address}:{self.ssh_port} ({exc.message}); is the radio "
                "powered (PoE), cabled and booted?",
                village=self.village,
                host=self.hostname,
                step="probe",
            ) from exc
        try:
            result = session.run(READ, step="probe")
        finally:
            session.close()
        self.round_trips += 2
        board, _, rest = result.stdout.partition("---KOPNET---\n")
        config, _, pending = rest.partition("---KOPNET---\n")
        return board, config, pending.strip() == "pending"

    def probe(self, management: str) -> Probe:
        """``fresh`` (factory, or our password change done), ``bootstrapped`` or
        ``configured``; ``login_user`` says which password worked (``ubnt`` factory or
        ``ubnt+noc`` when the NOC password is already set)."""
        factory_user = load_rules().airos_factory_user
        noc_user, noc_password = self.noc_login
        attempts = [
            (self.address, factory_user, self.factory_password, factory_user),
            (self.address, factory_user, noc_password, f"{factory_user}+noc"),
            (management, noc_user, noc_password, noc_user),
        ]
        for address, user, password, label in attempts:
            read = self._read(address, user, password)
            if read is None:
                continue
            board_text, config, pending = read
            self.login = (address, user, password)
            board = parse_cfg(board_text)
            values = parse_cfg(config)
            self.config = config
            mac = board.get("board.hwaddr", "")
            probe = Probe(
                "fresh",
                label,
                model=board.get("board.name", ""),
                serial=mac.upper(),
                mac=":".join(mac[i : i + 2] for i in range(0, len(mac), 2)).upper(),
                identity=values.get("resolv.host.1.name", ""),
                pending=pending,
            )
            if user == noc_user:
                probe.state = "bootstrapped" if probe.identity == self.hostname else "configured"
                if probe.state != "bootstrapped":
                    probe.reasons.append(f"host name is {probe.identity!r}")
                return probe
            if values.get("users.1.name") != factory_user or "users.2.name" in values:
                probe.reasons.append("users other than the factory account")
            if probe.identity not in (probe.model, self.hostname, ""):
                probe.reasons.append(f"host name {probe.identity!r}")
            if probe.reasons:
                probe.state = "configured"
            return probe
        raise self._error(
            f"{self.address} refuses {factory_user!r} with the factory password and the NOC "
            "account: not a factory-fresh radio (reset it: hold the reset button ~10 s)",
            "probe",
        )

    # -- forced password change ----------------------------------------------------------

    def _http(self) -> http.client.HTTPConnection:
        if self.http_port is not None and self.https_port is None:
            return http.client.HTTPConnection(self.address, self.http_port, timeout=self.timeout)
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # a factory radio has a self-signed certificate
        return http.client.HTTPSConnection(
            self.address, self.https_port or 443, timeout=self.timeout, context=context
        )

    def change_password(self) -> None:
        """airOS 8's forced password change: the factory account gets the NOC password."""
        user = load_rules().airos_factory_user
        new = self.noc_login[1]
        conn = self._http()
        try:
            form = urllib.parse.urlencode({"username": user, "password": self.factory_password})
            conn.request(
                "POST",
                "/api/auth",
                body=form.encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                raise self._error(
                    f"web login as {user!r} answered HTTP {response.status}", "password"
                )
            cookie = (response.getheader("Set-Cookie") or "").split(";", 1)[0]
            csrf = response.getheader("X-CSRF-ID") or ""
            body = json.dumps({"currentPassword": self.factory_password, "newPassword": new})
            conn.request(
                "POST",
                "/api/auth/change-password",
                body=body.encode(),
                headers={"Content-Type": "application/json", "Cookie": cookie, "X-CSRF-ID": csrf},
            )
            answer = conn.getresponse()
            text = answer.read()
        except (OSError, http.client.HTTPException) as exc:
            raise self._error(
                f"web API of {self.address} failed during the password change: {exc}; run the "
                "same command again",
                "password",
            ) from exc
        finally:
            conn.close()
        self.round_trips += 2
        if answer.status != 200:
            reason = _json_error(text)
            raise self._error(
                f"password change refused (HTTP {answer.status}: {reason})", "password"
            )

    # -- day-0 -----------------------------------------------------------------------------

    def driver(self, address: str, user: str, password: str, secrets: Any, model: str) -> Any:
        """The ``kopnet_airos`` NAPALM driver for this radio (not opened)."""
        import napalm

        driver_class = napalm.get_network_driver("kopnet_airos")
        return driver_class(
            address,
            user,
            password,
            timeout=int(self.timeout),
            optional_args={
                "port": self.ssh_port,
                "http_port": self.http_port,
                "https_port": self.https_port,
                "model": model,
                "name": self.hostname,
                "village": self.village,
                "secrets": secrets,
            },
        )

    def apply_day0(
        self, day0: str, management: str, secrets: Any, model: str, revert_in: int
    ) -> None:
        """Commit day-0 in test mode (as the factory account with its new password, or as the
        account the probe logged in with on a radio being wiped), log in as the NOC account on
        the management address, confirm; the radio reverts by itself if that never works."""
        address, user, password = self.login
        if user == load_rules().airos_factory_user:
            password = self.noc_login[1]  # the forced password change happened since
        driver = self.driver(address, user, password, secrets, model)
        try:
            driver.open()
            driver.load_replace_candidate(config=day0)
            driver.commit_config(revert_in=revert_in)
            self._wait_noc(management, secrets, model, deadline=time.monotonic() + revert_in / 2)
            driver.confirm_commit()
        except KopnetError as exc:
            raise self._error(
                f"day-0 not applied ({exc.message}); the radio reverts to factory state by "
                f"itself within {revert_in} s: run the same command again",
                exc.step or "day0",
            ) from exc
        finally:
            driver.close()
            self.round_trips += 4

    def confirm_pending(self, management: str, secrets: Any, model: str) -> None:
        """A day-0 left in test mode by an interrupted run, with the NOC account already
        logging in on the management address: it did its job, save it (else its timer would
        put the radio back to factory state in the middle of the deploy)."""
        driver = self.driver(management, *self.noc_login, secrets, model)
        try:
            driver.open()
            driver.confirm_commit()
        except KopnetError as exc:
            raise self._error(
                f"cannot confirm the day-0 left pending ({exc.message}); it reverts by itself: "
                "run the same command again after that",
                "day0",
            ) from exc
        finally:
            driver.close()
            self.round_trips += 2

    def _wait_noc(self, management: str, secrets: Any, model: str, deadline: float) -> None:
        last = ""
        while True:
            try:
                if self._read(management, *self.noc_login) is not None:
                    return
                last = "NOC login refused"
            except ConnectError as exc:
                last = exc.message
            if time.monotonic() >= deadline:
                raise self._error(f"NOC account not reachable on {management}: {last}", "reconnect")
            time.sleep(1.0)


def _json_error(text: bytes) -> str:
    try:
        data = json.loads(text)
    except ValueError:
        return "no reason given"
    return str(data.get("error", "no reason given")) if isinstance(data, dict) else "?"
