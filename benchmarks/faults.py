"""Fault campaign for ``kopnet deploy``: random faults injected into real deploys on the lab.

Every case takes one village from one intended configuration (an inventory variant) to another
while one fault hits one device at one step of the transaction: a session dropped at a step (or
after a random number of commands), a failing command (trap), a stall, a reboot in the middle of
the apply, a full disk, a verification failure (a radio or linked port down), a session lost
during the revert that follows a failed verification, or the controller killed with SIGKILL
(``kopnet deploy ... --lab --yes --json`` as a subprocess, killed when its progress output
reaches a chosen step). The faulty device is one the change touches. After the case every fault
is cleared and the devices' own revert timers are given their time, then the case passes only
when

* every device runs EXACTLY its old configuration (the running config read before the case, the
  engine's semantic comparison for RouterOS, ``system.cfg`` keys for airOS) or its new intended
  one (the driver's ``compare_config`` against the new intent is empty), with no revert pending;
* the release store agrees with the devices: ``confirmed`` <-> every device new; ``reverted`` or
  ``failed`` <-> every device old (a ``failed`` release whose devices say which ones were
  confirmed may leave those new); no release <-> nothing changed; a release left in doubt (the
  controller killed) is resolved by the next command (``kopnet recover`` when this build has it,
  else the next deploy) into one of those.

The lab runs the villages' emulated RouterOS/airOS devices only (no gateway namespaces): the
gateway's Ansible run makes every case several times slower. Revert timers are short
(``--revert-in``, default 30 s, the deploy's minimum); no link delay. Cases are generated from
``--seed`` and their number alone, so ``--replay N`` (same ``--villages``) re-runs case N on a
fresh lab. The table counts, per fault and step, the cases, those that passed, and those whose
fault reached a device ("hit": its trigger step ran, a drop or trap pattern matched a command).

Usage::

    python benchmarks/faults.py [--cases 200] [--seed S] [--replay N] [--revert-in 30]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "tests" / "fixtures" / "fleet"
VILLAGES = ("lebung-itam", "pematang-panggang", "sukadana")
PREFIX = os.environ.get("KOPNET_LAB_PREFIX", "127.88")
#: fake secrets for the lab (the inventory's names); a campaign searches its output for them
SECRETS = (
    "gw-admin",
    "core-admin",
    "radio-admin",
    "radius-secret",
    "snmp-community",
    "wifi-sukadana",
    "wifi-lebung-itam",
    "wifi-pematang",
    "backhaul-key",
)
CANARIES = {name: f"canary-{name}-F4u" for name in SECRETS}

# --------------------------------------------------------------------------- the catalogue

#: step label -> (progress step that arms the fault, or "before" the deploy; command glob)
ROUTEROS_STEPS = {
    "read": ("before", "/execute*export*"),
    "plan": ("plan", "/execute*export*"),
    "arm": ("apply", "/file/add =name=kopnet-revert*"),
    "arm-timer": ("apply", "/system/scheduler/add*"),
    "upload": ("apply", "/file/add =name=kopnet-apply*"),
    "backup": ("apply", "/system/backup/save*"),
    "apply": ("apply", "/import*"),
    "verify": ("verify", "/interface/print*"),
    "confirm": ("confirm", "/system/scheduler/remove*"),
    "cleanup": ("confirm", "/file/remove*kopnet-pre*"),
}
AIROS_STEPS = {
    "read": ("before", "cat /tmp/system.cfg"),
    "plan": ("plan", "cat /etc/board.info*"),
    "arm": ("apply", "cat /etc/board.info*"),
    "apply": ("apply", "*KOPNET-ARMED*"),
    "verify": ("verify", "HTTP GET /status.cgi"),
    "confirm-check": ("confirm", "kill -0*echo yes"),
    "confirm": ("confirm", "*KOPNET-DISARMED*"),
}
#: where a stall, a full disk or a reboot starts (progress step, status)
TRIGGERS = ("before", "plan", "apply", "verify", "confirm")
#: where the controller is killed: (progress step, status) and which occurrence
KILL_POINTS = (
    ("apply", "start"),
    ("apply", "ok"),
    ("verify", "start"),
    ("confirm", "start"),
    ("confirm", "ok"),
)
#: fault type -> weight in the campaign
WEIGHTS = {
    "drop": 26,
    "drop-random": 8,
    "trap": 18,
    "stall": 10,
    "reboot": 10,
    "disk-full": 8,
    "verify-fail": 8,
    "sigkill": 12,
    "revert-drop": 6,
}
#: wireless port of a radio by platform (a link down fails its checks)
RADIO_PORT = {"routeros": "wlan1", "airos": "ath0"}


@dataclass(frozen=True)
class Device:
    hostname: str
    platform: str
    role: str
    ports: tuple[str, ...] = ()  # local ports with a link in the inventory


@dataclass(frozen=True)
class Case:
    """One injected fault; everything derives from (seed, index)."""

    index: int
    village: str
    source: str  # inventory variant the devices run before
    target: str  # inventory variant deployed
    fault: str
    step: str
    host: str
    trigger: str = "before"
    pattern: str = ""
    value: float = 0.0
    occurrence: int = 1

    def describe(self) -> str:
        extra = f" {self.pattern!r}" if self.pattern else ""
        if self.value:
            extra += f" value={self.value:g}"
        return (
            f"case {self.index}: {self.village} {self.source}->{self.target} {self.fault} "
            f"at {self.step} on {self.host}{extra}"
        )


def make_case(
    seed: int,
    index: int,
    devices: dict[str, list[Device]],
    changed: Callable[[str, str, str], set[str]],
) -> Case:
    """Case ``index`` of campaign ``seed`` (independent of every other case). The faulty device
    is one the change touches (``changed(village, source, target)``), so that it is armed,
    applied and confirmed as well as read and verified."""
    rng = random.Random(f"{seed}:{index}")
    village = rng.choice(sorted(devices))
    source, target = rng.sample(["A", "B", "C"], 2)
    fault = rng.choices(list(WEIGHTS), weights=list(WEIGHTS.values()))[0]
    touched = changed(village, source, target)
    device = rng.choice([d for d in devices[village] if d.hostname in touched] or devices[village])
    base: dict[str, Any] = {"index": index, "village": village, "source": source, "target": target}
    if fault in ("drop", "trap"):
        steps = ROUTEROS_STEPS if device.platform == "routeros" else AIROS_STEPS
        step = rng.choice(sorted(steps))
        trigger, pattern = steps[step]
        return Case(
            **base, fault=fault, step=step, host=device.hostname, trigger=trigger, pattern=pattern
        )
    if fault == "drop-random":
        count = rng.randint(0, 45)
        return Case(**base, fault=fault, step="random", host=device.hostname, value=count)
    if fault == "stall":
        trigger = rng.choice(TRIGGERS)
        seconds = rng.choice([1.0, 3.0, 6.0, 12.0, -1.0])  # -1: as long as the revert timer
        return Case(
            **base, fault=fault, step=trigger, host=device.hostname, trigger=trigger, value=seconds
        )
    if fault == "reboot":
        delay = round(rng.uniform(0.0, 1.5), 2)
        return Case(
            **base, fault=fault, step="apply", host=device.hostname, trigger="apply", value=delay
        )
    if fault == "disk-full":
        trigger = rng.choice(("before", "apply", "confirm"))
        return Case(**base, fault=fault, step=trigger, host=device.hostname, trigger=trigger)
    if fault == "verify-fail":
        # a backhaul link down fails its radio-link check at both ends; a linked port down
        # fails interfaces-up (a sector's own wireless port is not a link of the inventory)
        radios = [d for d in devices[village] if d.role == "backhaul-radio"]
        if radios and rng.random() < 0.5:
            radio = rng.choice(radios)
            host, port = radio.hostname, RADIO_PORT[radio.platform]
        else:
            linked = [d for d in devices[village] if d.ports]
            chosen = rng.choice(linked)
            host, port = chosen.hostname, rng.choice(chosen.ports)
        trigger = rng.choice(("before", "apply"))
        return Case(**base, fault=fault, step=trigger, host=host, trigger=trigger, pattern=port)
    if fault == "revert-drop":
        # verification fails (a failing read on a RouterOS device), then the session of a
        # changed device drops during its revert
        core = next(d for d in devices[village] if d.platform == "routeros")
        count = rng.randint(0, 2)
        return Case(
            **base,
            fault=fault,
            step="revert",
            host=device.hostname,
            trigger="revert",
            pattern=core.hostname,
            value=count,
        )
    step, status = rng.choice(KILL_POINTS)
    return Case(
        **base,
        fault="sigkill",
        step=f"{step}-{status}",
        host="controller",
        trigger=step,
        pattern=status,
        occurrence=rng.randint(1, 3),
    )


# --------------------------------------------------------------------------- variants


def variant_text(text: str, variant: str) -> str:
    """A village file in variant A (as is), B (every SSID and the PPPoE plans change) or C
    (one sector's SSID: a one-line change)."""
    if variant == "B":
        text = re.sub(r"ssid: ([\w-]+)", r"ssid: \1b", text)
        return re.sub(r"pppoe_plans: \[([\w-]+), [^\]]*\]", r"pppoe_plans: [\1]", text)
    if variant == "C":
        return re.sub(r"(sectors:\n\s+- \{radio: [\w-]+, ssid: )([\w-]+)", r"\1\2c", text, count=1)
    return text


def make_inventories(root: Path) -> dict[str, Path]:
    out = {}
    for variant in ("A", "B", "C"):
        directory = root / f"inventory-{variant}"
        shutil.copytree(EXAMPLE, directory)
        for path in (directory / "villages").glob("*.yaml"):
            path.write_text(variant_text(path.read_text(), variant))
        out[variant] = directory
    return out


# --------------------------------------------------------------------------- the lab


@dataclass
class Lab:
    root: Path
    inventories: dict[str, Path]
    villages: tuple[str, ...]
    revert_in: int = 30
    settle: float = 6.0
    devices: dict[str, list[Device]] = field(default_factory=dict)
    intents: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    #: (village, variant) -> running configs the drivers found converged on that intent
    references: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    current: dict[str, str] = field(default_factory=dict)  # village -> variant it runs

    @property
    def lab_dir(self) -> Path:
        return self.root / "lab"

    @property
    def state_dir(self) -> Path:
        return self.root / "state"

    def env(self) -> dict[str, str]:
        from kopnet_iac.inventory.secrets import env_var_name

        return {
            **os.environ,
            "KOPNET_LAB_DIR": str(self.lab_dir),
            "KOPNET_LAB_PREFIX": PREFIX,
            "KOPNET_STATE": str(self.state_dir),
            **{env_var_name(k): v for k, v in CANARIES.items()},
        }

    def kopnet(self, *args: str, variant: str = "A", timeout: float = 600) -> Any:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "kopnet_iac.cli.main",
                "--inventory",
                str(self.inventories[variant]),
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.env(),
            cwd=REPO,
        )

    def up(self) -> None:
        os.environ.update(self.env())
        done = self.kopnet("lab", "up", *self.villages, "--no-gateways")
        if done.returncode != 0:
            raise RuntimeError(f"lab up failed: {done.stdout}{done.stderr}")
        from kopnet_iac.inventory.loader import load_inventory

        inv = load_inventory(self.inventories["A"])
        for village in self.villages:
            model = inv.village(village)
            ends = [end for link in model.links for end in (link.a, link.b)]
            self.devices[village] = [
                Device(
                    d.hostname,
                    inv.hardware_of(d).platform,
                    d.role,
                    tuple(e.split(":", 1)[1] for e in ends if e.split(":", 1)[0] == d.hostname),
                )
                for d in model.devices
                if inv.hardware_of(d).platform in ("routeros", "airos")
            ]

    def changed(self, village: str, source: str, target: str) -> set[str]:
        """Devices whose rendered intent differs between two variants."""
        from kopnet_iac.deploy.intent import village_intent
        from kopnet_iac.inventory.loader import load_inventory

        for variant in (source, target):
            if (village, variant) not in self.intents:
                intent = village_intent(load_inventory(self.inventories[variant]), village)
                self.intents[(village, variant)] = {
                    h: "".join(d.files.values()) for h, d in intent.devices.items()
                }
        old, new = self.intents[(village, source)], self.intents[(village, target)]
        return {h for h in new if old.get(h) != new[h]}

    def down(self) -> None:
        from kopnet_iac.lab import control

        self.kopnet("lab", "down")
        pid = control.read_pid(self.lab_dir)
        if pid is not None and control.pid_alive(pid) and control.is_lab_daemon(pid):
            os.kill(pid, signal.SIGKILL)

    def fault(self, host: str, **changes: Any) -> None:
        from kopnet_iac.lab import control

        control.request(self.lab_dir, "fault", host=host, changes=changes)

    def command_log(self, host: str) -> list[str]:
        from kopnet_iac.lab import control

        return [str(c) for c in control.request(self.lab_dir, "log", host=host)["commands"]]

    def clear(self, village: str) -> None:
        for device in self.devices[village]:
            with contextlib.suppress(Exception):
                self.fault(device.hostname, clear=True)

    def options(self, village: str, variant: str, **extra: Any) -> Any:
        from kopnet_iac.deploy.planning import DeployOptions

        return DeployOptions(
            village=village,
            inventory_dir=self.inventories[variant],
            lab_dir=self.lab_dir,
            revert_in=self.revert_in,
            settle_s=self.settle,
            verify_interval_s=1.0,
            state_dir=self.state_dir,
            workdir=self.root / "work" / village,
            operator="faults",
            **extra,
        )

    def deploy(self, village: str, variant: str, **extra: Any) -> Any:
        from kopnet_iac.deploy.transaction import deploy_village

        return deploy_village(self.options(village, variant, **extra))

    def ensure(self, village: str, variant: str) -> None:
        """Bring ``village`` to ``variant`` with a plain deploy (no fault) unless it runs it."""
        if self.current.get(village) == variant:
            return
        self.break_stale_lock(village)
        report = self.deploy(village, variant)
        if report.outcome not in ("confirmed", "no-change"):
            raise RuntimeError(
                f"setup deploy of {village} {variant}: {report.outcome} {report.error}"
            )
        self.current[village] = variant

    def break_stale_lock(self, village: str) -> None:
        from kopnet_iac.state import ReleaseStore

        store = ReleaseStore.open(self.state_dir)
        try:
            for lock in store.list_locks():
                if lock.village == village and lock.stale:
                    store.break_lock(village, only=lock)
        finally:
            with contextlib.suppress(Exception):
                store.close()

    # -- observing the devices -----------------------------------------------------------------

    def observe(self, village: str) -> dict[str, dict[str, Any]]:
        """hostname -> {"running", "pending", "error"} through the drivers."""
        from kopnet_iac.deploy import tasks
        from kopnet_iac.deploy.runner import device_nornir, run_step

        nr, names = device_nornir(self.inventories["A"], village, lab_dir=self.lab_dir)
        try:
            reads = run_step(nr, "read running", tasks.fetch_running, names, village=village)
            pend = run_step(nr, "read state", tasks.pending_commit, names, village=village)
        finally:
            with contextlib.suppress(Exception):
                nr.close_connections()
        out: dict[str, dict[str, Any]] = {}
        for host in names:
            read, state = reads[host], pend[host]
            out[host] = {
                "running": str(read.payload["running"]) if read.ok else None,
                "pending": bool(state.payload["pending"]) if state.ok else None,
                "error": read.message() or state.message(),
            }
        return out

    def settle_devices(self, village: str, timeout: float) -> dict[str, dict[str, Any]]:
        """Wait until every device answers and none has a revert pending (their own timers
        run out within ``revert_in``), twice in a row with the same configurations (a job
        removes itself before it imports its script); the last observation."""
        until = time.monotonic() + timeout
        last: dict[str, Any] | None = None
        while True:
            seen = self.observe(village)
            quiet = all(v["running"] is not None and v["pending"] is False for v in seen.values())
            configs = {h: v["running"] for h, v in seen.items()}
            if (quiet and configs == last) or time.monotonic() > until:
                return seen
            last = configs if quiet else None
            time.sleep(1.0)

    def at_new(self, village: str, variant: str) -> dict[str, bool | None]:
        """Per device: its running config equals ``variant``'s intent (the drivers'
        compare_config, through a dry run of the deploy); None when it could not be read."""
        report = self.deploy(village, variant, dry_run=True)
        out: dict[str, bool | None] = {}
        for device in report.devices:
            if device.platform not in ("routeros", "airos"):
                continue
            out[device.hostname] = None if device.outcome == "failed" else not device.changed
        return out


