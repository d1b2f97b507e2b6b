"""Linux gateways in backups and drift: their managed files read over SSH, masked, compared.

A gateway is read with ONE SSH session and one exec: a shell script (fed on stdin) prints
every managed file of the gateway role (:func:`kopnet_iac.platforms.linux.transaction.
managed_paths`) on one line, ``<token> <name> present <base64>`` or ``<token> <name> absent``,
so no file content can be mistaken for a delimiter.

Secrets never leave this module in clear: every text read is masked (:func:`mask_text`) with

- the values of the fleet's secrets that resolve here (replaced by their ``@@secret:NAME@@``
  placeholder), and
- the placeholder positions of the intended file: a running line that matches an intended
  line with its placeholders as wildcards gets the placeholders back, so a secret changed by
  hand to a value nobody knows is masked too.

Pure parts (script, parsing, masking, paths, comparison) are separate from the I/O
(:func:`read_gateway`).
"""

from __future__ import annotations

import base64
import binascii
import difflib
import logging
import re
import secrets as _random
import shlex
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kopnet_iac.errors import KopnetError
from kopnet_iac.inventory.secrets import PLACEHOLDER_RE

if TYPE_CHECKING:
    from kopnet_iac.fleet.reading import DeviceProgress, FleetDevice
    from kopnet_iac.inventory.loader import Inventory
    from kopnet_iac.platforms.linux.sshrun import SshTarget

log = logging.getLogger(__name__)

#: a managed file that is not on the gateway
ABSENT = None
#: literal characters a line needs around its placeholders to be used as a masking pattern
MIN_LITERAL = 3


class GatewayReadError(KopnetError):
    """A gateway answered but its files could not be read (the reason is given)."""


# --------------------------------------------------------------------------- reading (pure)


def read_script(paths: Mapping[str, str], token: str) -> str:
    """The script printing every file of ``paths`` (name -> path) on one line each."""
    lines = ["set -u"]
    for name, path in sorted(paths.items()):
        q, n = shlex.quote(path), shlex.quote(name)
        lines.append(
            f"if [ -f {q} ]; then printf '%s %s present ' {token} {n}; "
            f"base64 < {q} | tr -d '\\n'; echo; "
            f"else printf '%s %s absent\\n' {token} {n}; fi"
        )
    return "\n".join(lines) + "\n"


def parse_read(output: str, token: str, names: list[str]) -> dict[str, str | None]:
    """name -> text (None: absent) from the script's output; GatewayReadError when a file is
    missing from it or cannot be decoded."""
    found: dict[str, str | None] = {}
    for line in output.splitlines():
        parts = line.split(" ")
        if len(parts) < 3 or parts[0] != token:
            continue
        name, state = parts[1], parts[2]
        if state == "absent":
            found[name] = ABSENT
            continue
        try:
            raw = base64.b64decode(parts[3] if len(parts) > 3 else "", validate=True)
            found[name] = raw.decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise GatewayReadError(f"{name}: not readable as UTF-8 text ({exc})") from exc
    missing = [n for n in names if n not in found]
    if missing:
        raise GatewayReadError(f"the gateway did not print {', '.join(missing)}")
    return found


# --------------------------------------------------------------------------- masking (pure)


def _line_pattern(line: str) -> tuple[re.Pattern[str], list[str]] | None:
    names = PLACEHOLDER_RE.findall(line)
    if not names:
        return None
    pieces = PLACEHOLDER_RE.split(line)  # literal, name, literal, name, ..., literal
    if len("".join(pieces[0::2]).strip()) < MIN_LITERAL:
        return None  # a line that is (nearly) only a secret would match any line
    literal = [re.escape(p) for p in pieces[0::2]]
    return re.compile("(.+?)".join(literal)), names


