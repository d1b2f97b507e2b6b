"""Users and SSH keys: planned from the API's view of ``/user``, never from an export diff.

RouterOS does not export ``/user`` or ``/user ssh-keys`` and never shows a password, so:

* properties (``group``, ``address``, ``disabled``, ``comment``) are compared with
  ``/user print`` and changed by script lines (``/user set [ find where name=... ] ...``);
  the revert sets the old values back;
* a password is only ever *set* from the secret, through an API sentence (never written to a
  file): when the user is created, when ``password_update="always"``, or when the user is the
  login user and the secret differs from the password this session logged in with (a
  rotation). No forward plan or revert ever clears or resets a password;
* a new user is created through the API (with its password) right after the revert is
  armed and before anything else changes, so the revert removes it again;
* when the candidate disables the login user (the built-in ``admin`` replaced by a named NOC
  account), the driver first logs in as the replacement account and continues the commit
  as that user, so it never locks itself out;
* a public key is installed by uploading it and running ``/user ssh-keys import``; installed
  keys are recognised by user and key owner (the key line's comment). Keys are only added;
* in the apply script the lines that disable a user come last (after the key imports); the
  revert script first restores the old properties (``admin`` enabled again) and removes the
  users the commit created only at its very end (``revert_last``), so a revert that stops
  half-way never leaves a device without an account to log in with;
* ``set`` of a user the device does not have, only to disable it, is already true: nothing to do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from kopnet_iac.drivers.routeros.candidate import UserSpec
from kopnet_iac.drivers.routeros.session import Sentence
from kopnet_iac.errors import PlanError
from kopnet_iac.platforms.routeros.emitter import quote
from kopnet_iac.platforms.routeros.planner import MASK

PASSWORD_POLICIES = ("on_create", "always", "never")
_TRUTH = {"true": "yes", "false": "no"}


@dataclass
class UserPlan:
    """What changes for users; ``api_after`` holds secrets and must never be logged."""

    script: list[str] = field(default_factory=list)  # forward lines for the apply script
    create: list[Sentence] = field(default_factory=list)  # new users (API, before the import)
    revert: list[str] = field(default_factory=list)  # first lines of the revert script
    revert_last: list[str] = field(default_factory=list)  # last ones: remove created users
    api_after: list[Sentence] = field(default_factory=list)  # sent after the import
    key_files: list[tuple[str, str]] = field(default_factory=list)  # (file name, contents)
    changes: list[str] = field(default_factory=list)  # for compare_config (masked)
    relogin: tuple[str, str] | None = None  # (user, password) to continue as (see below)

    def __bool__(self) -> bool:
        return bool(self.script or self.create or self.api_after or self.key_files)


def _norm(key: str, value: str) -> str:
    value = _TRUTH.get(value, value)
    if key == "address":
        return ",".join(sorted(v for v in value.split(",") if v))
    return value


def key_owner(line: str) -> str:
    """The comment of an OpenSSH public key line (RouterOS shows it as ``key-owner``)."""
    parts = line.split(None, 2)
    return parts[2].strip() if len(parts) > 2 else ""


def plan_users(
    rows: list[dict[str, str]],
    key_rows: list[dict[str, str]],
    specs: list[UserSpec],
    keys: list[tuple[str, str]],
    *,
    password_of: Callable[[str], str],
    login_user: str,
    login_password: str,
    password_update: str = "on_create",
) -> UserPlan:
    """Plan users against ``/user print`` rows and ``/user ssh-keys print`` rows.

    ``password_of(written)`` turns a password as written in the candidate (a placeholder)
    into its value.
    """
    if password_update not in PASSWORD_POLICIES:
        raise PlanError(f"password_update must be one of {', '.join(PASSWORD_POLICIES)}")
    out = UserPlan()
    by_name = {row.get("name", ""): row for row in rows}
    disabling: list[str] = []  # forward lines that disable a user: last in the script
    for spec in specs:
        row = by_name.get(spec.name)
        where = f"[ find where name={quote(spec.name)} ]"
        if row is None:
            if not spec.create and _only_disables(spec):
                continue  # a user the device does not have is as good as disabled
            if not spec.create:
                raise PlanError(
                    f"/user {spec.name}: no such user on the device (use add to create it)",
                    step="plan",
                )
            if spec.password is None:
                raise PlanError(f"/user {spec.name}: a new user needs a password", step="plan")
            attrs = {"name": spec.name, **spec.props, "password": password_of(spec.password)}
            out.create.append(("/user/add", attrs))
            out.revert_last.append(f"/user remove {where}")
            shown = " ".join(f"{k}={quote(v)}" for k, v in spec.props.items())
            out.changes.append(f"  /user\n    + {spec.name} {shown} password={MASK}")
            continue
        changed = {k: v for k, v in spec.props.items() if _norm(k, row.get(k, "")) != _norm(k, v)}
        if changed:
            words = " ".join(f"{k}={quote(v)}" for k, v in changed.items())
            old = " ".join(f"{k}={quote(row.get(k, ''))}" for k in changed)
            line = f"/user set {where} {words}"
            (disabling if _disabled(changed) else out.script).append(line)
            out.revert.append(f"/user set {where} {old}")
            lines = [
                f"        {k}: {row.get(k, '') or '(unset)'} -> {v}" for k, v in changed.items()
            ]
            out.changes.append(f"  /user\n    ~ {spec.name}\n" + "\n".join(lines))
        if spec.password is not None:
            value = password_of(spec.password)
            rotate = spec.name == login_user and value != login_password
            if password_update == "always" or (password_update != "never" and rotate):
                out.api_after.append(("/user/set", {"numbers": spec.name, "password": value}))
                out.changes.append(f"  /user\n    ~ {spec.name}\n        password: {MASK}")
    out.relogin = _replacement_login(specs, by_name, login_user, password_of)
    installed = {(r.get("user", ""), r.get("key-owner", "")) for r in key_rows}
    for index, (user, line) in enumerate(keys):
        owner = key_owner(line)
        if not owner:
            raise PlanError(
                f"ssh key for {user}: the key line has no comment, so it cannot be recognised "
                "once installed (RouterOS shows it as key-owner)",
                step="plan",
            )
        if (user, owner) in installed:
            continue
        name = f"kopnet-key-{index}.pub"
        out.key_files.append((name, line.strip() + "\n"))
        out.script.append(f"/user ssh-keys import public-key-file={name} user={quote(user)}")
        out.revert.append(
            f"/user ssh-keys remove [ find where user={quote(user)} key-owner={quote(owner)} ]"
        )
        out.changes.append(f"  /user ssh-keys\n    + user={user} key-owner={owner}")
    out.script.extend(disabling)
    return out


def _disabled(props: dict[str, str]) -> bool:
    return props.get("disabled", "no") in ("yes", "true")


def _only_disables(spec: UserSpec) -> bool:
    return spec.password is None and set(spec.props) == {"disabled"} and _disabled(spec.props)


def _replacement_login(
    specs: list[UserSpec],
    rows: dict[str, dict[str, str]],
    login_user: str,
    password_of: Callable[[str], str],
) -> tuple[str, str] | None:
    """The (user, password) to continue as when the candidate disables the login user."""
    mine = next((s for s in specs if s.name == login_user), None)
    if mine is None or not _disabled(mine.props):
        return None
    for spec in specs:
        if spec.name == login_user or spec.password is None or _disabled(spec.props):
            continue
        group = spec.props.get("group") or rows.get(spec.name, {}).get("group", "")
        if group == "full":
            return spec.name, password_of(spec.password)
    raise PlanError(
        f"/user {login_user}: the candidate disables the user this session logged in as but "
        "names no other full user with a password to log in with",
        step="plan",
    )
