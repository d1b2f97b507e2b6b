"""``templates/manifest.yaml``: which templates render which files for a (platform, role).

Format::

    <platform>:                      # routeros | airos | linux
      <role>:                        # core-router | backhaul-radio | sector-radio | gateway
        - template: routeros/core-router/core.rsc.j2   # relative to templates/
          suffix: .rsc                                  # file = <hostname><suffix>
          postprocess: [sort-lines]                     # optional, see POSTPROCESSORS

A device whose (platform, role) has no entry renders nothing (logged), so a platform whose
templates are not written yet does not block the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kopnet_iac.errors import RenderError

POSTPROCESSORS = ("sort-lines",)


@dataclass(frozen=True)
class OutputSpec:
    """One file a device renders: template path (relative to templates/) and file suffix."""

    template: str
    suffix: str
    postprocess: tuple[str, ...] = ()


@dataclass(frozen=True)
class Manifest:
    """(platform, role) -> output files."""

    entries: dict[tuple[str, str], tuple[OutputSpec, ...]]

    def outputs(self, platform: str, role: str) -> tuple[OutputSpec, ...]:
        return self.entries.get((platform, role), ())

    def templates(self) -> list[str]:
        return sorted({spec.template for specs in self.entries.values() for spec in specs})


def _spec(raw: Any, where: str) -> OutputSpec:
    if not isinstance(raw, dict) or not isinstance(raw.get("template"), str):
        raise RenderError(f"{where}: expected a mapping with 'template' and 'suffix'")
    suffix = raw.get("suffix")
    if not isinstance(suffix, str) or not suffix.startswith("."):
        raise RenderError(f"{where}: 'suffix' must be a string starting with '.'")
    post = raw.get("postprocess", [])
    if not isinstance(post, list) or any(p not in POSTPROCESSORS for p in post):
        raise RenderError(f"{where}: 'postprocess' must be a list of {', '.join(POSTPROCESSORS)}")
    unknown = set(raw) - {"template", "suffix", "postprocess"}
    if unknown:
        raise RenderError(f"{where}: unknown keys {sorted(unknown)}")
    return OutputSpec(template=raw["template"], suffix=suffix, postprocess=tuple(post))


def load_manifest(templates_dir: Path) -> Manifest:
    """Read and check ``manifest.yaml`` of a templates folder."""
    path = templates_dir / "manifest.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RenderError(f"cannot read {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise RenderError(f"{path}: invalid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise RenderError(f"{path}: expected a mapping platform -> role -> outputs")
    entries: dict[tuple[str, str], tuple[OutputSpec, ...]] = {}
    for platform, roles in data.items():
        if not isinstance(roles, dict):
            raise RenderError(f"{path}: {platform}: expected a mapping role -> outputs")
        for role, specs in roles.items():
            if not isinstance(specs, list):
                raise RenderError(f"{path}: {platform}.{role}: expected a list of outputs")
            entries[(str(platform), str(role))] = tuple(
                _spec(raw, f"{path}: {platform}.{role}[{i}]") for i, raw in enumerate(specs)
            )
    return Manifest(entries=entries)
