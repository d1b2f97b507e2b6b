"""Field-grade checks: radio standards, radio planning on a mast, management reachability.

Split from ``checks`` (same conventions: findings go to a ``Problems`` list with the field path
of the offending value; warnings do not make the inventory invalid).
"""

from __future__ import annotations

from kopnet_iac.inventory.mgmtpath import management_path
from kopnet_iac.inventory.models import HardwareModel, Village
from kopnet_iac.inventory.radioplan import clashes
from kopnet_iac.inventory.yamlpos import Problems, YamlDoc

#: outdoor 5 GHz spectrum allowed in Indonesia (MHz)
BAND_5GHZ = (5725, 5825)


def check_radio_standard(name: str, model: HardwareModel, doc: YamlDoc, out: Problems) -> None:
    """A wireless model states its radio standard (it picks the band / ieee mode rendered)."""
    if model.wireless != "none" and model.radio_standard is None:
        out.add(
            doc,
            ("models", name),
            "a wireless model needs radio_standard (802.11n or 802.11ac): it selects the band "
            "RouterOS renders (5ghz-a/n or 5ghz-a/n/ac) and the airOS ieee_mode",
            "mapping",
        )


def check_radio_plan(village: Village, doc: YamlDoc, out: Problems) -> None:
    """Overlapping channels on one mast: an error with a backhaul, a warning between sectors."""
    for clash in clashes(village, BAND_5GHZ):
        a, b = clash.later, clash.earlier
        where = doc.position(b.loc)
        message = (
            f"{a.host} ({a.role}, {a.frequency} MHz/{a.width}) overlaps {b.host} ({b.role}, "
            f"{b.frequency} MHz/{b.width}) on the same mast (at {where.file}:{where.line}); "
            f"free on this mast: {clash.free}"
        )
        if clash.error:
            out.add(doc, (*a.loc, "frequency"), message)
        else:
            out.warn(doc, (*a.loc, "frequency"), message)


def check_management_reachable(
    village: Village, models: dict[str, HardwareModel], doc: YamlDoc, out: Problems
) -> None:
    """Every device with a management address is reachable over the rendered VLAN path."""
    roles = {d.hostname for d in village.devices if d.role in ("gateway", "core-router")}
    if len(roles) < 2 or any(d.hostname not in models for d in village.devices):
        return  # missing roles or models are reported elsewhere
    ports = {host: model.ports for host, model in models.items()}
    path = management_path(village, ports)
    index = {d.hostname: i for i, d in enumerate(village.devices)}
    for host, reason in path.unreachable.items():
        out.add(
            doc,
            ("devices", index[host], "hostname"),
            f"the management address of {host} is unreachable: {reason}; link it (cable or "
            "radio link) to the core router, to a radio that is, or as a backhaul radio to the "
            "gateway",
        )