# --------------------------------------------------------------------------- running a case


@dataclass
class Verdict:
    case: Case
    ok: bool
    outcome: str  # the release's outcome (after resolution), "none" or "error"
    devices: dict[str, str] = field(default_factory=dict)  # host -> old | new | both | neither
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    note: str = ""
    seed: int = 0


class Injector:
    """Progress callback that fires the case's fault when its trigger step starts."""

    def __init__(self, lab: Lab, case: Case, fire: Callable[[], None]) -> None:
        self.lab, self.case, self.fire = lab, case, fire
        self.fired = False
        self.lock = threading.Lock()

    def __call__(self, event: Any) -> None:
        case = self.case
        if event.step != case.trigger or event.status != "start":
            return
        if case.trigger != "verify" and event.host not in (case.host, None):
            return
        with self.lock:
            if self.fired:
                return
            self.fired = True
        self.fire()


def _fire(lab: Lab, case: Case) -> Callable[[], None]:
    host = case.host
    if case.fault == "drop":
        return lambda: lab.fault(host, drop_at_pattern=case.pattern)
    if case.fault == "trap":
        return lambda: lab.fault(
            host, trap_pattern=case.pattern, trap_message="failure: injected by the fault campaign"
        )
    if case.fault == "drop-random":
        return lambda: lab.fault(host, drop_after_commands=int(case.value))
    if case.fault == "stall":
        seconds = lab.revert_in if case.value < 0 else case.value
        return lambda: lab.fault(host, stall_seconds=seconds)
    if case.fault == "disk-full":
        return lambda: lab.fault(host, disk_full=True)
    if case.fault == "verify-fail":
        return lambda: lab.fault(host, link_down=[case.pattern])
    if case.fault == "revert-drop":
        return lambda: lab.fault(host, drop_after_commands=int(case.value))
    if case.fault == "reboot":

        def later() -> None:
            def go() -> None:
                with contextlib.suppress(Exception):
                    lab.fault(host, reboot=True)

            timer = threading.Timer(case.value, go)
            timer.daemon = True
            timer.start()

        return later
    raise ValueError(case.fault)


