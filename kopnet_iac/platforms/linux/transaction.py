"""The gateway's part of a deploy transaction: a revert armed ON the gateway.

``arm_revert`` copies every managed file (the role's ``kopnet_gateway_paths`` and network
files) into a snapshot folder on the gateway and arms a timer there that puts the snapshot back
unless :func:`confirm` disarms it first. The timer lives on the gateway, so a controller that
loses its link or is killed mid-deploy cannot leave a gateway half-configured:

- on a gateway booted with systemd: a transient timer (``systemd-run --on-active=N``);
- elsewhere (the namespace lab has no init system): a detached process in its own session
  (``setsid``) that sleeps until the deadline, untouched by the SSH session ending.

The revert (``revert.sh`` on the gateway, written at arm time) takes a lock, puts every file
back byte for byte (a file that did not exist before is removed), checks the restored files
with the same validators as the role (a failure is logged, the files are restored anyway:
they are what ran before), reloads the services whose files it changed, drops the snapshot and
records the outcome in ``last``. :func:`confirm` takes the same lock, so a confirm racing the
timer either disarms it or reports that the gateway already reverted, never both.

Every operation is one SSH exec (one round trip on a VSAT hop). Gateway layout, under
:data:`STATE_DIR`: ``armed`` (key=value: id, village, deadline, mechanism), ``files/`` (the
snapshot), ``manifest`` (name, path, present|absent), ``revert.sh``, ``revert.log``, ``last``.
A reboot before the deadline loses a transient timer but not the snapshot: :func:`pending`
stays true, and the next command (deploy's recovery) reverts or confirms explicitly.
"""

from __future__ import annotations

import logging
import shlex
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import yaml

from kopnet_iac.errors import ApplyError, ConnectError, RollbackError
from kopnet_iac.platforms.linux.ansible import ROLES_DIR
from kopnet_iac.platforms.linux.sshrun import SshTarget, connect

log = logging.getLogger(__name__)

STATE_DIR = "/var/lib/kopnet/txn"
UNIT_PREFIX = "kopnet-revert-"
SERVICE_MANAGERS = ("systemd", "lab")
MIN_REVERT_IN = 5

# Validators per managed file (the role's, see roles/gateway/tasks/config.yml) and how each
# service picks up a changed file, per service manager. Data, so the revert script and the
# role stay comparable line by line.
VALIDATE: dict[str, str] = {
    "bird.conf": "bird -p -c %s",
    "nftables.conf": "nft -c -f %s",
    "unbound.conf": "unbound-checkconf %s",
    "chrony.conf": "chronyd -p -f %s",
    "sshd.conf": "sshd -t -f %s",
}
_BIRD_LAB = (
    'if birdc -s "$BIRD_SOCK" show status >/dev/null 2>&1; then birdc -s "$BIRD_SOCK" configure; '
    'else mkdir -p "$(dirname "$BIRD_SOCK")"; bird -c %(path)s -s "$BIRD_SOCK" -P "$BIRD_PID"; fi'
)
_UNBOUND_LAB = (
    "pid=$(cat /run/unbound.pid 2>/dev/null); "
    'if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -HUP "$pid"; '
    "else unbound -c %(path)s; fi"
)
_CHRONY_LAB = (
    "pid=$(cat /run/chrony/chronyd.pid 2>/dev/null); "
    'if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill "$pid"; '
    'for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done; fi; '
    "mkdir -p /run/chrony; chronyd -x -f %(path)s"
)
_SSHD_LAB = (
    "pid=$(cat /run/sshd.pid 2>/dev/null); "
    'if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -HUP "$pid"; fi'
)
_NETWORK = "python3 /usr/local/lib/kopnet/netapply.py %(backend)s %(paths)s"
RELOAD: dict[str, dict[str, str]] = {
    "sysctl.conf": {"systemd": "sysctl -q -p %(path)s", "lab": "sysctl -q -p %(path)s"},
    "bird.conf": {"systemd": "systemctl reload-or-restart bird", "lab": _BIRD_LAB},
    "nftables.conf": {"systemd": "nft -f %(path)s", "lab": "nft -f %(path)s"},
    "unbound.conf": {"systemd": "systemctl restart unbound", "lab": _UNBOUND_LAB},
    "chrony.conf": {"systemd": "systemctl restart chrony", "lab": _CHRONY_LAB},
    "sshd.conf": {"systemd": "systemctl reload ssh", "lab": _SSHD_LAB},
    # the restored port-block table is the one in force again: the NOC log must say so
    "cgnat-blocks": {
        "systemd": "/usr/local/sbin/kopnet-cgnat-log",
        "lab": "/usr/local/sbin/kopnet-cgnat-log",
    },
}


