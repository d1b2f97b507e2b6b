"""Test helpers: bring a lab gateway to a *configured* state without Ansible.

Renders the gateway files with KopNet's renderer (the same templates as ``kopnet render``), copies
them over SSH to where the gateway role puts them and starts the daemons directly, the way the
role's ``lab`` service manager does. Tests of the checks use this so they run against real BIRD,
nftables and unbound.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kopnet_iac.inventory.loader import Inventory
from kopnet_iac.platforms.linux.checks import CheckResult, GatewayCheckContext, run_gateway_checks
from kopnet_iac.platforms.linux.sshrun import SshTarget, connect
from kopnet_iac.render.renderer import render_device

PATHS = {
    "sysctl.conf": "/etc/sysctl.d/90-kopnet.conf",
    "bird.conf": "/etc/bird/bird.conf",
    "nftables.conf": "/etc/nftables.conf",
    "unbound.conf": "/etc/unbound/unbound.conf",
    "cgnat-blocks": "/etc/kopnet/cgnat-blocks",
}

START = """\
set -e
sysctl -q -p /etc/sysctl.d/90-kopnet.conf
nft -f /etc/nftables.conf
mkdir -p /run/bird
if birdc -s /run/bird/bird.ctl show status >/dev/null 2>&1; then
  birdc -s /run/bird/bird.ctl configure >/dev/null
else
  bird -c /etc/bird/bird.conf -s /run/bird/bird.ctl -P /run/bird/bird.pid
fi
pid=$(cat /run/unbound.pid 2>/dev/null || true)
if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -HUP "$pid"; else unbound -c /etc/unbound/unbound.conf; fi
# what the role's kopnet-cgnat-log does: the block table to the NOC syslog, and its record
grep -v '^#' /etc/kopnet/cgnat-blocks | logger --rfc5424 -t kopnet-cgnat -T -n "$NOC_SYSLOG" -P 514
mkdir -p /var/lib/kopnet
sum=$(sha256sum /etc/kopnet/cgnat-blocks | cut -d' ' -f1)
echo "logged=$(date +%s) syslog=$NOC_SYSLOG blocks=$(grep -vc '^#' /etc/kopnet/cgnat-blocks) sha256=$sum" > /var/lib/kopnet/cgnat-logged
"""


def target_of(info: dict[str, Any]) -> SshTarget:
    """SSH target of a lab gateway from :func:`gateway_netns.up`'s connection info."""
    return SshTarget(
        host=str(info["host"]),
        port=int(info["ssh_port"]),
        username=str(info["username"]),
        password=str(info["password"]),
        key_file=str(info["key_file"]),
        hostname=str(info["hostname"]),
        village=str(info["village"]),
        connect_timeout=5.0,
    )


def rendered_files(inv: Inventory, village: str, hostname: str) -> dict[str, str]:
    """``bird.conf``/``nftables.conf``/... -> text, rendered from the inventory."""
    files = render_device(inv, village, hostname)
    return {name: files[f"{hostname}.{name}"] for name in PATHS}


def sudo_run(info: dict[str, Any], script: str) -> str:
    """Run a shell script as root on the lab gateway; returns stdout, raises on failure."""
    with connect(target_of(info), attempts=2, backoff=0.5) as session:
        result = session.run("sudo -n sh -s", stdin=script, timeout=60)
    if result.exit_status != 0:
        raise AssertionError(f"gateway script failed ({result.exit_status}): {result.stderr}")
    return result.stdout


def configure(info: dict[str, Any], files: dict[str, str], noc_syslog: str = "10.255.0.14") -> None:
    """Install ``files`` (name -> text, names of :data:`PATHS`) and (re)start the daemons."""
    parts = ["set -e", f"NOC_SYSLOG={shlex.quote(noc_syslog)}"]
    for name, text in files.items():
        path = PATHS[name]
        parts.append(f"mkdir -p {shlex.quote(str(Path(path).parent))}")
        parts.append(f"cat > {shlex.quote(path)} <<'KOPNET_EOF'\n{text}KOPNET_EOF")
    parts.append(START)
    sudo_run(info, "\n".join(parts) + "\n")


def wait_checks(
    info: dict[str, Any],
    ctx: GatewayCheckContext,
    until: Callable[[list[CheckResult]], bool],
    timeout: float = 30.0,
) -> list[CheckResult]:
    """Run the checks until ``until(results)`` holds (BGP needs a moment); returns the last
    results either way so the caller's assertion shows them."""
    deadline = time.monotonic() + timeout
    while True:
        results = run_gateway_checks(target_of(info), ctx, attempts=1)
        if until(results) or time.monotonic() > deadline:
            return results
        time.sleep(0.5)


def by_name(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {r.name: r for r in results}