def _run_in_process(lab: Lab, case: Case) -> str:
    fired_at: list[int] = []
    armed = _fire(lab, case)

    def fire() -> None:
        if case.fault in ("drop", "trap"):
            fired_at.append(len(lab.command_log(case.host)))
        armed()

    injector = Injector(lab, case, fire)
    if case.trigger == "before":
        injector.fired = True
        fire()
    if case.fault == "revert-drop":  # the verification of a RouterOS device fails
        lab.fault(case.pattern, trap_pattern="/interface/print*")
    try:
        report = lab.deploy(case.village, case.target, progress=injector)
        note = str(report.outcome)
    except Exception as exc:  # refused before any change: the store has no release
        note = f"raised {type(exc).__name__}: {str(exc)[:160]}"
    if not injector.fired:
        note += " (fault never armed)"
    elif fired_at and not _hit(lab.command_log(case.host), fired_at[0], case.pattern):
        note += " (no command matched the fault)"
    return note


def _hit(log: list[str], start: int, pattern: str) -> bool:
    """A command logged since ``start`` matches ``pattern`` (as the lab matches it: the
    command or the whole sentence)."""
    import fnmatch

    fresh = log[start:] if len(log) >= start else log
    return any(
        fnmatch.fnmatchcase(entry, pattern) or fnmatch.fnmatchcase(entry.split(" ", 1)[0], pattern)
        for entry in fresh
    )