@dataclass(frozen=True)
class GatewayArm:
    """An armed revert on one gateway. ``deadline`` is the gateway's clock (epoch seconds)."""

    village: str
    hostname: str
    id: str
    revert_in: int
    deadline: int
    mechanism: str  # "systemd-run" | "process"
    present: tuple[str, ...]  # managed names snapshotted (existing files)
    absent: tuple[str, ...]  # managed names that did not exist (removed on revert)

    def to_json(self) -> dict[str, Any]:
        return {
            "village": self.village,
            "hostname": self.hostname,
            "id": self.id,
            "revert_in": self.revert_in,
            "deadline": self.deadline,
            "mechanism": self.mechanism,
            "present": list(self.present),
            "absent": list(self.absent),
        }


@dataclass(frozen=True)
class RevertState:
    """What the gateway says about its revert: ``armed`` with id/deadline, and the last revert."""

    armed: bool
    id: str = ""
    deadline: int | None = None
    now: int | None = None
    mechanism: str = ""
    timer_alive: bool = False
    last: str = ""


# --------------------------------------------------------------------------- managed paths


@cache
def _role_defaults() -> dict[str, Any]:
    data = yaml.safe_load((ROLES_DIR / "gateway" / "defaults" / "main.yml").read_text())
    return data if isinstance(data, dict) else {}


def managed_paths() -> dict[str, str]:
    """name -> path of every file the gateway role manages (from the role's defaults); network
    files of every backend are included, so a backend switch is reverted too."""
    defaults = _role_defaults()
    paths = {str(k): str(v) for k, v in (defaults.get("kopnet_gateway_paths") or {}).items()}
    for backend, files in (defaults.get("kopnet_network_paths") or {}).items():
        for name, path in (files or {}).items():
            paths[f"{backend}:{name}"] = str(path)
    return paths


def _network_name(name: str) -> tuple[str, str] | None:
    backend, sep, rest = name.partition(":")
    return (backend, rest) if sep else None


# --------------------------------------------------------------------------- scripts (pure)


def _q(value: str) -> str:
    return shlex.quote(value)


def _file_key(name: str) -> str:
    """Snapshot file name for a managed name (``networkd:uplink`` -> ``networkd_uplink``)."""
    return name.replace(":", "_").replace("/", "_")


