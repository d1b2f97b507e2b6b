"""NAPALM driver ``kopnet_routeros``: semantic compare, commit with a device-side revert.

Round trips (one pipelined, tagged batch of API sentences each; TCP connect not counted):

1. ``open``: ``/login``.
2. ``compare_config``: one read batch: ``/execute`` exporting only the managed menus (terse,
   secrets shown), ``/system resource`` (model, free disk), ``/system device-mode``
   (scheduler allowed?), the revert job and file, and ``/user`` + ``/user ssh-keys`` when the
   candidate manages users. Model mismatch is refused here. The plan is the engine's
   (:mod:`kopnet_iac.platforms.routeros`); converged means an empty ``compare_config``, so a
   no-op costs login + this read (2 round trips) and sends no configuration command.
3. ``commit_config`` arm: upload the revert script, add the ``/system scheduler`` revert job,
   upload the apply script (and SSH keys), create new users (the NOC account, before the
   apply script disables ``admin``), save a binary backup (last-resort layer; optional
   with ``backup=False``). Any refusal here (scheduler disabled, disk full, upload refused)
   is undone and nothing was changed.
4. ``commit_config`` apply: ``/import`` of the apply script (the script removes itself).
5. ``commit_config`` verify (``verify_after_commit``, default on): read the managed menus
   back, pipelined with the password sets of users (API only, never in a file).
6. ``confirm_commit``: remove the job and the leftover files in one batch
   (``has_pending_commit`` answers from memory while the job is armed by this session).

A one-line change, armed and confirmed, is 6 round trips including login and the read;
``rollback`` is login + 1 (job removed, revert script imported; no reboot).

Revert: the revert script is the engine's exact revert plan, guarded so that it also restores
a partly applied plan (see :mod:`~kopnet_iac.drivers.routeros.transaction`). A failing line
during ``/import`` is reverted at once by importing it (the error says so); a session lost
mid-commit is reverted by the armed job (the error says when). After ``confirm_commit`` the
revert script stays on the device as the rollback point until the next commit.

``optional_args``: ``expected_model``, ``secrets`` (mapping or resolver with ``get``),
``force_without_revert``, ``backup`` (default True), ``verify_after_commit`` (default True),
``password_update`` (``on_create``|``always``|``never``), ``safety_revert_in`` (seconds; the
job armed during a commit without ``revert_in``, removed once it succeeded),
``import_timeout``, ``connect_timeout``, ``connect_retries``, ``port``, ``host_label``,
``fallback_usernames`` (tried in order when ``username`` is refused). ``model`` and ``name``
are accepted for ``expected_model`` and ``host_label`` (the airOS driver's names).
"""

from __future__ import annotations

import logging
from typing import Any

from napalm_ros import ROSDriver

from kopnet_iac.drivers.routeros import getters
from kopnet_iac.drivers.routeros.candidate import Candidate, parse_candidate
from kopnet_iac.drivers.routeros.commit import CommitFlow, Prepared
from kopnet_iac.drivers.routeros.errors import (
    CandidateError,
    DeviceCommitError,
    DeviceConnectError,
    LoginRefusedError,
    ReplaceCandidateError,
)
from kopnet_iac.drivers.routeros.session import LinkSettings, Reply, Sentence, Session
from kopnet_iac.drivers.routeros.state import DeviceState, device_state, read_sentences
from kopnet_iac.errors import KopnetError
from kopnet_iac.platforms.routeros import Header, diff_report, emit

log = logging.getLogger(__name__)


