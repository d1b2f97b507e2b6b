"""Shell scripts the airOS driver runs on the radio's BusyBox shell, and their output parsing.

Pure: text in, text out. Each device operation is ONE script sent over one SSH exec channel (a
round trip matters on a satellite hop). The commit follows airOS's own "Test" mode: the new
configuration runs without being saved to flash, and a detached job armed BEFORE the change
restores the flash copy unless the commit is confirmed. A reboot before the confirm ends the job
and boots from flash, i.e. the old configuration, too.

Files on the radio (data, not logic):

* ``/tmp/system.cfg`` — the running configuration file (RAM);
* :data:`NEW` — the committed configuration, kept until confirmed (RAM);
* :data:`PENDING` — pid of the armed revert job (RAM: a reboot forgets it as it ends the job);
* :data:`PREVIOUS` — the configuration before the last commit, for ``rollback``; it lives in
  ``/etc/persistent`` so the next ``cfgmtd -w -p /etc/`` (the confirm) saves it to flash.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

RUNNING = "/tmp/system.cfg"
NEW = "/tmp/kopnet.new.cfg"
PENDING = "/tmp/kopnet.revert.pid"
PREVIOUS = "/etc/persistent/kopnet.prev.cfg"
SWAP = "/tmp/kopnet.swap.cfg"
FLASH_COPY = "/tmp/kopnet.flash.cfg"
BOARD = "/etc/board.info"
SOFTRESTART = "/usr/etc/rc.d/rc.softrestart"
SAVE = "cfgmtd -w -p /etc/"
LOAD_FLASH = "cfgmtd -r -p /etc/"
MARK = "@@kopnet:"
#: seconds the revert job of a plain commit (no revert_in) waits for the save to finish
SAFETY_REVERT = 300

NOT_PENDING = "KOPNET-NOT-PENDING"
STARTED = "KOPNET-STARTED"
ARMED = "KOPNET-ARMED"
DISARMED = "KOPNET-DISARMED"
APPLIED = "KOPNET-APPLIED"
SAVED = "KOPNET-SAVED"
CONFIRMED = "KOPNET-CONFIRMED"
ROLLED_BACK = "KOPNET-ROLLED-BACK"
HAS_PREVIOUS = "KOPNET-HAS-PREVIOUS"
REVERTED = "KOPNET-REVERTED"


def _mark(name: str) -> str:
    return f"echo '{MARK}{name}@@'"


def read_script() -> str:
    """Board info, the armed revert job (if alive) and the running configuration, in one go."""
    return "; ".join(
        [
            f"cat {BOARD}",
            _mark("pending"),
            f"kill -0 $(cat {PENDING} 2>/dev/null) 2>/dev/null && cat {PENDING}",
            _mark("previous"),
            f"test -e {PREVIOUS} && echo yes",
            _mark("running"),
            f"cat {RUNNING}",
        ]
    )


@dataclass(frozen=True)
class DeviceState:
    """What :func:`read_script` found."""

    board: dict[str, str]
    pending_pid: int | None
    has_previous: bool
    running_text: str

    @property
    def model(self) -> str:
        return self.board.get("board.name", "")


def parse_read(output: str) -> DeviceState:
    """Split the output of :func:`read_script`; ValueError when a section is missing."""
    sections: dict[str, str] = {}
    name = "board"
    lines: list[str] = []
    for line in output.splitlines(keepends=True):
        stripped = line.rstrip("\r\n")
        if stripped.startswith(MARK) and stripped.endswith("@@"):
            sections[name] = "".join(lines)
            name, lines = stripped[len(MARK) : -2], []
        else:
            lines.append(line)
    sections[name] = "".join(lines)
    missing = {"board", "pending", "previous", "running"} - set(sections)
    if missing:
        raise ValueError(f"sections missing from the device's answer: {', '.join(sorted(missing))}")
    board = {}
    for line in sections["board"].splitlines():
        key, sep, value = line.partition("=")
        if sep:
            board[key.strip()] = value.strip()
    pid_text = sections["pending"].strip()
    return DeviceState(
        board=board,
        pending_pid=int(pid_text) if pid_text.isdigit() else None,
        has_previous=sections["previous"].strip() == "yes",
        running_text=sections["running"],
    )


def revert_job(revert_in: int) -> str:
    """The detached job: after ``revert_in`` s, load flash into /tmp/system.cfg and apply it."""
    body = f"sleep {int(revert_in)}; {LOAD_FLASH}; {SOFTRESTART}; rm -f {PENDING}"
    return f"nohup sh -c {shlex.quote(body)} >/dev/null 2>&1 &"


def commit_script(revert_in: int | None) -> str:
    """Apply the configuration read from stdin; the revert job is armed before any change.

    With ``revert_in`` the new configuration runs unsaved until :func:`confirm_script`.
    Without it, it is saved at once and the job (armed for :data:`SAFETY_REVERT` s) is killed
    at the end: a session that dies half-way still leaves the old or the new configuration.
    Refuses, before any change, while another commit waits for its confirm and when
    /tmp/system.cfg has unsaved edits (the revert restores flash: they would be lost).
    Prints :data:`NOT_PENDING`, :data:`STARTED`, :data:`ARMED`, then :data:`APPLIED` (test
    mode) or :data:`SAVED`.
    """
    lines = [
        "set -e",
        # a pid file whose job is gone (killed by hand) must not block commits for ever
        f"kill -0 $(cat {PENDING} 2>/dev/null) 2>/dev/null || rm -f {PENDING}",
        f"test ! -e {PENDING}",
        f"echo {NOT_PENDING}",
        f"{LOAD_FLASH} -f {FLASH_COPY}",
        f"cmp -s {FLASH_COPY} {RUNNING}",
        f"rm -f {FLASH_COPY}",
        f"echo {STARTED}",
        f"cat > {NEW}",
        revert_job(revert_in if revert_in is not None else SAFETY_REVERT),
        f"echo $! > {PENDING}",
        f"echo {ARMED}",
        f"cp {RUNNING} {PREVIOUS}",
        f"cp {NEW} {RUNNING}",
        SOFTRESTART,
    ]
    if revert_in is None:
        lines += [SAVE, f"kill $(cat {PENDING})", f"rm -f {PENDING} {NEW}", f"echo {SAVED}"]
    else:
        lines.append(f"echo {APPLIED}")
    return "\n".join(lines) + "\n"


def confirm_script() -> str:
    """Disarm the job and save the running configuration to flash.

    ``kill`` fails when the job already ran (nothing is saved then); ``cmp`` fails when the job
    was caught half-way through its revert (the driver then finishes the revert).
    """
    return (
        "\n".join(
            [
                "set -e",
                f"kill $(cat {PENDING})",
                f"rm -f {PENDING}",
                f"echo {DISARMED}",
                f"cmp -s {RUNNING} {NEW}",
                SAVE,
                f"rm -f {NEW}",
                f"echo {CONFIRMED}",
            ]
        )
        + "\n"
    )


def revert_now_script() -> str:
    """Disarm any job and go back to the flash configuration at once (no reboot)."""
    return (
        "\n".join(
            [
                "set -e",
                f"kill $(cat {PENDING} 2>/dev/null) 2>/dev/null || true",
                f"rm -f {PENDING} {NEW}",
                LOAD_FLASH,
                SOFTRESTART,
                f"echo {REVERTED}",
            ]
        )
        + "\n"
    )


def rollback_script() -> str:
    """Back to the configuration before the last commit, applied and saved, no reboot.

    A pending commit is disarmed first. The configuration rolled back from becomes the new
    "previous", so a second rollback undoes the first. Prints :data:`HAS_PREVIOUS` once it
    found one, :data:`ROLLED_BACK` at the end.
    """
    return (
        "\n".join(
            [
                "set -e",
                f"test -e {PREVIOUS}",
                f"echo {HAS_PREVIOUS}",
                f"kill $(cat {PENDING} 2>/dev/null) 2>/dev/null || true",
                f"rm -f {PENDING} {NEW}",
                f"cp {RUNNING} {SWAP}",
                f"cp {PREVIOUS} {RUNNING}",
                SOFTRESTART,
                f"mv {SWAP} {PREVIOUS}",
                SAVE,
                f"echo {ROLLED_BACK}",
            ]
        )
        + "\n"
    )


def startup_script() -> str:
    """The flash copy of the configuration (airOS has no ``cat`` of flash: copy it to RAM)."""
    return f"{LOAD_FLASH} -f {FLASH_COPY} && cat {FLASH_COPY}; rm -f {FLASH_COPY}"