def mask_text(text: str, values: Mapping[str, str], intended: str | None = None) -> str:
    """``text`` with every known secret value replaced by its placeholder, and the parts of
    lines matching a placeholder position of ``intended`` replaced too.

    >>> mask_text('password "s3cr3t";', {"isp-bgp": "s3cr3t"})
    'password "@@secret:isp-bgp@@";'
    >>> mask_text('password "guess";', {}, 'password "@@secret:isp-bgp@@";')
    'password "@@secret:isp-bgp@@";'
    """
    for name, value in sorted(values.items(), key=lambda p: -len(p[1])):
        if len(value) >= 3:
            text = text.replace(value, f"@@secret:{name}@@")
    if not intended:
        return text
    patterns = [p for p in map(_line_pattern, intended.splitlines()) if p is not None]
    if not patterns:
        return text
    out = []
    for line in text.split("\n"):
        for pattern, names in patterns:
            match = pattern.fullmatch(line)
            if match is None:
                continue
            rebuilt, last = [], 0
            for index, name in enumerate(names, start=1):
                rebuilt.append(line[last : match.start(index)])
                rebuilt.append(f"@@secret:{name}@@")
                last = match.end(index)
            rebuilt.append(line[last:])
            line = "".join(rebuilt)
            break
        out.append(line)
    return "\n".join(out)


# --------------------------------------------------------------------------- paths (pure)


def split_paths(paths: Mapping[str, str], backend: str) -> tuple[dict[str, str], list[str]]:
    """``(render name -> path on the gateway for ``backend``, paths that must be absent)``:
    the network files of other backends are removed by the role."""
    wanted: dict[str, str] = {}
    other: list[str] = []
    for name, path in paths.items():
        kind, sep, rest = name.partition(":")
        if not sep:
            wanted[name] = path
        elif kind == backend:
            wanted[rest] = path
        else:
            other.append(path)
    return wanted, [p for p in other if p not in wanted.values()]


def backup_files(village: str, hostname: str, files: Mapping[str, str | None]) -> dict[str, str]:
    """Relative backup path -> text for every present file (``path -> text``)."""
    return {
        f"{village}/{hostname}/{path.lstrip('/')}": text
        for path, text in sorted(files.items())
        if text is not None
    }


# --------------------------------------------------------------------------- compare (pure)


@dataclass(frozen=True)
class FileDrift:
    path: str
    diff: str


def compare_files(
    running: Mapping[str, str | None], intended: Mapping[str, str | None], release: str = ""
) -> list[FileDrift]:
    """Per path that differs, the unified diff from the running file to the intended one
    (what restoring the release would do). Both sides must already be masked."""
    label = f"release {release}" if release else "intended"
    out = []
    for path in sorted(set(running) | set(intended)):
        have, want = running.get(path), intended.get(path)
        if have == want:
            continue
        diff = "".join(
            difflib.unified_diff(
                (have or "").splitlines(keepends=True),
                (want or "").splitlines(keepends=True),
                fromfile=f"{path} (running{'' if have is not None else ', absent'})",
                tofile=f"{path} ({label}{'' if want is not None else ', absent'})",
            )
        )
        if not diff.endswith("\n"):
            diff += "\n"
        out.append(FileDrift(path, diff))
    return out


def intended_by_path(
    files: Mapping[str, str], paths: Mapping[str, str], backend: str
) -> dict[str, str | None]:
    """path -> intended text (None: must be absent) from the rendered ``name -> text``."""
    wanted, absent = split_paths(paths, backend)
    out: dict[str, str | None] = {p: None for p in absent}
    for name, path in wanted.items():
        out[path] = files.get(name)
    return out


# --------------------------------------------------------------------------- I/O


@dataclass
class GatewayRead:
    """A gateway's managed files as read (path -> text, None: absent), masked."""

    files: dict[str, str | None]


def read_gateway(
    target: SshTarget,
    village: str,
    *,
    values: Mapping[str, str],
    intended: Mapping[str, str | None] | None = None,
) -> GatewayRead:
    """Read every managed file of ``village``'s gateway (one SSH session, one exec) and mask
    it. ConnectError when it cannot be reached; GatewayReadError when the read failed."""
    from kopnet_iac.platforms.linux.sshrun import connect
    from kopnet_iac.platforms.linux.transaction import managed_paths

    paths = managed_paths()
    token = f"KOPNET-{_random.token_hex(8)}"
    command = "sh -s" if target.username == "root" else "sudo -n sh -s"
    with connect(target) as session:
        result = session.run(command, stdin=read_script(paths, token))
    if result.exit_status != 0:
        reason = (result.stderr.strip() or result.stdout.strip())[-300:]
        raise GatewayReadError(
            f"read script failed (exit {result.exit_status}): {mask_text(reason, values)}",
            village=village,
            host=target.label,
            step="read",
        )
    try:
        by_name = parse_read(result.stdout, token, list(paths))
    except GatewayReadError as exc:
        raise GatewayReadError(
            exc.message, village=village, host=target.label, step="read"
        ) from exc
    files: dict[str, str | None] = {}
    for name, path in paths.items():
        text = by_name[name]
        want = (intended or {}).get(path)
        files[path] = None if text is None else mask_text(text, values, want)
    log.info("%s/%s: %d managed file(s) read", village, target.label, len(files))
    return GatewayRead(files)


