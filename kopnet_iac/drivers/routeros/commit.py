"""The commit transaction of the RouterOS driver: prepare (plan), arm, apply, verify, confirm.

Device I/O goes through two callables the driver installs (``batch``: one pipelined round
trip; ``read``: the read batch), so the order of steps and every decision is readable here in
one place. See the driver module docstring for the round-trip sequence.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kopnet_iac.drivers.routeros import transaction as tx
from kopnet_iac.drivers.routeros.candidate import (
    Candidate,
    fill_secrets,
    merge_target,
    model_matches,
    resolve_secret,
    subset,
)
from kopnet_iac.drivers.routeros.errors import (
    CandidateError,
    DeviceCommitError,
    DeviceConnectError,
    DeviceRollbackError,
    NoRevertPathError,
    ReplaceCandidateError,
    WrongModelError,
)
from kopnet_iac.drivers.routeros.session import Reply, Sentence
from kopnet_iac.drivers.routeros.state import DeviceState, export_sentence, parse_running
from kopnet_iac.drivers.routeros.users import UserPlan, plan_users
from kopnet_iac.errors import PlanError, SecretError
from kopnet_iac.inventory.secrets import PLACEHOLDER_RE
from kopnet_iac.platforms.routeros import (
    Entry,
    Plan,
    RouterOSConfig,
    diff_report,
    plan,
    render_text,
)
from kopnet_iac.platforms.routeros.model import Path
from kopnet_iac.platforms.routeros.paths import load_schema
from kopnet_iac.platforms.routeros.planner import MASK

log = logging.getLogger(__name__)
DISK_MARGIN = 256 * 1024  # bytes kept free besides the scripts (and the backup)


@dataclass
class Prepared:
    """A plan ready to commit, computed from one read of the device."""

    plan: Plan
    users: UserPlan
    intended: RouterOSConfig
    running: RouterOSConfig
    paths: set[Path]
    state: DeviceState
    diff: str
    manages_users: bool = False
    manages_keys: bool = False

    def __bool__(self) -> bool:
        return bool(self.plan) or bool(self.users)


@dataclass
class CommitFlow:
    """Decisions and step order of commit/confirm/rollback (I/O through ``batch``/``read``)."""

    label: str
    login_user: str
    login_password: str
    expected_model: str | None = None
    secrets: Any = None
    force_without_revert: bool = False
    backup: bool = True
    verify: bool = True
    password_update: str = "on_create"
    safety_revert_in: int = 600
    import_timeout: float = 300.0
    batch: Callable[..., list[Reply]] = field(default=lambda *_a, **_k: [])
    relogin: Callable[[str, str], None] | None = None
    read: Callable[[set[Path], bool, bool], DeviceState] | None = None
    armed_until: float | None = None
    last_revert: str | None = None
    last_report: dict[str, Any] = field(default_factory=dict)
    _secret_values: set[str] = field(default_factory=set)

    # -- secrets ---------------------------------------------------------------------------

    def secret(self, name: str) -> str:
        if self.secrets is None:
            raise SecretError(
                f"the candidate needs secret {name!r} but no secret source was given "
                "(optional_args['secrets'])",
                host=self.label,
                step="secrets",
            )
        try:
            value = resolve_secret(self.secrets, name)
        except SecretError as exc:
            exc.host = self.label
            raise
        if len(value) >= 3:
            self._secret_values.add(value)
        return value

    def mask(self, text: str) -> str:
        """``text`` with every secret value this flow resolved replaced by the mask."""
        for value in sorted(self._secret_values, key=len, reverse=True):
            text = text.replace(value, MASK)
        return text

    def sanitized(self, config: RouterOSConfig) -> RouterOSConfig:
        schema = load_schema()
        sections: dict[Path, list[Entry]] = {}
        for path, entries in config.sections.items():
            sensitive = schema.get(path).sensitive
            sections[path] = [
                Entry(
                    e.verb,
                    {k: (MASK if k in sensitive else v) for k, v in e.props.items()},
                    e.selector,
                    e.target,
                )
                for e in entries
            ]
        return RouterOSConfig(config.header, sections, config.managed, config.source)

    # -- prepare -----------------------------------------------------------------------------

    def prepare(self, candidate: Candidate, replace: bool) -> Prepared:
        """Read the device and plan (refuses a wrong model before planning)."""
        error = ReplaceCandidateError if replace else CandidateError
        try:
            intended_raw = fill_secrets(candidate.config, self.secret)
        except SecretError as exc:
            raise error(exc.message, host=self.label, step="secrets") from exc
        paths = intended_raw.owned_paths() if replace else set(intended_raw.sections)
        self._check_keeps_api(intended_raw, error)
        assert self.read is not None
        state = self.read(paths, bool(candidate.users), bool(candidate.keys))
        self.check_model(state)
        running = subset(state.running, paths)
        intended = intended_raw if replace else merge_target(running, intended_raw)
        try:
            result = plan(running, intended, host=self.label)
            users = plan_users(
                state.users,
                state.keys,
                candidate.users,
                candidate.keys,
                password_of=self._password_value,
                login_user=self.login_user,
                login_password=self.login_password,
                password_update=self.password_update,
            )
        except (PlanError, SecretError) as exc:
            raise error(self.mask(exc.message), host=self.label, step="plan") from None
        diff = ""
        if result:
            diff = render_text(diff_report(result, host=self.label))
        if users:
            if not diff:
                diff = f"{self.label}: users\n"
            diff += "\n".join(users.changes) + "\n"
        return Prepared(
            result,
            users,
            intended,
            running,
            paths,
            state,
            self.mask(diff),
            bool(candidate.users),
            bool(candidate.keys),
        )

    def _check_keeps_api(self, intended: RouterOSConfig, error: type[PlanError]) -> None:
        """Refuse a candidate that disables the plaintext API this driver talks over: the
        apply would cut its own session, nothing could confirm, the job would revert it."""
        for entry in intended.entries(("ip", "service")):
            name = entry.target or next(
                (
                    v
                    for k, op, v in (entry.selector.conditions if entry.selector else ())
                    if k == "name" and op == "="
                ),
                None,
            )
            if name == "api" and entry.props.get("disabled") in ("yes", "true"):
                raise error(
                    "the candidate disables /ip service api, the service this driver "
                    "connects through: the commit would cut its own session (api-ssl is not "
                    "supported by this driver yet); keep api enabled, limited by address",
                    host=self.label,
                    step="plan",
                )

    def _password_value(self, written: str) -> str:
        return PLACEHOLDER_RE.sub(lambda m: self.secret(m.group(1)), written)

    def check_model(self, state: DeviceState) -> None:
        if self.expected_model and not model_matches(self.expected_model, state.board):
            raise WrongModelError(
                f"device reports model {state.board or '(none)'!r}, the inventory says "
                f"{self.expected_model!r}: refusing to configure it",
                host=self.label,
                step="check-model",
            )

    # -- commit ------------------------------------------------------------------------------

    def _refuse(self, reason: str) -> NoRevertPathError:
        return NoRevertPathError(
            f"no working revert path: {reason}; nothing was changed "
            "(optional_args force_without_revert=True commits anyway)",
            host=self.label,
            step="arm",
        )

    def _check_revert_path(self, prepared: Prepared, apply: str, revert: str) -> None:
        state = prepared.state
        if state.pending_job:
            raise DeviceCommitError(
                f"an earlier commit is still pending (scheduler job {tx.JOB}): confirm it or "
                "roll it back first; nothing was changed",
                host=self.label,
                step="arm",
            )
        if self.force_without_revert:
            return
        if not state.scheduler_allowed:
            raise self._refuse("the scheduler is disabled by device-mode")
        need = len(apply.encode()) + len(revert.encode()) + DISK_MARGIN
        if state.free_disk is not None and state.free_disk < need:
            raise self._refuse(f"only {state.free_disk} bytes free on the disk, need {need}")

    def commit(self, prepared: Prepared, *, revert_in: int | None, message: str = "") -> None:
        """Arm the revert, apply, verify (see the driver docstring)."""
        if not prepared:
            log.info("%s: nothing to commit", self.label)
            return
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        if message:
            stamp += " " + message.replace("\n", " ")[:80]
        apply = tx.apply_script(prepared.plan, prepared.users, stamp=stamp)
        revert = tx.revert_script(prepared.plan, prepared.users, stamp=stamp)
        self._check_revert_path(prepared, apply, revert)
        seconds = revert_in if revert_in is not None else self.safety_revert_in
        armed = self._arm(prepared, apply, revert, seconds)
        self._switch_login(prepared)
        self.last_revert = revert
        started = time.monotonic()
        self.armed_until = started + seconds if armed else None
        self._apply(prepared, armed, seconds)
        self.last_report = {"operations": len(prepared.plan.operations), "armed": armed}
        try:
            after = self._after(prepared)
            if revert_in is None and armed:
                self._disarm("commit")
                self.armed_until = None
        except DeviceConnectError as exc:
            fate = (
                f"the job {tx.JOB} reverts it within {seconds}s unless confirmed"
                if armed
                else "no revert job is armed"
            )
            raise DeviceCommitError(
                f"the configuration was applied, then the session was lost ({exc.message}); {fate}",
                host=self.label,
                step=exc.step or "verify",
            ) from exc
        self.last_report["residual"] = after
        log.info(
            "%s: committed %d operation(s)%s",
            self.label,
            len(prepared.plan.operations),
            f", reverts in {revert_in}s unless confirmed" if revert_in is not None else "",
        )

    def _arm(self, prepared: Prepared, apply: str, revert: str, seconds: int) -> bool:
        """Upload the revert script, arm the job, upload the apply script (keys, backup),
        create new users; on any refusal undo it all and raise: nothing was changed."""
        # Leftovers of an earlier commit go first (a missing file only answers a trap).
        sentences: list[Sentence] = [tx.file_remove(tx.APPLY_FILE)]
        if prepared.state.revert_file:
            sentences.append(tx.file_remove(tx.REVERT_FILE))
        first = len(sentences)
        sentences.append(tx.file_add(tx.REVERT_FILE, revert))
        sentences.append(tx.arm_job(seconds))
        sentences.append(tx.file_add(tx.APPLY_FILE, apply))
        sentences.extend(tx.file_add(name, text) for name, text in prepared.users.key_files)
        backup_at = len(sentences) - first if self.backup else None
        if self.backup:
            sentences.append(("/system/backup/save", {"name": tx.BACKUP, "dont-encrypt": "yes"}))
        creates_at = len(sentences) - first
        sentences.extend(prepared.users.create)  # after the job: its revert removes them
        replies = self.batch(sentences, "arm")[first:]
        revert_r, job_r = replies[0], replies[1]
        failed = [r.trap for r in replies if r.trap is not None]
        if not failed:
            return True
        revert_ok = revert_r.ok and job_r.ok
        others_ok = all(r.ok for r in replies[2:])
        if self.force_without_revert and others_ok:
            log.warning("%s: committing WITHOUT a revert path (forced)", self.label)
            return revert_ok
        created = [
            attrs["name"]
            for (_, attrs), reply in zip(prepared.users.create, replies[creates_at:], strict=True)
            if reply.ok
        ]
        self._remove_users(created)
        self._cleanup(job=job_r.ok, revert_file=revert_r.ok, step="arm")
        reason = self.mask("; ".join(str(t) for t in failed))
        backup_failed = backup_at is not None and not replies[backup_at].ok
        if not revert_ok or backup_failed:
            raise self._refuse(f"arming failed: {reason}")
        raise DeviceCommitError(
            f"upload failed: {reason}; nothing was changed", host=self.label, step="arm"
        )

    def _remove_users(self, names: list[str]) -> None:
        if names:
            sentences: list[Sentence] = [("/user/remove", {"numbers": n}) for n in names]
            try:
                self.batch(sentences, "arm")
            except DeviceConnectError:
                log.warning("%s: could not remove the users just created", self.label)

    def _switch_login(self, prepared: Prepared) -> None:
        """Log in as the replacement account before the login user gets disabled."""
        if prepared.users.relogin is None or self.relogin is None:
            return
        user, password = prepared.users.relogin
        try:
            self.relogin(user, password)
        except DeviceConnectError as exc:
            self._remove_users([a["name"] for _, a in prepared.users.create])
            self._cleanup(job=True, revert_file=True, step="login-check")
            raise DeviceCommitError(
                f"cannot log in as {user!r}, the account that replaces {self.login_user!r} "
                f"({exc.message}); {self.login_user!r} was not disabled, nothing was changed",
                host=self.label,
                step="login-check",
            ) from exc
        self.login_user, self.login_password = user, password

    def _cleanup(self, *, job: bool, revert_file: bool, step: str) -> None:
        sentences: list[Sentence] = []
        if job:
            sentences.append(("/system/scheduler/remove", {"numbers": tx.JOB}))
        if revert_file:
            sentences.append(tx.file_remove(tx.REVERT_FILE))
        sentences.append(tx.file_remove(tx.APPLY_FILE))
        if self.backup:
            sentences.append(tx.file_remove(tx.BACKUP_FILE))
        try:
            self.batch(sentences, step)
        except DeviceConnectError:
            log.warning("%s: cleanup after %s failed (session lost)", self.label, step)

    def _apply(self, prepared: Prepared, armed: bool, seconds: int) -> None:
        sentences: list[Sentence] = [("/import", {"file-name": tx.APPLY_FILE})]
        try:
            (reply,) = self.batch(sentences, "apply", self.import_timeout)
        except DeviceConnectError as exc:
            fate = (
                f"the device-side job {tx.JOB} restores the previous configuration within "
                f"{seconds}s unless confirmed"
                if armed
                else "NO revert job is armed: check the device"
            )
            raise DeviceCommitError(
                f"session lost during /import ({exc.message}); {fate}",
                host=self.label,
                step="apply",
            ) from exc
        if reply.trap is None:
            return
        failure = self.mask(reply.trap)
        self._revert_now(prepared, f"/import failed: {failure}")

    def _revert_now(self, prepared: Prepared, why: str) -> None:
        """Import the revert script at once, check the result, disarm."""
        try:
            (reply,) = self.batch([("/import", {"file-name": tx.REVERT_FILE})], "revert")
            state = self._read_back(prepared)
        except DeviceConnectError as exc:
            raise DeviceCommitError(
                f"{why}; the session was lost while reverting; the armed job {tx.JOB} "
                "restores the previous configuration",
                host=self.label,
                step="revert",
            ) from exc
        left = plan(state.running, prepared.running) if reply.ok else None
        if left is None or left:
            detail = self.mask(reply.trap or f"{len(left.operations) if left else 0} difference(s)")
            raise DeviceRollbackError(
                f"{why}; reverting at once did not restore the previous configuration "
                f"({detail}); the job {tx.JOB} stays armed and the binary backup "
                f"{tx.BACKUP_FILE} is on the device: needs a human",
                host=self.label,
                step="revert",
            )
        self._disarm("revert", remove_revert=True)
        self.armed_until = None
        raise DeviceCommitError(
            f"{why}; reverted at once: the device is back in its previous configuration",
            host=self.label,
            step="apply",
        )

    def _read_back(self, prepared: Prepared) -> DeviceState:
        assert self.read is not None
        state = self.read(prepared.paths, False, False)
        state.running = subset(state.running, prepared.paths)
        return state

    def _after(self, prepared: Prepared) -> int:
        """Password rotations (API only) and, optionally, read back and count residual
        changes (new users were created before the import, see :meth:`_arm`)."""
        secrets = list(prepared.users.api_after)
        if not self.verify and not secrets:
            return -1
        sentences: list[Sentence] = list(secrets)
        if self.verify:
            sentences.append(export_sentence(prepared.paths))
        replies = self.batch(sentences, "verify")
        for (command, attrs), reply in zip(secrets, replies, strict=False):
            if reply.trap is not None:
                raise DeviceCommitError(
                    f"{command} {attrs.get('name') or attrs.get('numbers')}: "
                    f"{self.mask(reply.trap)} (the configuration itself was applied)",
                    host=self.label,
                    step="users",
                )
        if not self.verify:
            return -1
        running = parse_running(replies[len(secrets)], prepared.paths, self.label)
        residual = plan(running, prepared.intended)
        if residual:
            log.warning(
                "%s: %d operation(s) still differ after the commit (device spells values "
                "differently?)",
                self.label,
                len(residual.operations),
            )
        return len(residual.operations)

    def _disarm(self, step: str, *, remove_revert: bool = False) -> list[Reply]:
        sentences: list[Sentence] = [("/system/scheduler/remove", {"numbers": tx.JOB})]
        sentences.append(tx.file_remove(tx.APPLY_FILE))
        if self.backup:
            sentences.append(tx.file_remove(tx.BACKUP_FILE))
        if remove_revert:
            sentences.append(tx.file_remove(tx.REVERT_FILE))
        return self.batch(sentences, step)

    # -- confirm, pending, rollback ------------------------------------------------------------

    def _job_present(self) -> bool:
        (reply,) = self.batch(
            [("/system/scheduler/print", {"?name": tx.JOB, ".proplist": "name"})], "pending"
        )
        return bool(reply.rows)

    def pending(self) -> bool:
        if self.armed_until is not None and time.monotonic() < self.armed_until - 1.0:
            return True
        present = self._job_present()
        if not present:
            self.armed_until = None
        return present

    def confirm(self) -> None:
        replies = self._disarm("confirm")
        self.armed_until = None
        if replies[0].trap is not None:
            raise DeviceCommitError(
                "no pending commit to confirm: the revert job already ran (the device is "
                "back in its previous configuration) or there was none",
                host=self.label,
                step="confirm",
            )

    def rollback(self) -> None:
        """Import the revert script (no reboot), then disarm the pending job: one round trip
        when the script is on the device (it removes itself and the commit's files).

        The job is removed only after the import: a session lost in between leaves it armed,
        and when it fires it imports the (idempotent) revert script again or finds it gone.
        Removing it first would leave a device whose session drops before the import on the
        new configuration with nothing left to take it back."""
        job = ("/system/scheduler/remove", {"numbers": tx.JOB})
        sentences: list[Sentence] = [
            ("/file/print", {"?name": tx.REVERT_FILE, ".proplist": "name"}),
            ("/import", {"file-name": tx.REVERT_FILE}),
            job,
        ]
        files, reply, _ = self.batch(sentences, "rollback", self.import_timeout)
        if not files.rows:
            if self.last_revert is None:
                raise DeviceRollbackError(
                    "nothing to roll back to: no revert script on the device or in this session",
                    host=self.label,
                    step="rollback",
                )
            steps = [tx.file_add(tx.REVERT_FILE, self.last_revert), sentences[1], job]
            reply = self.batch(steps, "rollback", self.import_timeout)[1]
        self.armed_until = None
        if reply.trap is not None:
            raise DeviceRollbackError(
                f"importing the revert script failed: {self.mask(reply.trap)}; the "
                f"binary backup {tx.BACKUP_FILE} may still be on the device",
                host=self.label,
                step="rollback",
            )
        self.last_revert = None