_LINE = re.compile(r"^\d\d:\d\d:\d\d (?P<step>.{13}) (?P<host>\S+)\s+(?P<status>\S+)")


def _run_killed(lab: Lab, case: Case) -> str:
    """The CLI deploy as a subprocess, SIGKILLed at the case's progress line."""
    command = [
        sys.executable,
        "-m",
        "kopnet_iac.cli.main",
        "--inventory",
        str(lab.inventories[case.target]),
        "deploy",
        case.village,
        "--lab",
        "--yes",
        "--json",
        "--revert-in",
        str(lab.revert_in),
        "--settle",
        str(lab.settle),
    ]
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=lab.env(), cwd=REPO
    )
    assert proc.stderr is not None
    seen, killed = 0, ""
    for line in proc.stderr:
        match = _LINE.match(line)
        if not match:
            continue
        step, status = match["step"].strip(), match["status"]
        if step == case.trigger and status == case.pattern:
            seen += 1
            if seen == case.occurrence:
                proc.send_signal(signal.SIGKILL)
                killed = f"killed at {step} {status} #{seen} ({match['host']})"
                break
    proc.wait(timeout=600)
    with contextlib.suppress(Exception):
        proc.stderr.close()
    if proc.stdout is not None:
        proc.stdout.close()
    return killed or f"not reached: ended {proc.returncode}"


