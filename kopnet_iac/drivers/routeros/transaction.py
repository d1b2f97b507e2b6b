"""The scripts and API sentences of one commit: pure functions of the plan.

* the **apply script** is the engine's forward plan, the user lines, and a last line that
  removes the apply file itself (``/import`` reads the whole file before running it);
* the **revert script** is the engine's exact revert plan, made safe to run on any prefix of
  the forward plan: before each ``add`` it removes an entry with the same content, so an
  import that stopped at line k (or never ran) is reverted as exactly as a complete one
  (``remove``/``set`` on entries that are absent change nothing);
* the **revert job** is a ``/system scheduler`` job that, after N seconds, removes itself,
  imports the revert script and removes it, unless ``confirm_commit`` removed the job first.
"""

from __future__ import annotations

from kopnet_iac.drivers.routeros.session import Sentence
from kopnet_iac.drivers.routeros.users import UserPlan
from kopnet_iac.platforms.routeros import Operation, Plan
from kopnet_iac.platforms.routeros.emitter import quote

REVERT_FILE = "kopnet-revert.rsc"
APPLY_FILE = "kopnet-apply.rsc"
JOB = "kopnet-revert"
BACKUP = "kopnet-pre"
BACKUP_FILE = f"{BACKUP}.backup"
JOB_POLICY = "ftp,reboot,read,write,policy,test,password,sniff,sensitive,romon"
JOB_COMMENT = "kopnet: pending commit, reverts unless confirmed"


def guarded_revert_lines(plan: Plan) -> list[str]:
    """The revert operations, each ``add`` preceded by a ``remove`` of the same content."""
    lines: list[str] = []
    for op in plan.revert:
        if op.action == "add":
            conds = tuple((k, "=", v) for k, v in op.args if not k.startswith("!"))
            lines.append(Operation(op.path, "remove", conds).text())
        lines.append(op.text())
    return lines


def apply_script(plan: Plan, users: UserPlan, *, stamp: str = "") -> str:
    lines = [f"# kopnet apply {stamp}".rstrip()]
    lines.extend(op.text() for op in plan.operations)
    lines.extend(users.script)
    lines.append(f"/file remove [ find where name={APPLY_FILE} ]")
    return "\n".join(lines) + "\n"


def revert_script(plan: Plan, users: UserPlan, *, stamp: str = "") -> str:
    """The old user properties back first (``admin`` enabled again), the guarded revert, the
    users the commit created, then removal of every file of the commit, itself included
    (``/import`` has read it by then), so a finished revert leaves nothing behind."""
    lines = [f"# kopnet revert {stamp}".rstrip()]
    lines.extend(users.revert)
    lines.extend(guarded_revert_lines(plan))
    lines.extend(users.revert_last)  # created users go last, once the old logins work again
    lines.extend(_remove_files())
    return "\n".join(lines) + "\n"


def _remove_files() -> list[str]:
    return [
        f"/file remove [ find where name={name} ]"
        for name in (APPLY_FILE, BACKUP_FILE, REVERT_FILE)
    ]


def job_on_event() -> str:
    """Remove itself first (never fires twice), then revert (the script cleans up)."""
    return f"/system scheduler remove [ find where name={JOB} ]; /import file-name={REVERT_FILE}"


def arm_job(seconds: int) -> Sentence:
    """The scheduler job that reverts after ``seconds`` unless removed."""
    return (
        "/system/scheduler/add",
        {
            "name": JOB,
            "interval": f"{max(1, int(seconds))}s",
            "on-event": job_on_event(),
            "policy": JOB_POLICY,
            "comment": JOB_COMMENT,
        },
    )


def file_add(name: str, contents: str) -> Sentence:
    return ("/file/add", {"name": name, "contents": contents})


def file_remove(name: str) -> Sentence:
    return ("/file/remove", {"numbers": name})


def export_script(roots: list[str], *, sensitive: bool = True) -> str:
    """One console script exporting each menu (terse, secrets shown when ``sensitive``)."""
    flags = " terse show-sensitive" if sensitive else " terse"
    if not roots:
        return f"/export{flags}"
    return "; ".join(f"{root} export{flags}" for root in roots)


def job_is_ours(row: dict[str, str]) -> bool:
    return row.get("name") == JOB


__all__ = [
    "APPLY_FILE",
    "BACKUP",
    "BACKUP_FILE",
    "JOB",
    "REVERT_FILE",
    "apply_script",
    "arm_job",
    "export_script",
    "file_add",
    "file_remove",
    "guarded_revert_lines",
    "quote",
    "revert_script",
]