def revert_script(txn_id: str, paths: Mapping[str, str], service_manager: str) -> str:
    """The shell script the gateway runs to put the snapshot back (see module docstring)."""
    d = STATE_DIR
    lines = [
        "#!/bin/sh",
        f"# KopNet: restore the configuration snapshot {txn_id} (written by arm_revert)",
        "set -u",
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        f"D={d}",
        'BIRD_SOCK="${KOPNET_BIRD_SOCK:-/run/bird/bird.ctl}"',
        'BIRD_PID="${KOPNET_BIRD_PID:-/run/bird/bird.pid}"',
        'exec 9>>"$D/lock"',
        "flock 9",
        f'grep -qx "id={txn_id}" "$D/armed" 2>/dev/null || exit 0',
        'exec >>"$D/revert.log" 2>&1',
        f'echo "$(date +%s) revert {txn_id} begins"',
        'changed=" "',
        "failed=",
    ]
    for name, path in paths.items():
        key = _file_key(name)
        snap = f"{d}/files/{key}"
        validate = VALIDATE.get(name, "")
        check = ""
        if validate:
            check = (
                f"  {validate.replace('%s', _q(snap))} >/dev/null 2>&1 || "
                f'{{ echo "snapshot of {name} does not validate: restoring it anyway"; '
                f'failed="$failed {name}"; }}\n'
            )
        lines.append(
            f"if [ -e {_q(snap)} ]; then\n"
            f"{check}"
            f"  if ! cmp -s {_q(snap)} {_q(path)} || "
            f'[ "$(stat -c %a {_q(snap)})" != "$(stat -c %a {_q(path)} 2>/dev/null)" ]; then\n'
            f"    mkdir -p {_q(path.rsplit('/', 1)[0] or '/')}\n"
            f"    cp -p {_q(snap)} {_q(path + '.kopnet-revert')} && "
            f'mv -f {_q(path + ".kopnet-revert")} {_q(path)} && changed="${{changed}}{name} "\n'
            "  fi\n"
            f'elif grep -qx {_q(name + " absent")} "$D/manifest" && [ -e {_q(path)} ]; then\n'
            f'  rm -f {_q(path)} && changed="${{changed}}{name} "\n'
            "fi"
        )
    # the network first (BIRD and the NAT rules use its addresses); only files that exist
    # after the restore are applied: addresses are never taken away from a live gateway
    network: dict[str, list[str]] = {}
    for name, path in paths.items():
        split = _network_name(name)
        if split is not None:
            network.setdefault(split[0], []).append(path)
    for backend, files in network.items():
        pattern = "|".join(f'*" {backend}:{n} "*' for n in _network_names(paths, backend))
        exists = " ".join(_q(p) for p in files)
        cmd = _NETWORK % {"backend": backend, "paths": '"$@"'}
        lines.append(
            f'case "$changed" in {pattern}) set --; for f in {exists}; do '
            '[ -e "$f" ] && set -- "$@" "$f"; done; '
            "if [ $# -gt 0 ] && [ -f /usr/local/lib/kopnet/netapply.py ]; then "
            f'{cmd} || echo "network re-apply failed"; fi ;; esac'
        )
    for name, path in paths.items():
        reload = RELOAD.get(name, {}).get(service_manager)
        if reload:
            cmd = reload % {"path": _q(path)}
            lines.append(
                f'case "$changed" in *" {name} "*) {{ {cmd} ; }} || '
                f'echo "reload after restoring {name} failed" ;; esac'
            )
    lines += [
        f'echo "$(date +%s) revert {txn_id} done, restored:$changed'
        '${failed:+ (did not validate:$failed)}"',
        f'echo "reverted {txn_id} $(date +%s) restored:$changed" > "$D/last.tmp"',
        'mv -f "$D/last.tmp" "$D/last"',
        'rm -rf "$D/files" "$D/manifest" "$D/armed" "$D/timer.pid"',
        "exit 0",
    ]
    return "\n".join(lines) + "\n"


def _network_names(paths: Mapping[str, str], backend: str) -> list[str]:
    return [s[1] for n in paths if (s := _network_name(n)) is not None and s[0] == backend]