class KopnetRouterOSDriver(ROSDriver):  # type: ignore[misc]
    """RouterOS through the API with KopNet's planner (see the module docstring)."""

    platform = "kopnet_routeros"

    def __init__(
        self,
        hostname: str,
        username: str,
        password: str,
        timeout: int = 60,
        optional_args: dict[str, Any] | None = None,
    ) -> None:
        args = dict(optional_args or {})
        super().__init__(hostname, username, password, timeout=timeout, optional_args=args)
        self.username: str = username
        self.password: str = password
        self.label = str(args.get("host_label") or args.get("name") or hostname)
        self.settings = LinkSettings(
            connect_timeout=float(args.get("connect_timeout", 30)),
            timeout=float(timeout),
            connect_retries=int(args.get("connect_retries", 2)),
        )
        self.flow = CommitFlow(
            label=self.label,
            login_user=username,
            login_password=password,
            expected_model=args.get("expected_model") or args.get("model"),
            secrets=args.get("secrets"),
            force_without_revert=bool(args.get("force_without_revert", False)),
            backup=bool(args.get("backup", True)),
            verify=bool(args.get("verify_after_commit", True)),
            password_update=str(args.get("password_update", "on_create")),
            safety_revert_in=int(args.get("safety_revert_in", 600)),
            import_timeout=float(args.get("import_timeout", max(300.0, float(timeout)))),
        )
        self.session = Session(hostname, int(self.port), self.settings, self.label)
        self.flow.batch = self._batch
        self.flow.read = self._read
        self.flow.relogin = self._relogin
        fallback = args.get("fallback_usernames") or ()
        self.fallback_usernames = [str(u) for u in fallback if u and u != username]
        self._configured = username
        self._candidate: Candidate | None = None
        self._replace = False
        self._prepared: Prepared | None = None

    # -- connection ------------------------------------------------------------------------

    def open(self) -> None:
        """Log in as ``username``, else as each of ``fallback_usernames`` (same password):
        after a deploy replaced the built-in admin by the named NOC account, or before it."""
        errors: list[DeviceConnectError] = []
        # the account that worked last, the configured one (a revert may have brought it
        # back, a commit created it), then the fallbacks
        names = list(dict.fromkeys([self.username, self._configured, *self.fallback_usernames]))
        for user in names:
            try:
                self.api = self.session.open(user, self.password)
            except LoginRefusedError as exc:  # a session lost during login is no refusal
                errors.append(exc)
                continue
            if user != self.username:
                log.info("%s: logged in as %s", self.label, user)
                self.username = self.flow.login_user = user
            return
        raise (
            errors[-1]
            if len(errors) == 1
            else DeviceConnectError(
                "login refused as " + " and as ".join(repr(u) for u in names),
                host=self.label,
                step="login",
            )
        )

    def _relogin(self, user: str, password: str) -> None:
        """Continue as ``user``: a new session proves the account works, the old one closes."""
        fresh = Session(self.hostname, int(self.port), self.settings, self.label)
        fresh.round_trips = self.session.round_trips
        fresh.open(user, password)
        self.session.close()
        self.session = fresh
        self.api = fresh.api
        self.username, self.password = user, password
        log.info("%s: continuing as %s", self.label, user)

    def close(self) -> None:
        self.session.close()
        self.api = None

    def is_alive(self) -> dict[str, bool]:
        """NAPALM's liveness: whether the API session is open (a dropped one is closed)."""
        return {"is_alive": self.session.is_open}

    def _batch(
        self, sentences: list[Sentence], step: str, timeout: float | None = None
    ) -> list[Reply]:
        if not self.session.is_open:
            raise DeviceConnectError(
                "not connected (call open() first)", host=self.label, step=step
            )
        return self.session.batch(sentences, step=step, timeout=timeout)

    def _read(self, paths: set[Any], users: bool, keys: bool) -> DeviceState:
        replies = self._batch(read_sentences(paths, users=users, keys=keys), "read")
        return device_state(replies, paths, users=users, keys=keys, host=self.label)

    @property
    def round_trips(self) -> int:
        """Round trips this driver has made (login and batches)."""
        return self.session.round_trips

    # -- candidate and compare --------------------------------------------------------------

    def _load(self, filename: str | None, config: str | None, replace: bool) -> None:
        error = ReplaceCandidateError if replace else CandidateError
        if config is None:
            if filename is None:
                raise error("no candidate given (filename or config)", host=self.label, step="load")
            try:
                with open(filename, encoding="utf-8") as handle:
                    config = handle.read()
            except OSError as exc:
                raise error(f"cannot read {filename}: {exc}", host=self.label, step="load") from exc
        try:
            self._candidate = parse_candidate(config, filename or "candidate")
        except KopnetError as exc:
            raise error(exc.message, host=self.label, step="load") from exc
        self._replace = replace
        self._prepared = None

    def load_merge_candidate(self, filename: str | None = None, config: str | None = None) -> None:
        """Merge: only the entries the text names are added or changed; nothing is removed."""
        self._load(filename, config, replace=False)

    def load_replace_candidate(
        self, filename: str | None = None, config: str | None = None
    ) -> None:
        """Replace: the text is the full intended configuration of the menus it contains (and
        of those declared with ``# kopnet: manage ...``); other menus are left alone."""
        self._load(filename, config, replace=True)

    def discard_config(self) -> None:
        self._candidate = None
        self._prepared = None

    def compare_config(self) -> str:
        """The semantic plan, secrets masked; ``""`` when the device already matches."""
        if self._candidate is None:
            return ""
        self._prepared = self.flow.prepare(self._candidate, self._replace)
        return self._prepared.diff

    def plan_report(self) -> dict[str, Any]:
        """The last ``compare_config``'s plan as data (for journals and reports), secrets
        masked: ``{"host", "changed", "operations", "summary", "paths"`` (the engine's
        ``diff_report``) ``, "script": str, "revert_script": str, "users": [str],
        "read": {"board": str, "scheduler_allowed": bool, "free_disk": int|None,
        "pending_commit": bool}}``; ``{}`` before any ``compare_config``."""
        prepared = self._prepared
        if prepared is None:
            return {}
        report = diff_report(prepared.plan, host=self.label)
        report["changed"] = bool(prepared)
        report["script"] = self.flow.mask(prepared.plan.script(mask_sensitive=True))
        report["revert_script"] = self.flow.mask(prepared.plan.revert_script(mask_sensitive=True))
        report["users"] = [self.flow.mask(c) for c in prepared.users.changes]
        state = prepared.state
        report["read"] = {
            "board": state.board,
            "scheduler_allowed": state.scheduler_allowed,
            "free_disk": state.free_disk,
            "pending_commit": state.pending_job,
        }
        return report

    # -- commit, confirm, rollback -----------------------------------------------------------

    def commit_config(self, message: str = "", revert_in: int | None = None) -> None:
        if self._candidate is None:
            raise DeviceCommitError("no candidate loaded", host=self.label, step="commit")
        prepared = self._prepared or self.flow.prepare(self._candidate, self._replace)
        self._prepared = None
        self.flow.commit(prepared, revert_in=revert_in, message=message)
        self._candidate = None

    def has_pending_commit(self) -> bool:
        return self.flow.pending()

    def confirm_commit(self) -> None:
        self.flow.confirm()

    def rollback(self) -> None:
        self.flow.rollback()

    # -- getters -----------------------------------------------------------------------------

    def get_config(
        self,
        retrieve: str = "all",
        full: bool = False,
        sanitized: bool = False,
        format: str = "text",
    ) -> dict[str, str]:
        """``running``: the export normalised by the engine (canonical quoting, one line per
        entry, no date line); ``candidate``: the loaded candidate with placeholders."""
        if format != "text":
            raise NotImplementedError(f"{format} is not a supported configuration format")
        out = {"running": "", "candidate": "", "startup": ""}
        if retrieve in ("running", "all"):
            state = self._read(set(), False, False)
            config = state.running
            h = config.header
            config.header = Header(h.version, None, h.software_id, h.system_id, h.model, h.serial)
            if sanitized:
                config = self.flow.sanitized(config)
            out["running"] = emit(config, terse=True)
        if retrieve in ("candidate", "all") and self._candidate is not None:
            out["candidate"] = self._candidate.text
        return out

    def _rows(self, *commands: str) -> list[Reply]:
        return self._batch([(c, {}) for c in commands], "get")

    def get_pppoe_servers(self) -> dict[str, Any]:
        """PPPoE servers per interface: ``{interface: {"service_name": str, "enabled": bool,
        "default_profile": str, "authentication": [str], "max_mtu": int|None,
        "max_mru": int|None, "keepalive_timeout": int|None, "one_session_per_host": bool,
        "active_sessions": int}}``."""
        servers, active = self._rows("/interface/pppoe-server/server/print", "/ppp/active/print")
        return getters.pppoe_servers(servers.rows, active.rows if active.ok else [])

    def get_hotspot_servers(self) -> dict[str, Any]:
        """Hotspot servers by name: ``{name: {"interface": str, "enabled": bool,
        "profile": str, "address_pool": str, "invalid": bool}}``."""
        (rows,) = self._rows("/ip/hotspot/print")
        return getters.hotspot_servers(rows.rows if rows.ok else [])

    def get_wireless_registrations(self) -> list[dict[str, Any]]:
        """Registered stations: ``[{"interface": str, "mac_address": str, "radio_name": str,
        "signal_dbm": int|None, "signal_to_noise_db": int|None, "tx_ccq": int|None,
        "rx_ccq": int|None, "tx_rate_mbps": float|None, "rx_rate_mbps": float|None,
        "uptime_s": float}]`` (empty on a device without wireless)."""
        (rows,) = self._rows("/interface/wireless/registration-table/print")
        return getters.wireless_registrations(rows.rows if rows.ok else [])

    def get_scheduler_jobs(self) -> dict[str, Any]:
        """Scheduler jobs by name: ``{name: {"enabled": bool, "interval_s": float,
        "start_time": str, "next_run": str, "run_count": int, "on_event": str,
        "comment": str}}`` (the pending-commit job is named ``kopnet-revert``)."""
        (rows,) = self._rows("/system/scheduler/print")
        return getters.scheduler_jobs(rows.rows)