GATEWAY_PLATFORM = "linux"


@dataclass
class GatewayOutcome:
    """One gateway read in a fleet run. ``status``: ok | unreachable | failed | skipped (not
    running in the lab)."""

    status: str
    files: dict[str, str | None] = field(default_factory=dict)
    error: str = ""


def read_gateways(
    inv: Inventory,
    devices: Sequence[FleetDevice],
    lab_dir: Path | None,
    progress: DeviceProgress | None = None,
    workers: int = 32,
    *,
    intended: Mapping[str, Mapping[str, str | None]] | None = None,
) -> dict[str, GatewayOutcome]:
    """Read the gateways of ``devices`` in parallel (hostname -> outcome). ``intended``: per
    hostname, path -> intended text (for the placeholder positions); by default the files
    rendered from the inventory."""
    from kopnet_iac.errors import ConnectError

    chosen = [d for d in devices if d.platform == GATEWAY_PLATFORM]
    if not chosen:
        return {}
    values = gateway_values(inv)

    def one(device: FleetDevice) -> GatewayOutcome:
        from kopnet_iac.platforms.linux.apply import ssh_target
        from kopnet_iac.platforms.linux.gateway import connection

        try:
            conn = connection(inv, device.village, lab_dir)
        except ConnectError:
            if lab_dir is None:
                raise
            return GatewayOutcome("skipped", error="not running in the lab")
        try:
            want = (intended or {}).get(device.hostname)
            if want is None:
                want = rendered_by_path(inv, device.village, device.hostname)
            target = ssh_target(inv, conn)
            read = read_gateway(target, device.village, values=values, intended=want)
            outcome = GatewayOutcome("ok", read.files)
        except ConnectError as exc:
            outcome = GatewayOutcome("unreachable", error=mask_text(exc.message, values))
        except KopnetError as exc:
            outcome = GatewayOutcome("failed", error=mask_text(exc.message, values))
        if progress is not None:
            progress(device.hostname, outcome.status == "ok")
        return outcome

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(chosen)))) as pool:
        results = list(pool.map(one, chosen))
    return {d.hostname: r for d, r in zip(chosen, results, strict=True)}


def rendered_by_path(inv: Inventory, village: str, hostname: str) -> dict[str, str | None]:
    """path -> text of the gateway's files rendered from the inventory now (placeholders in
    place); empty when they cannot be rendered (masking then uses the values only)."""
    from kopnet_iac.platforms.linux.files import rendered_files
    from kopnet_iac.platforms.linux.transaction import managed_paths

    try:
        files = rendered_files(inv, village, hostname)
        return intended_by_path(files, managed_paths(), network_backend(inv, village))
    except KopnetError as exc:
        log.info("%s/%s: not rendered for masking: %s", village, hostname, exc.message)
        return {}


def gateway_values(inv: Inventory) -> dict[str, str]:
    """name -> value of every declared secret that resolves here (to mask them)."""
    from kopnet_iac.platforms.linux.apply import known_secrets

    return known_secrets(inv)


def network_backend(inv: Inventory, village: str) -> str:
    from kopnet_iac.platforms.linux.gateway import gateway_device

    device = gateway_device(inv, village)
    return str(inv.hardware_of(device).network_backend)


__all__ = [
    "GATEWAY_PLATFORM",
    "FileDrift",
    "GatewayOutcome",
    "GatewayRead",
    "GatewayReadError",
    "backup_files",
    "compare_files",
    "gateway_values",
    "intended_by_path",
    "mask_text",
    "network_backend",
    "parse_read",
    "read_gateway",
    "read_gateways",
    "read_script",
    "rendered_by_path",
    "split_paths",
]