def arm_script(
    txn_id: str,
    village: str,
    revert_in: int,
    paths: Mapping[str, str],
    service_manager: str | None,
) -> str:
    """Shell script that snapshots the files, writes ``revert.sh`` and arms the timer; prints
    ``key=value`` lines (``error=...`` when it refuses)."""
    d = STATE_DIR
    pick = (
        "if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null; "
        "then mech=systemd-run; else mech=process; fi"
        if service_manager is None
        else f"mech={'systemd-run' if service_manager == 'systemd' else 'process'}"
    )
    manager = service_manager or "$( [ -d /run/systemd/system ] && echo systemd || echo lab )"
    scripts = {m: revert_script(txn_id, paths, m) for m in SERVICE_MANAGERS}
    unit = f"{UNIT_PREFIX}{txn_id}"
    parts = [
        "set -eu",
        "umask 077",
        f"D={d}",
        'mkdir -p "$D"',
        'exec 9>>"$D/lock"',
        "flock 9",
        'if [ -f "$D/armed" ]; then',
        '  echo "error=a revert is already armed on this gateway: $(tr "\\n" " " < "$D/armed")"',
        "  exit 0",
        "fi",
        'rm -rf "$D/files" "$D/manifest"',
        'mkdir -p "$D/files"',
        ': > "$D/manifest"',
    ]
    for name, path in paths.items():
        key = _file_key(name)
        parts.append(
            f'if [ -e {_q(path)} ]; then cp -p {_q(path)} "$D/files/{key}" || '
            f"{{ echo {_q('error=cannot snapshot ' + path)}; exit 0; }}; "
            f'echo {_q(name + " present")} >> "$D/manifest"; '
            f'else echo {_q(name + " absent")} >> "$D/manifest"; fi'
        )
    parts.append(f'manager="{manager}"' if service_manager is None else f"manager={manager}")
    for m, text in scripts.items():
        parts.append(
            f'if [ "$manager" = {m} ]; then cat > "$D/revert.sh" <<\'KOPNET_EOF\'\n'
            f"{text}KOPNET_EOF\nfi"
        )
    parts += [
        'chmod 0700 "$D/revert.sh"',
        pick,
        "now=$(date +%s)",
        f"deadline=$((now + {int(revert_in)}))",
        'if [ "$mech" = systemd-run ]; then',
        f"  systemd-run --quiet --unit={unit} --description='KopNet revert {village}' "
        f"--on-active={int(revert_in)} --timer-property=AccuracySec=1s "
        '/bin/sh "$D/revert.sh" >/dev/null',
        f"  timer={unit}.timer",
        "else",
        '  rm -f "$D/timer.pid"',
        f'  setsid -f /bin/sh -c \'echo $$ > "$1/timer.pid"; sleep {int(revert_in)}; '
        f'exec /bin/sh "$1/revert.sh"\' kopnet-revert-{txn_id} "$D" '
        "</dev/null >/dev/null 2>&1 9>&-",
        '  for _ in $(seq 50); do [ -s "$D/timer.pid" ] && break; sleep 0.05; done',
        '  [ -s "$D/timer.pid" ] || { echo "error=the revert timer process did not start"; exit 0; }',
        '  timer="pid:$(cat "$D/timer.pid")"',
        "fi",
        "{",
        f"  echo id={txn_id}",
        f"  echo village={_q(village)}",
        "  echo deadline=$deadline",
        f"  echo revert_in={int(revert_in)}",
        "  echo mechanism=$mech",
        "  echo timer=$timer",
        '} > "$D/armed.tmp"',
        'mv -f "$D/armed.tmp" "$D/armed"',
        'cat "$D/armed"',
        "echo now=$now",
        'sed "s/^/manifest=/" "$D/manifest"',
    ]
    return "\n".join(parts) + "\n"


_DISARM = """\
timer=$(sed -n 's/^timer=//p' "$D/armed")
case "$timer" in
  pid:*) pid=${timer#pid:}
         if grep -q kopnet-revert "/proc/$pid/cmdline" 2>/dev/null; then kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true; fi ;;
  *.timer) systemctl stop "$timer" 2>/dev/null || true
           systemctl reset-failed "${timer%.timer}.service" 2>/dev/null || true ;;
esac
"""


def confirm_script(txn_id: str | None) -> str:
    """Disarm and drop the snapshot; prints ``confirmed=ID``, or ``error=...`` when nothing is
    armed (``last=`` then says whether the timer already reverted)."""
    want = f'grep -qx "id={txn_id}" "$D/armed"' if txn_id else "true"
    return (
        f"set -u\nD={STATE_DIR}\n"
        '[ -d "$D" ] || { echo "error=no revert armed"; exit 0; }\n'
        'exec 9>>"$D/lock"\nflock 9\n'
        'if [ ! -f "$D/armed" ]; then echo "error=no revert armed"; '
        'echo "last=$(cat "$D/last" 2>/dev/null)"; exit 0; fi\n'
        f"if ! {want}; then "
        'echo "error=another revert is armed: $(tr "\\n" " " < "$D/armed")"; exit 0; fi\n'
        f"{_DISARM}"
        'id=$(sed -n "s/^id=//p" "$D/armed")\n'
        'rm -rf "$D/files" "$D/manifest" "$D/armed" "$D/timer.pid"\n'
        'echo "confirmed $id $(date +%s)" > "$D/last"\n'
        'echo "confirmed=$id"\n'
    )


