"""NAPALM driver for Ubiquiti airOS 8 radios (``napalm.get_network_driver("kopnet_airos")``).

Configuration management works on ``system.cfg`` over one SSH connection, one shell script per
operation (see :mod:`kopnet_iac.drivers.airos.scripts`); getters read the web API's
``status.cgi`` over one HTTPS keep-alive connection, opened on first use.

``optional_args``:

* ``port`` — SSH port (22); ``http_port`` / ``https_port`` — web API (default HTTPS 443);
* ``name``, ``village`` — the inventory names used in errors (default: the address);
* ``model`` — the model the inventory expects; a radio reporting another is refused;
* ``secrets`` — resolves ``@@secret:NAME@@`` placeholders at push time: a mapping, a callable
  ``name -> value`` or an object with ``get(name)`` (:class:`~kopnet_iac.inventory.secrets.
  SecretResolver`). Values stay in memory; diffs and errors show ``********``;
* ``host_keys`` — a :class:`~kopnet_iac.transport.hostkeys.HostKeyStore` of pinned SSH host
  keys (default: ``known_hosts`` in the state directory; first use recorded, a changed key
  refused before logging in);
* ``tls_ca_file`` — verify the web API's certificate against this bundle (default: accept the
  radio's self-signed certificate);
* ``key_file`` — a private key (unencrypted) for SSH public-key login, tried before the
  password, which stays the fallback. A candidate setting ``sshd.auth.passwd=disabled`` is
  refused before anything is sent unless this session logged in with a key whose public half
  is an enabled ``sshd.auth.key.N`` of the result (else the commit would lock the controller
  out: the confirm and every later run refused);
* ``fallback_usernames`` — tried in order (same password) when the radio refuses the login
  as ``username`` (a radio still on its earlier account, before the first deploy gave it the
  NOC account); the account that worked is used for the web API too.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from napalm.base.base import NetworkDriver

from kopnet_iac.drivers.airos import scripts, status
from kopnet_iac.drivers.airos.errors import (
    AirOSAuthError,
    AirOSCommitError,
    AirOSConnectError,
    AirOSMergeError,
    AirOSReplaceError,
    AirOSRollbackError,
    ModelMismatchError,
)
from kopnet_iac.drivers.airos.transport import Endpoint, ExecResult, HTTPSession, SSHSession
from kopnet_iac.errors import KopnetError, ParseError, SecretError
from kopnet_iac.inventory.secrets import PLACEHOLDER_RE
from kopnet_iac.platforms.airos import syscfg
from kopnet_iac.platforms.airos.crypt import is_crypt_hash

log = logging.getLogger(__name__)

PASSWD_KEY = "sshd.auth.passwd"


def normalise_model(model: str) -> str:
    """``LiteBeam-5AC-Gen2`` and ``LiteBeam 5AC Gen2`` name the same model."""
    return re.sub(r"[^a-z0-9]", "", model.lower())


class AirOSDriver(NetworkDriver):  # type: ignore[misc]
    """airOS 8: getters from ``status.cgi``, ``system.cfg`` compare/commit with a device-side
    revert (airOS "Test" mode), confirm, rollback without a reboot."""

    def __init__(
        self,
        hostname: str,
        username: str,
        password: str,
        timeout: int = 60,
        optional_args: dict[str, Any] | None = None,
    ) -> None:
        opts = dict(optional_args or {})
        self.hostname = hostname
        self.username = username
        self.password = password
        self.timeout = timeout
        self.name = str(opts.get("name") or hostname)
        self.village: str | None = opts.get("village")
        self.expected_model: str | None = opts.get("model")
        self._secrets: Any = opts.get("secrets")
        http_port = opts.get("http_port")
        https_port = opts.get("https_port", None if http_port else 443)
        self.endpoint = Endpoint(
            name=self.name,
            address=hostname,
            username=username,
            password=password,
            ssh_port=int(opts.get("port") or 22),
            http_port=int(http_port) if http_port else None,
            https_port=int(https_port) if https_port else None,
            timeout=float(timeout),
            village=self.village,
            host_keys=opts.get("host_keys"),
            key_file=str(opts["key_file"]) if opts.get("key_file") else None,
        )
        self._ssh = SSHSession(self.endpoint)
        self._http = HTTPSession(self.endpoint, ca_file=opts.get("tls_ca_file"))
        self._state: scripts.DeviceState | None = None
        self._plan: syscfg.Plan | None = None
        self._candidate_secret_keys: set[str] = set()
        self._pending_until: float | None = None
        self._next_login: tuple[str, str] | None = None
        fallback = opts.get("fallback_usernames") or ()
        self._fallbacks = [(str(u), password) for u in fallback if u and u != username]
        self._refused: list[tuple[str, str]] = []

    # ---- connection -------------------------------------------------------------------------
    def open(self) -> None:
        """SSH login; on a refusal, with each of ``fallback_usernames`` in turn. The account that
        worked is tried first next time, then the refused one (a commit may have created it
        meanwhile), then the other fallbacks."""
        current = (self.endpoint.username, self.endpoint.password)
        others = [*self._refused, *self._fallbacks]
        logins = [current, *dict.fromkeys(x for x in others if x != current)]
        for index, (user, password) in enumerate(logins):
            if index:
                self._use_login(user, password)
            try:
                self._ssh.open()
            except AirOSAuthError:
                if index == len(logins) - 1:
                    raise
                continue
            if index:
                log.info("%s: logged in as %r (%r refused)", self.name, user, current[0])
                self._refused = [current]  # tried first again next time: a commit may add it
            return

    def _use_login(self, username: str, password: str) -> None:
        self.username, self.password = username, password
        self.endpoint = dataclasses.replace(self.endpoint, username=username, password=password)
        self._http.close()
        self._http.endpoint = self._ssh.endpoint = self.endpoint

    def close(self) -> None:
        self._ssh.close()
        self._http.close()

    def is_alive(self) -> dict[str, bool]:
        return {"is_alive": self._ssh.alive}

    def _error(self, cls: type[KopnetError], message: str, step: str) -> KopnetError:
        return cls(message, village=self.village, host=self.name, step=step)

    def _run(self, script: str, *, step: str, stdin: str | None = None) -> ExecResult:
        result = self._ssh.run(script, stdin=stdin, step=step)
        log.debug("%s: %s: exit %d", self.name, step, result.status)
        return result

    def _read(self, step: str) -> scripts.DeviceState:
        result = self._run(scripts.read_script(), step=step)
        try:
            state = scripts.parse_read(result.stdout)
        except ValueError as exc:
            raise self._error(AirOSConnectError, f"unexpected answer: {exc}", step) from exc
        self._state = state
        self._pending_until = None
        return state

    # ---- getters ----------------------------------------------------------------------------
    def _status(self, step: str) -> dict[str, Any]:
        document = self._http.get_json("/status.cgi", step=step)
        if not isinstance(document, dict):
            raise self._error(AirOSConnectError, "status.cgi is not a JSON object", step)
        return document

    def get_facts(self) -> dict[str, Any]:
        """NAPALM facts from ``status.cgi`` (serial number: the board's MAC address)."""
        board = self._state.board if self._state else None
        return status.facts(self._status("get_facts"), board)

    def get_interfaces(self) -> dict[str, dict[str, Any]]:
        return status.interfaces(self._status("get_interfaces"))

    def get_wireless_link(self) -> dict[str, Any]:
        """The radio link as the radio reports it (``status.cgi``).

        Returns::

            {
                "mode": "ap-ptp",            # airOS mode: ap-ptp, sta-ptp, ap-ptmp, sta-ptmp
                "access_point": True,
                "ptp": True,
                "ssid": "bh-sukadana",
                "frequency_mhz": 5765,
                "channel_width_mhz": 40,
                "country_code": 360,
                "capacity_mbps": 300.0,      # airMAX polling capacity (0.0 if unknown)
                "stations": [                # one per registered peer; [] when down
                    {
                        "mac": "02:AB:...",
                        "signal_dbm": -57,
                        "ccq_percent": 86,         # airOS 6 CCQ or airOS 8 airMAX quality; None
                        "capacity_percent": 86,    # airMAX capacity; None if not reported
                        "tx_rate_mbps": 300.0,
                        "rx_rate_mbps": 280.0,
                        "remote_hostname": "bh-b", # "" if not reported
                    }
                ],
            }
        """
        return status.wireless_link(self._status("get_wireless_link"))

    def get_config(
        self,
        retrieve: str = "all",
        full: bool = False,
        sanitized: bool = False,
        format: str = "text",
        show_secrets: bool = False,
    ) -> dict[str, str]:
        """``running`` (/tmp/system.cfg), ``startup`` (flash), ``candidate`` (loaded, not yet
        committed). Secret values are masked unless ``show_secrets`` is true."""
        out = {"running": "", "startup": "", "candidate": ""}

        def shown(text: str) -> str:
            return text if show_secrets else syscfg.mask_text(text)

        if retrieve in ("all", "running"):
            out["running"] = shown(self._run(f"cat {scripts.RUNNING}", step="get_config").stdout)
        if retrieve in ("all", "startup"):
            out["startup"] = shown(self._run(scripts.startup_script(), step="get_config").stdout)
        if retrieve in ("all", "candidate") and self._plan is not None:
            text = self._plan.text()
            out["candidate"] = (
                text if show_secrets else syscfg.mask_text(text, self._candidate_secret_keys)
            )
        return out

    # ---- candidates -------------------------------------------------------------------------
    def load_merge_candidate(self, filename: str | None = None, config: str | None = None) -> None:
        """Only the keys of the given ``key=value`` lines change; every other key stays."""
        self._load(filename, config, replace=False)

    def load_replace_candidate(
        self, filename: str | None = None, config: str | None = None
    ) -> None:
        """The whole system.cfg becomes the given one (keys the firmware writes excepted)."""
        self._load(filename, config, replace=True)

    def _load(self, filename: str | None, config: str | None, *, replace: bool) -> None:
        error = AirOSReplaceError if replace else AirOSMergeError
        step = "load_replace_candidate" if replace else "load_merge_candidate"
        self._plan = None
        if config is None:
            if filename is None:
                raise self._error(error, "neither a file nor a configuration given", step)
            try:
                config = Path(filename).read_text(encoding="utf-8")
            except OSError as exc:
                raise self._error(error, f"cannot read {filename}: {exc.strerror}", step) from exc
        try:
            raw = syscfg.parse_system_cfg(config, filename=filename or "candidate")
        except ParseError as exc:
            raise self._error(error, f"invalid candidate: {exc.message}", step) from exc
        candidate, secret_keys = self._substitute(raw, error, step)
        if candidate.get(PASSWD_KEY) == "disabled" and self._ssh.login_key is None:
            self._check_keeps_login(candidate, error, step)  # refused before anything is sent
        state = self._read(step)
        self._check_model(state, step)
        try:
            running = syscfg.parse_system_cfg(state.running_text, filename=scripts.RUNNING)
        except ParseError as exc:
            raise self._error(error, f"the radio's configuration: {exc.message}", step) from exc
        planner = syscfg.plan_replace if replace else syscfg.plan_merge
        plan = planner(running, candidate, extra_secret=secret_keys)
        if plan.target.get(PASSWD_KEY) == "disabled":
            self._check_keeps_login(plan.target, error, step)
        self._plan = plan
        self._candidate_secret_keys = secret_keys
        self._next_login = self._login_after(running, candidate, self._plan)
        log.info("%s: candidate loaded, %d key(s) differ", self.name, len(self._plan.changes))

    def _check_keeps_login(
        self, values: Mapping[str, str], error: type[KopnetError], step: str
    ) -> None:
        """Refuse a configuration that disables SSH password login unless this session logged
        in with one of its enabled keys: the commit would lock this driver out of the radio
        (the confirm refused, the revert job restoring it, every later run refused)."""
        key = self._ssh.login_key
        if key is not None and key in syscfg.enabled_ssh_keys(values):
            return
        how = (
            "with a key that is not among its enabled sshd.auth.key.N entries"
            if key is not None
            else "by password"
        )
        raise self._error(
            error,
            f"the candidate sets {PASSWD_KEY}=disabled but this session logged in {how}: the "
            "commit would lock the controller out of the radio (confirm and later runs refused); "
            "log in with key_file set to a private key whose public half is in the candidate "
            "(noc.ssh_keys), or keep password login (noc.controller_key_login: false)",
            step,
        )

    def _substitute(
        self, raw: dict[str, str], error: type[KopnetError], step: str
    ) -> tuple[dict[str, str], set[str]]:
        """Placeholders replaced by their values; the keys that held one are secret."""
        out: dict[str, str] = {}
        secret_keys: set[str] = set()
        for key, value in raw.items():
            if "@@secret:" not in value:
                out[key] = value
                continue
            secret_keys.add(key)

            def value_of(match: re.Match[str], key: str = key) -> str:
                name = match.group(1)
                secret = self._secret(name, error, step)
                if "\n" in secret or "\r" in secret:
                    raise self._error(error, f"{key}: secret {name!r} has a line break", step)
                return secret

            out[key] = PLACEHOLDER_RE.sub(value_of, value)
            if "@@secret:" in out[key]:
                raise self._error(error, f"{key}: malformed secret placeholder", step)
        return out, secret_keys

    def _secret(self, name: str, error: type[KopnetError], step: str) -> str:
        source = self._secrets
        try:
            if source is None:
                raise SecretError("no secret resolver given (optional_args['secrets'])")
            if isinstance(source, Mapping):
                value = source.get(name)
            elif callable(source):
                value = source(name)
            else:
                value = source.get(name)
        except SecretError as exc:
            raise self._error(error, f"secret {name!r}: {exc.message}", step) from exc
        if not isinstance(value, str):
            raise self._error(error, f"secret {name!r} is not known to the resolver", step)
        return value

    def _login_after(
        self, running: dict[str, str], candidate: dict[str, str], plan: syscfg.Plan
    ) -> tuple[str, str] | None:
        """The login (user, clear-text password) the candidate gives our own user, if it
        changes it; later logins of this session (the web API) use it after the commit."""
        index = next(
            (
                key.split(".")[1]
                for key, value in running.items()
                if re.fullmatch(r"users\.\d+\.name", key) and value == self.endpoint.username
            ),
            None,
        )
        if index is None:
            return None
        name = plan.target.get(f"users.{index}.name", self.endpoint.username)
        password = candidate.get(f"users.{index}.password")
        if password is None or is_crypt_hash(password):
            password = self.endpoint.password
        if (name, password) == (self.endpoint.username, self.endpoint.password):
            return None
        return name, password

    def _check_model(self, state: scripts.DeviceState, step: str) -> None:
        if not self.expected_model:
            return
        if normalise_model(state.model) != normalise_model(self.expected_model):
            raise self._error(
                ModelMismatchError,
                f"the radio reports model {state.model or 'unknown'!r}, the inventory expects "
                f"{self.expected_model!r}: refusing to configure it",
                step,
            )

    def compare_config(self) -> str:
        """Key-level diff (``-key=old``/``+key=new``), secrets masked; empty when converged."""
        if self._plan is None:
            return ""
        return syscfg.render_diff(self._plan.changes)

    def discard_config(self) -> None:
        """Forget the candidate (it only ever lived on the controller)."""
        self._plan = None
        self._candidate_secret_keys = set()

    # ---- commit / confirm / rollback -----------------------------------------------------------
    def commit_config(self, message: str = "", revert_in: int | None = None) -> None:
        """Push the candidate. With ``revert_in``: airOS "Test" mode, i.e. arm a detached job
        that restores the flash configuration after ``revert_in`` seconds, then apply without
        saving; :meth:`confirm_commit` saves and disarms. A reboot before the confirm also
        brings the old configuration back (flash still holds it). Without ``revert_in`` the
        change is saved at once, still under an armed job until the save is done. No candidate
        change: no-op, nothing is sent.
        """
        step = "commit"
        plan = self._plan
        if plan is None:
            raise self._error(AirOSCommitError, "no candidate loaded", step)
        if plan.empty:
            self.discard_config()
            return
        if revert_in is not None and (not isinstance(revert_in, int) or revert_in < 1):
            raise self._error(AirOSCommitError, "revert_in must be a positive integer", step)
        state = self._state
        if state is not None and state.pending_pid is not None:
            raise self._error(
                AirOSCommitError,
                "a commit is waiting for its confirm: confirm or roll it back first",
                step,
            )
        if state is not None:
            self._check_model(state, step)
        try:
            result = self._run(scripts.commit_script(revert_in), step=step, stdin=plan.text())
        except AirOSConnectError as exc:
            where = (
                f"the armed job restores the old configuration within {revert_in} s"
                if revert_in is not None
                else "unless the save completed, the armed job restores the old configuration "
                f"within {scripts.SAFETY_REVERT} s"
            )
            raise self._error(
                AirOSCommitError, f"session lost during commit: {where}", step
            ) from exc
        done = scripts.APPLIED if revert_in is not None else scripts.SAVED
        if result.status == 0 and done in result.stdout:
            self._after_commit(plan, revert_in)
            log.info("%s: committed %d key change(s)", self.name, len(plan.changes))
            return
        self._commit_failed(result, revert_in, step)

    def _after_commit(self, plan: syscfg.Plan, revert_in: int | None) -> None:
        self._plan = None
        if self._next_login is not None:
            self._use_login(*self._next_login)
            self._next_login = None
        if self._state is not None:
            self._state = scripts.DeviceState(
                board=self._state.board,
                pending_pid=None,
                has_previous=True,
                running_text=plan.text(),
            )
        self._pending_until = time.monotonic() + revert_in if revert_in is not None else None

    def _commit_failed(self, result: ExecResult, revert_in: int | None, step: str) -> None:
        reason = _first_line(result.stderr) or f"exit status {result.status}"
        out = result.stdout
        if scripts.NOT_PENDING not in out and result.stderr.strip():
            raise self._error(
                AirOSCommitError, f"the radio refused the commit ({reason}): nothing changed", step
            )
        if scripts.NOT_PENDING not in out:
            raise self._error(
                AirOSCommitError,
                "a commit is waiting for its confirm on the radio: nothing changed",
                step,
            )
        if scripts.STARTED not in out:
            raise self._error(
                AirOSCommitError,
                "the radio has unsaved changes in /tmp/system.cfg (a revert would lose them): "
                "nothing changed",
                step,
            )
        if scripts.ARMED not in out:
            raise self._error(
                AirOSCommitError, f"cannot arm the revert job ({reason}): nothing changed", step
            )
        # the change may be half applied: go back to flash (the old configuration) at once
        restored = self._revert_now(step)
        state = "it is back on its old configuration" if restored else "restoring it failed"
        raise self._error(AirOSCommitError, f"apply failed ({reason}); {state}", step)

    def _revert_now(self, step: str) -> bool:
        try:
            result = self._run(scripts.revert_now_script(), step=step)
        except AirOSConnectError:
            return False
        self._pending_until = None
        return scripts.REVERTED in result.stdout

    def has_pending_commit(self) -> bool:
        """True while an armed revert job waits for :meth:`confirm_commit`."""
        if self._pending_until is not None and time.monotonic() < self._pending_until - 1:
            return True
        result = self._run(
            f"kill -0 $(cat {scripts.PENDING} 2>/dev/null) 2>/dev/null && echo yes",
            step="has_pending_commit",
        )
        return result.stdout.strip() == "yes"

    def confirm_commit(self) -> None:
        """Disarm the revert job and save the running configuration to flash."""
        step = "confirm_commit"
        result = self._run(scripts.confirm_script(), step=step)
        self._pending_until = None
        if scripts.CONFIRMED in result.stdout:
            log.info("%s: commit confirmed", self.name)
            return
        if scripts.DISARMED not in result.stdout:
            raise self._error(
                AirOSCommitError,
                "no pending commit: nothing was committed with revert_in, or its revert already "
                "ran and the radio is on its old configuration",
                step,
            )
        reason = _first_line(result.stderr) or "the revert was already under way"
        restored = self._revert_now(step)
        state = "it is on its old configuration" if restored else "restoring it failed"
        raise self._error(AirOSCommitError, f"confirm failed ({reason}); {state}", step)

    def rollback(self) -> None:
        """Back to the configuration before the last commit: applied and saved, no reboot."""
        step = "rollback"
        result = self._run(scripts.rollback_script(), step=step)
        self._pending_until = None
        self._plan = None
        if scripts.ROLLED_BACK in result.stdout:
            log.info("%s: rolled back", self.name)
            return
        if scripts.HAS_PREVIOUS not in result.stdout:
            raise self._error(
                AirOSRollbackError, "nothing to roll back to: no commit recorded on the radio", step
            )
        reason = _first_line(result.stderr) or f"exit status {result.status}"
        restored = self._revert_now(step)
        state = "it is on its saved configuration" if restored else "its state is unknown"
        raise self._error(AirOSRollbackError, f"rollback failed ({reason}); {state}", step)


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")[:200]


__all__ = ["AirOSDriver", "normalise_model"]