def _resolve(lab: Lab, case: Case) -> str:
    """The next command after a release left in doubt: ``kopnet recover`` if this build has
    it, else the next deploy (a dry run: it must not change the devices)."""
    from kopnet_iac.cli.main import cli

    lab.break_stale_lock(case.village)
    if "recover" in getattr(cli, "commands", {}):
        done = lab.kopnet("recover", case.village, "--lab", variant=case.target)
        return f"kopnet recover: exit {done.returncode}"
    with contextlib.suppress(Exception):
        lab.deploy(case.village, case.target, dry_run=True)
    return "next deploy (dry run; no recover command in this build)"


def _at_new(lab: Lab, case: Case, after: dict[str, dict[str, Any]]) -> dict[str, bool | None]:
    """Per device: does it run the new intent? The drivers' compare_config (a dry run) the
    first time; then the running configs found converged then, compared after normalisation
    (RouterOS: the engine's semantic equivalence, airOS: system.cfg keys)."""
    from kopnet_iac.deploy.intent import same_configuration

    reference = lab.references.get((case.village, case.target))
    if reference is None:
        return lab.at_new(case.village, case.target)
    platforms = {d.hostname: d.platform for d in lab.devices[case.village]}
    out: dict[str, bool | None] = {}
    for host, seen in after.items():
        running = seen["running"]
        out[host] = (
            None
            if running is None
            else same_configuration(platforms[host], reference[host], running)
        )
    return out