def revert_now_script() -> str:
    """Stop the timer and run the revert now, in this session; prints the outcome."""
    return (
        f"set -u\nD={STATE_DIR}\n"
        '[ -f "$D/armed" ] || { echo "error=no revert armed"; '
        'echo "last=$(cat "$D/last" 2>/dev/null)"; exit 0; }\n'
        '(exec 9>>"$D/lock"; flock 9\n'
        f"{_DISARM})\n"
        '/bin/sh "$D/revert.sh"\n'
        'rm -f "$D/timer.pid"\n'
        'if [ -f "$D/armed" ]; then echo "error=revert did not complete"; fi\n'
        'echo "last=$(cat "$D/last" 2>/dev/null)"\n'
        'tail -n 5 "$D/revert.log" 2>/dev/null | sed "s/^/log=/"\n'
    )


def state_script() -> str:
    """Read-only: the armed record, the gateway clock, whether the timer runs, the last revert."""
    return (
        f"D={STATE_DIR}\n"
        'if [ -f "$D/armed" ]; then echo armed=yes; cat "$D/armed"; else echo armed=no; fi\n'
        "echo now=$(date +%s)\n"
        'timer=$(sed -n "s/^timer=//p" "$D/armed" 2>/dev/null)\n'
        'case "$timer" in\n'
        '  pid:*) grep -q kopnet-revert "/proc/${timer#pid:}/cmdline" 2>/dev/null '
        "&& echo timer_alive=yes ;;\n"
        '  *.timer) systemctl is-active --quiet "$timer" && echo timer_alive=yes ;;\n'
        "esac\n"
        'echo "last=$(cat "$D/last" 2>/dev/null)"\n'
    )


def parse_pairs(text: str) -> dict[str, list[str]]:
    """``key=value`` lines -> key -> values (in order); other lines are ignored.

    >>> parse_pairs("id=1\\nmanifest=a present\\nmanifest=b absent\\nnoise")["manifest"]
    ['a present', 'b absent']
    """
    pairs: dict[str, list[str]] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key and key.replace("_", "").isalnum():
            pairs.setdefault(key, []).append(value)
    return pairs


def _one(pairs: dict[str, list[str]], key: str) -> str:
    values = pairs.get(key) or [""]
    return values[-1]


# --------------------------------------------------------------------------- I/O


def _run(target: SshTarget, script: str, step: str, village: str) -> dict[str, list[str]]:
    command = "sh -s" if target.username == "root" else "sudo -n sh -s"
    try:
        with connect(target) as session:
            result = session.run(command, stdin=script)
    except ConnectError as exc:
        raise ConnectError(exc.message, village=village, host=target.label, step=step) from exc
    pairs = parse_pairs(result.stdout)
    if result.exit_status != 0 and "error" not in pairs:
        reason = (result.stderr.strip() or result.stdout.strip())[-300:]
        raise ApplyError(
            f"gateway script failed (exit {result.exit_status}): {reason}",
            village=village,
            host=target.label,
            step=step,
        )
    return pairs


