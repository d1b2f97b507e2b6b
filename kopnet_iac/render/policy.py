"""Policy lint over rendered artifacts, with each village's own networks.

RouterOS files go through the RouterOS rules with the fleet's NOC networks plus the village's
management network as the management sources (what the templates allow), airOS files through the
airOS rules. A finding names the artifact path and the line, as ``kopnet render --lint`` prints.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kopnet_iac.inventory.addressing import village_addressing
from kopnet_iac.inventory.loader import Inventory
from kopnet_iac.platforms.airos.lint import lint_airos
from kopnet_iac.platforms.routeros.lint import lint
from kopnet_iac.platforms.routeros.parser import parse_export
from kopnet_iac.render.renderer import Artifact


@dataclass(frozen=True)
class PolicyFinding:
    path: str  # <village>/<hostname><suffix>
    line: int
    rule: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.rule}: {self.where}: {self.message}"


def village_networks(inv: Inventory, village_id: str) -> tuple[list[str], list[str]]:
    """(management sources, NOC networks) a village's rendered configs must keep to."""
    addr = village_addressing(inv, village_id)
    noc = list(inv.fleet.noc.networks)
    return [*noc, str(addr.management)], noc


def lint_artifacts(inv: Inventory, artifacts: Iterable[Artifact]) -> list[PolicyFinding]:
    """Every policy finding of the RouterOS and airOS artifacts (others are not linted)."""
    found: list[PolicyFinding] = []
    networks: dict[str, tuple[list[str], list[str]]] = {}
    for a in artifacts:
        if a.platform == "routeros":
            if a.village not in networks:
                networks[a.village] = village_networks(inv, a.village)
            mgmt, noc = networks[a.village]
            config = parse_export(a.text, a.path)
            for f in lint(config, mgmt_networks=mgmt, noc_networks=noc, text=a.text):
                where = f"{f.path} {f.entry}".strip()
                found.append(PolicyFinding(a.path, f.line, f.rule, where, f.message))
        elif a.platform == "airos":
            for g in lint_airos(a.text):
                found.append(PolicyFinding(a.path, g.line, g.rule, g.key, g.message))
    return found