def _difference(before: str | None, seen: dict[str, Any]) -> str:
    """The first lines that differ between two running configs (secrets are placeholders in
    the lab's fake values only)."""
    import difflib

    if before is None or seen["running"] is None:
        return f"unreadable: {seen['error']}"
    lines = [
        line
        for line in difflib.unified_diff(
            before.splitlines(), str(seen["running"]).splitlines(), lineterm="", n=0
        )
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    return f"{len(lines)} line(s) differ: " + " | ".join(line[:120] for line in lines[:6])


def classify(platform: str, before: str | None, after: str | None, new: bool | None) -> str:
    from kopnet_iac.deploy.intent import same_configuration

    if after is None or before is None or new is None:
        return "unreadable"
    old = same_configuration(platform, before, after)
    return "both" if old and new else "old" if old else "new" if new else "neither"


def run_case(lab: Lab, case: Case) -> Verdict:
    from kopnet_iac.state import ReleaseStore

    started = time.monotonic()
    village = case.village
    try:
        lab.ensure(village, case.source)
    except Exception as exc:
        lab.current.pop(village, None)
        return Verdict(case, False, "error", problems=[f"setup: {exc}"])
    platforms = {d.hostname: d.platform for d in lab.devices[village]}
    before = {h: v["running"] for h, v in lab.observe(village).items()}
    if lab.current.get(village) == case.source and all(before.values()):
        lab.references.setdefault((village, case.source), {h: str(v) for h, v in before.items()})
    store = ReleaseStore.open(lab.state_dir)
    known = {r.id for r in store.releases(village)}
    lab.current.pop(village, None)
    try:
        note = _run_killed(lab, case) if case.fault == "sigkill" else _run_in_process(lab, case)
    finally:
        lab.clear(village)
    after = lab.settle_devices(village, lab.revert_in + 30)
    releases = [r for r in store.releases(village) if r.id not in known]
    if any(r.finished is None or r.outcome == "in-doubt" for r in releases):
        note += "; in doubt -> " + _resolve(lab, case)
        releases = [r for r in store.releases(village) if r.id not in known]
    new = _at_new(lab, case, after)
    verdict = Verdict(case, True, "none", note=note)
    for host, seen in after.items():
        verdict.devices[host] = classify(
            platforms[host], before.get(host), seen["running"], new.get(host)
        )
        if seen["pending"] is not False:
            verdict.problems.append(f"{host}: a revert is still pending (or unknown)")
    if all(new.get(h) for h in after) and (village, case.target) not in lab.references:
        lab.references[(village, case.target)] = {h: str(v["running"]) for h, v in after.items()}
    states = set(verdict.devices.values())
    bad = {h: s for h, s in verdict.devices.items() if s in ("neither", "unreadable")}
    if bad:
        verdict.problems.append(f"devices neither old nor new: {bad}")
        for host in bad:
            verdict.problems.append(f"{host} vs old: {_difference(before.get(host), after[host])}")
    deploys = [r for r in releases if r.operator == "faults" or case.fault == "sigkill"]
    deploys = [r for r in deploys if r.kind == "deploy"]
    if len(deploys) > 1:
        deploys = deploys[-1:]  # the case's own (newest first); later ones are dry runs
    if deploys:
        release = deploys[0]
        verdict.outcome = str(release.outcome or "in-doubt")
        verdict.problems += _store_problems(release, verdict.devices)
    elif states - {"old", "both"}:
        verdict.problems.append(f"no release recorded but devices changed: {verdict.devices}")
    if states <= {"new", "both"} and "new" in states:
        lab.current[village] = case.target
    elif states <= {"old", "both"}:
        lab.current[village] = case.source
    store.close()
    verdict.ok = not verdict.problems
    verdict.seconds = time.monotonic() - started
    return verdict


def _store_problems(release: Any, devices: dict[str, str]) -> list[str]:
    outcome = release.outcome
    states = set(devices.values())
    if release.finished is None or outcome in (None, "in-doubt"):
        return [f"release {release.id} left in doubt after the next command"]
    if outcome == "confirmed":
        return [] if states <= {"new", "both"} else [f"confirmed but devices: {devices}"]
    if outcome in ("reverted", "failed"):
        if states <= {"old", "both"}:
            return []
        recorded = {d["hostname"]: d.get("outcome") for d in release.devices}
        wrong = {
            h: (s, recorded.get(h))
            for h, s in devices.items()
            if (s == "new") != (recorded.get(h) == "confirmed")
        }
        if outcome == "failed" and not wrong:
            return []
        return [f"release {outcome} but devices (state, recorded): {wrong or devices}"]
    return [f"release outcome {outcome!r} with devices {devices}"]


# --------------------------------------------------------------------------- campaign


@contextlib.contextmanager
def running_lab(
    villages: tuple[str, ...], revert_in: int, settle: float, keep: Path | None = None
) -> Iterator[Lab]:
    root = keep or Path(tempfile.mkdtemp(prefix="kopnet-faults-"))
    root.mkdir(parents=True, exist_ok=True)
    lab = Lab(root, make_inventories(root), villages, revert_in=revert_in, settle=settle)
    try:
        lab.up()
        yield lab
    finally:
        lab.down()
        if keep is None:
            shutil.rmtree(root, ignore_errors=True)


def verdict_json(verdict: Verdict) -> dict[str, Any]:
    return {
        "case": verdict.case.__dict__,
        "ok": verdict.ok,
        "outcome": verdict.outcome,
        "devices": verdict.devices,
        "problems": verdict.problems,
        "note": verdict.note,
        "seconds": round(verdict.seconds, 2),
        "seed": verdict.seed,
    }


def run_campaign(
    lab: Lab,
    seed: int,
    indices: list[int],
    log: Callable[[str], None] = lambda s: None,
    journal: Path | None = None,
) -> list[Verdict]:
    """Run the cases; one worker per village (each village's cases in order)."""
    cases = [make_case(seed, i, lab.devices, lab.changed) for i in indices]
    per_village: dict[str, list[Case]] = defaultdict(list)
    for case in cases:
        per_village[case.village].append(case)
    verdicts: list[Verdict] = []
    lock = threading.Lock()

    def worker(village_cases: list[Case]) -> None:
        for case in village_cases:
            try:
                verdict = run_case(lab, case)
            except Exception as exc:
                lab.current.pop(case.village, None)
                verdict = Verdict(case, False, "error", problems=[f"{type(exc).__name__}: {exc}"])
            verdict.seed = seed
            with lock:
                verdicts.append(verdict)
                if journal is not None:
                    with journal.open("a") as out:
                        out.write(json.dumps(verdict_json(verdict)) + "\n")
                mark = "ok  " if verdict.ok else "FAIL"
                log(
                    f"{mark} {case.describe()} -> {verdict.outcome} ({verdict.note}) "
                    f"{verdict.seconds:.1f}s {'; '.join(verdict.problems)}"
                )

    threads = [threading.Thread(target=worker, args=(c,)) for c in per_village.values()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(verdicts, key=lambda v: v.case.index)


def table(verdicts: list[Verdict], seed: int) -> str:
    rows: dict[tuple[str, str], list[Verdict]] = defaultdict(list)
    for verdict in verdicts:
        rows[(verdict.case.fault, verdict.case.step)].append(verdict)
    lines = [f"{'fault':<12} {'step':<16} {'cases':>5} {'pass':>5} {'hit':>5}  outcomes"]
    for (fault, step), group in sorted(rows.items()):
        outcomes = Counter(v.outcome for v in group)
        text = ", ".join(f"{k} {n}" for k, n in sorted(outcomes.items()))
        passed = sum(v.ok for v in group)
        hit = sum("never armed" not in v.note and "no command matched" not in v.note for v in group)
        lines.append(f"{fault:<12} {step:<16} {len(group):>5} {passed:>5} {hit:>5}  {text}")
    total, passed = len(verdicts), sum(v.ok for v in verdicts)
    hits = sum("never armed" not in v.note and "no command matched" not in v.note for v in verdicts)
    lines.append(
        "hit: the fault reached the device (its trigger step ran; a drop or trap matched a "
        "command); the rest are counted as passes of the deploy without that fault"
    )
    lines.append(
        f"{'total':<12} {'':<16} {total:>5} {passed:>5} {hits:>5}  "
        f"({100.0 * passed / max(total, 1):.1f}% passed)"
    )
    failing = [v for v in verdicts if not v.ok]
    if failing:
        lines.append(
            f"failing cases (replay one: python benchmarks/faults.py --seed {seed} --replay N):"
        )
        for verdict in failing:
            lines.append(f"  {verdict.case.describe()}: {'; '.join(verdict.problems)}")
    return "\n".join(lines)


def print_saved(paths: list[Path], seed: int) -> int:
    """The table of verdicts saved with ``--json`` (several runs of one seed combined)."""
    verdicts = []
    for path in paths:
        for line in path.read_text().splitlines():
            row = json.loads(line)
            seed = int(row.get("seed", seed))
            verdicts.append(
                Verdict(
                    Case(**row["case"]),
                    row["ok"],
                    row["outcome"],
                    row["devices"],
                    row["problems"],
                    row["seconds"],
                    row["note"],
                )
            )
    print(table(sorted(verdicts, key=lambda v: v.case.index), seed))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--replay", type=int, action="append", metavar="CASE")
    parser.add_argument("--villages", nargs="+", default=list(VILLAGES))
    parser.add_argument("--revert-in", type=int, default=30)
    parser.add_argument("--settle", type=float, default=6.0)
    parser.add_argument("--keep", type=Path, help="Keep the lab, state and inventories here.")
    parser.add_argument("--first", type=int, default=0, help="Number of the first case.")
    parser.add_argument("--json", type=Path, help="Append each verdict to this JSON-lines file.")
    parser.add_argument(
        "--table-from", type=Path, nargs="+", help="Only print the table of these JSON lines."
    )
    parser.add_argument("--quiet", action="store_true", help="No line per case.")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.CRITICAL)  # a case's expected failures are in its verdict
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(10**6)
    if args.table_from:
        return print_saved(args.table_from, seed)
    indices = args.replay or list(range(args.first, args.first + args.cases))
    print(
        f"fault campaign: seed {seed}, {len(indices)} case(s), villages "
        f"{', '.join(args.villages)}, revert_in {args.revert_in} s",
        flush=True,
    )
    print(
        "devices: the lab's emulated RouterOS/airOS devices only (no gateway namespaces: its "
        "Ansible run would make every case several times slower)",
        flush=True,
    )
    started = time.monotonic()
    log = (lambda s: None) if args.quiet else (lambda s: print(s, flush=True))
    with running_lab(tuple(args.villages), args.revert_in, args.settle, args.keep) as lab:
        verdicts = run_campaign(lab, seed, indices, log, args.json)
    print()
    print(table(verdicts, seed))
    print(f"wall time {time.monotonic() - started:.0f} s; seed {seed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