def arm_revert(
    target: SshTarget,
    revert_in: int,
    *,
    village: str,
    service_manager: str | None = None,
    paths: Mapping[str, str] | None = None,
) -> GatewayArm:
    """Snapshot the managed files on the gateway and arm a timer there that re-applies the
    snapshot after ``revert_in`` seconds unless :func:`confirm` runs first.

    ``service_manager`` is the role's (``systemd`` | ``lab``); None detects it on the gateway
    (systemd when it was booted with systemd). Raises :class:`ApplyError` when a revert is
    already armed there (resolve it with :func:`confirm` or :func:`revert_now` first).
    """
    if revert_in < MIN_REVERT_IN:
        raise ApplyError(
            f"revert_in must be at least {MIN_REVERT_IN}s (got {revert_in})",
            village=village,
            host=target.label,
            step="arm",
        )
    if service_manager is not None and service_manager not in SERVICE_MANAGERS:
        raise ApplyError(
            f"unknown service manager {service_manager!r} (expected systemd or lab)",
            village=village,
            host=target.label,
            step="arm",
        )
    files = dict(paths) if paths is not None else managed_paths()
    txn_id = uuid.uuid4().hex[:12]
    script = arm_script(txn_id, village, revert_in, files, service_manager)
    pairs = _run(target, script, "arm", village)
    if "error" in pairs:
        raise ApplyError(_one(pairs, "error"), village=village, host=target.label, step="arm")
    if _one(pairs, "id") != txn_id:
        raise ApplyError(
            "the gateway did not confirm the armed revert", village=village, host=target.label
        )
    manifest = [m.rsplit(" ", 1) for m in pairs.get("manifest", [])]
    arm = GatewayArm(
        village=village,
        hostname=target.hostname or target.host,
        id=txn_id,
        revert_in=revert_in,
        deadline=int(_one(pairs, "deadline")),
        mechanism=_one(pairs, "mechanism"),
        present=tuple(n for n, s in manifest if s == "present"),
        absent=tuple(n for n, s in manifest if s == "absent"),
    )
    log.info(
        "%s/%s: revert %s armed (%s, %ds)",
        village, arm.hostname, txn_id, arm.mechanism, revert_in,
    )  # fmt: skip
    return arm


def confirm(target: SshTarget, *, village: str, arm: GatewayArm | None = None) -> None:
    """Disarm the gateway's revert and drop its snapshot: the new configuration stays.

    Raises :class:`ApplyError` when nothing is armed: in particular when the timer already
    fired (the gateway runs its old configuration; the message says so). With ``arm``, only
    that very revert is confirmed.
    """
    pairs = _run(target, confirm_script(arm.id if arm else None), "confirm", village)
    if "error" in pairs:
        last = _one(pairs, "last")
        text = _one(pairs, "error")
        if last.startswith("reverted"):
            text = f"cannot confirm: the gateway already reverted ({last})"
        raise ApplyError(text, village=village, host=target.label, step="confirm")
    log.info("%s/%s: revert %s disarmed", village, target.label, _one(pairs, "confirmed"))


def revert_now(target: SshTarget, *, village: str) -> None:
    """Re-apply the snapshot now and disarm. A revert that the timer already completed counts
    as done; :class:`RollbackError` when there never was one, or it did not complete."""
    pairs = _run(target, revert_now_script(), "revert", village)
    last = _one(pairs, "last")
    if "error" in pairs:
        if _one(pairs, "error") == "no revert armed" and last.startswith("reverted"):
            log.info("%s/%s: already reverted (%s)", village, target.label, last)
            return
        raise RollbackError(
            f"{_one(pairs, 'error')} ({last or 'no earlier revert'})",
            village=village,
            host=target.label,
            step="revert",
        )
    log.info("%s/%s: %s", village, target.label, last)


def revert_state(target: SshTarget, *, village: str) -> RevertState:
    """What the gateway says about its revert (read-only)."""
    pairs = _run(target, state_script(), "pending", village)
    armed = _one(pairs, "armed") == "yes"
    deadline = _one(pairs, "deadline")
    now = _one(pairs, "now")
    return RevertState(
        armed=armed,
        id=_one(pairs, "id") if armed else "",
        deadline=int(deadline) if armed and deadline.isdigit() else None,
        now=int(now) if now.isdigit() else None,
        mechanism=_one(pairs, "mechanism") if armed else "",
        timer_alive=_one(pairs, "timer_alive") == "yes",
        last=_one(pairs, "last"),
    )


def pending(target: SshTarget, *, village: str) -> bool:
    """True while an armed revert (snapshot not yet confirmed or reverted) exists on the gateway."""
    return revert_state(target, village=village).armed


__all__ = [
    "GatewayArm",
    "RevertState",
    "arm_revert",
    "confirm",
    "managed_paths",
    "pending",
    "revert_now",
    "revert_state",
]
