"""The configuration files a gateway gets: rendered by KopNet's renderer, or read from a folder.

The role's lookup plugin calls :func:`gateway_file`, so Ansible and ``kopnet render`` use the
same templates and data. File names are ``<hostname>.<name>`` (``gw-x.bird.conf``); ``name``
is the manifest suffix without its dot.
"""

from __future__ import annotations

from pathlib import Path

from kopnet_iac.errors import RenderError, SecretError
from kopnet_iac.inventory.loader import Inventory
from kopnet_iac.inventory.secrets import (
    SecretResolver,
    placeholder,
    referenced_secrets,
    substitute_secrets,
)
from kopnet_iac.render.context import device_context
from kopnet_iac.render.renderer import Renderer, default_templates_dir

FILE_NAMES = (
    "sysctl.conf",
    "bird.conf",
    "nftables.conf",
    "unbound.conf",
    "chrony.conf",
    "sshd.conf",
    "cgnat-blocks",
    "net-uplink",
    "net-core",
    "net-loopback",
)
NETWORK_FILES = ("net-uplink", "net-core", "net-loopback")
"""The gateway's own interfaces, in the hardware's ``network_backend`` format."""
"""Managed files, in the order the role writes them."""


def rendered_files(inv: Inventory, village_id: str, hostname: str) -> dict[str, str]:
    """name -> text of every gateway file, secret placeholders still in place."""
    renderer = Renderer(default_templates_dir(inv.root))
    context = device_context(inv, village_id, hostname)
    hardware = context["hardware"]
    specs = renderer.manifest.outputs(getattr(hardware, "platform", "linux"), "gateway")
    files = {
        spec.suffix.lstrip("."): renderer.render_one(
            spec, context, village=village_id, host=hostname
        )
        for spec in specs
    }
    missing = [name for name in FILE_NAMES if name not in files]
    if missing:
        raise RenderError(
            f"templates/manifest.yaml renders no {', '.join(missing)} for linux gateways",
            village=village_id,
            host=hostname,
        )
    return files


def push_text(inv: Inventory, text: str) -> str:
    """Substitute secret values (push time only; files without placeholders are untouched)."""
    if not referenced_secrets(text):
        return text
    return substitute_secrets(inv, text, platform="linux")


def secret_values(inv: Inventory, texts: list[str]) -> list[str]:
    """Values of the secrets referenced in ``texts`` (unresolvable ones are left out: pushing
    fails on them anyway, with the reason), longest first."""
    resolver = SecretResolver(inv)
    values = set()
    for name in sorted(set().union(*(referenced_secrets(t) for t in texts))):
        try:
            values.add(resolver.get(name))
        except SecretError:
            continue
    return sorted((v for v in values if v), key=lambda v: (-len(v), v))


def mask_secrets(text: str, values: list[str] | dict[str, str]) -> str:
    """Replace secret values in ``text``: with their placeholder (``{name: value}``, so the text
    can be pushed again) or with ``********`` (a list of values).

    >>> mask_secrets("password s3cr3t;", {"isp-bgp": "s3cr3t"})
    'password @@secret:isp-bgp@@;'
    >>> mask_secrets("password s3cr3t;", ["s3cr3t"])
    'password ********;'
    """
    pairs = (
        [(v, placeholder(k)) for k, v in values.items()]
        if isinstance(values, dict)
        else [(v, "********") for v in values]
    )
    for value, replacement in sorted(pairs, key=lambda p: -len(p[0])):
        if value:
            text = text.replace(value, replacement)
    return text


def source_file(source_dir: Path, hostname: str, name: str) -> Path:
    """Where a snapshot/source folder keeps ``name`` of ``hostname``."""
    return source_dir / f"{hostname}.{name}"


def write_files(files: dict[str, str], directory: Path, hostname: str) -> list[Path]:
    """Write ``name -> text`` as ``<hostname>.<name>`` into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in files.items():
        path = source_file(directory, hostname, name)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
