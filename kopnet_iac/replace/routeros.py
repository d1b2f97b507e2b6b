"""A replaced RouterOS device over the API: probe its factory state, run the day-0 bootstrap.

Round trips: probe = login + one pipelined read (model, serial, identity, users, addresses,
scheduler, MAC); bootstrap = one batch (the day-0 script and SSH keys uploaded, then
``/system reset-configuration no-defaults=yes skip-backup=yes run-after-reset=...``). The
device reboots, runs the script and comes back on its management address with the NOC account.

An interrupted bootstrap is safe to run again: before the reset nothing but files changed (a
second run uploads them again); after it, the device answers with the NOC account and the
probe reports it bootstrapped, so the caller carries on with the deploy.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from kopnet_iac.drivers.routeros.errors import DeviceConnectError, LoginRefusedError
from kopnet_iac.drivers.routeros.session import LinkSettings, Sentence, Session
from kopnet_iac.errors import ConnectError, KopnetError
from kopnet_iac.replace.day0 import DAY0_FILE, load_rules

log = logging.getLogger(__name__)


@dataclass
class Probe:
    """What a device told about itself. ``state``: ``fresh`` (factory, or reset without
    defaults), ``bootstrapped`` (identity is the hostname, logged in as the NOC account) or
    ``configured`` (someone else's configuration)."""

    state: str
    login_user: str
    model: str = ""
    serial: str = ""
    mac: str = ""
    identity: str = ""
    reasons: list[str] = field(default_factory=list)
    pending: bool = False  # airOS: a test-mode commit waits for its confirm


PROBE: list[Sentence] = [
    ("/system/routerboard/print", {}),
    ("/system/resource/print", {}),
    ("/system/identity/print", {}),
    ("/user/print", {}),
    ("/ip/address/print", {}),
    ("/system/scheduler/print", {}),
    ("/interface/ethernet/print", {}),
]


def _classify(hostname: str, user: str, rows: list[list[dict[str, str]]], *, noc: bool) -> Probe:
    board, resource, identity_rows, users, addresses, jobs, ports = rows
    rb = board[0] if board else {}
    res = resource[0] if resource else {}
    identity = (identity_rows[0] if identity_rows else {}).get("name", "")
    model = rb.get("model") or res.get("board-name", "")
    mac = next((p.get("mac-address", "") for p in ports if p.get("mac-address")), "")
    probe = Probe("fresh", user, model, rb.get("serial-number", ""), mac, identity)
    if noc:
        probe.state = "bootstrapped" if identity == hostname else "configured"
        if identity != hostname:
            probe.reasons.append(f"identity is {identity!r}, not {hostname!r}")
        return probe
    fresh_identity = load_rules().routeros_fresh_identity
    if identity not in (fresh_identity, hostname):
        probe.reasons.append(f"identity {identity!r}")
    others = sorted(u.get("name", "") for u in users if u.get("name") != "admin")
    if others:
        probe.reasons.append(f"users {', '.join(others)}")
    foreign = [a.get("address", "") for a in addresses if a.get("comment") != "defconf"]
    if foreign:
        probe.reasons.append(f"addresses {', '.join(foreign)}")
    if jobs:
        probe.reasons.append(f"scheduler jobs {', '.join(j.get('name', '') for j in jobs)}")
    if probe.reasons:
        probe.state = "configured"
    return probe


@dataclass
class RouterOSFactory:
    """One replaced RouterOS device: where it answers and which logins to try."""

    village: str
    hostname: str
    address: str
    port: int
    factory_logins: list[tuple[str, str]]
    noc_login: tuple[str, str] = field(repr=False)
    settings: LinkSettings = field(default_factory=LinkSettings)
    round_trips: int = 0
    login: tuple[str, str] = field(default=("", ""), repr=False)  # the last login accepted
    management: str = ""

    def _error(self, message: str, step: str) -> KopnetError:
        return KopnetError(message, village=self.village, host=self.hostname, step=step)

    def _open(
        self, address: str, logins: list[tuple[str, str]], step: str
    ) -> tuple[Session, str] | None:
        """A session logged in with the first login accepted; None when all are refused."""
        for user, password in logins:
            session = Session(address, self.port, self.settings, self.hostname)
            try:
                session.open(user, password)
            except LoginRefusedError:
                self.round_trips += session.round_trips + 1
                continue
            except DeviceConnectError as exc:
                raise ConnectError(
                    f"no answer from {address}:{self.port} ({exc.message}); is the device "
                    "powered, cabled to this port and given time to boot?",
                    village=self.village,
                    host=self.hostname,
                    step=step,
                ) from exc
            session.round_trips = 0
            self.round_trips += 1
            self.login = (user, password)
            return session, user
        return None

    def probe(self, management: str) -> Probe:
        """Log in with the factory logins at the factory address, then with the NOC account
        at the management address (a bootstrap that already ran); read the device."""
        self.management = management
        opened = self._open(self.address, self.factory_logins, "probe")
        noc = False
        if opened is None:
            opened = self._open(management, [self.noc_login], "probe")
            noc = True
        if opened is None:
            users = ", ".join(sorted({u for u, _ in self.factory_logins}))
            raise self._error(
                f"{self.address} refuses the factory login ({users}, empty or label password) "
                f"and the NOC account: not a factory-fresh device (give the label password "
                "with --password, or reset the device to factory state and run again)",
                "probe",
            )
        session, user = opened
        try:
            replies = session.batch(PROBE, step="probe")
        except DeviceConnectError as exc:
            raise self._error(f"{exc.message}; nothing was changed", "probe") from exc
        finally:
            self.round_trips += session.round_trips
            session.close()
        failed = [r.trap for r in replies if r.trap is not None]
        if failed:
            raise self._error(f"cannot read the device: {'; '.join(failed)}", "probe")
        return _classify(self.hostname, user, [r.rows for r in replies], noc=noc)

    def bootstrap(self, script: str, key_files: dict[str, str]) -> None:
        """Upload the day-0 script (secrets filled in) and its SSH keys, and reset into it,
        logged in as the probe was (files of an earlier attempt are replaced)."""
        address = self.address if self.login != self.noc_login else self.management
        opened = self._open(address, [self.login], "bootstrap")
        if opened is None:
            raise self._error("the factory login was refused at bootstrap", "bootstrap")
        session = opened[0]
        names = [DAY0_FILE, *key_files]
        sentences: list[Sentence] = [("/file/remove", {"numbers": n}) for n in names]
        sentences.append(("/file/add", {"name": DAY0_FILE, "contents": script}))
        sentences += [("/file/add", {"name": n, "contents": c}) for n, c in key_files.items()]
        try:
            replies = session.batch(sentences, step="bootstrap")
            # removing a file that is not there fails; only the uploads count
            failed = [r.trap for r in replies[len(names) :] if r.trap is not None]
            if failed:
                raise self._error(
                    f"upload of the day-0 script refused: {'; '.join(failed)}; nothing was changed",
                    "bootstrap",
                )
            reset = (
                "/system/reset-configuration",
                {"no-defaults": "yes", "skip-backup": "yes", "run-after-reset": DAY0_FILE},
            )
            (answer,) = session.batch([reset], step="reset")
        except DeviceConnectError as exc:
            raise self._error(
                f"{exc.message}; the device may or may not have started the reset: run the "
                "same command again (a fresh device is bootstrapped again, a reset one goes on "
                "to the deploy)",
                exc.step or "bootstrap",
            ) from exc
        finally:
            self.round_trips += session.round_trips
            session.close()
        if answer.trap is not None:
            raise self._error(f"reset-configuration refused: {answer.trap}", "reset")

    def wait_managed(self, management: str, timeout: float) -> Probe:
        """Wait until the device answers on ``management`` with the NOC account and its
        identity is the hostname (the day-0 script ran)."""
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while True:
            try:
                opened = self._open(management, [self.noc_login], "reconnect")
            except ConnectError as exc:
                opened, last = None, exc.message
            if opened is not None:
                session = opened[0]
                try:
                    replies = session.batch(PROBE, step="reconnect")
                    probe = _classify(
                        self.hostname, self.noc_login[0], [r.rows for r in replies], noc=True
                    )
                    if probe.state == "bootstrapped":
                        return probe
                    last = "; ".join(probe.reasons)
                except DeviceConnectError as exc:
                    last = exc.message
                finally:
                    self.round_trips += session.round_trips
                    session.close()
            else:
                last = last if last != "no answer yet" else "NOC login refused"
            if time.monotonic() >= deadline:
                raise self._error(
                    f"not reachable as the NOC account on {management} {timeout:.0f} s after "
                    f"the reset ({last}); if it kept its factory state, run the same command "
                    "again",
                    "reconnect",
                )
            time.sleep(1.0)
