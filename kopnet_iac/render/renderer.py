"""Render the intended configuration files of villages from the inventory and templates.

Pure: returns artifacts in memory, writes nothing (see ``output`` for the atomic write).
"""

from __future__ import annotations

import gc
import itertools
import logging
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from kopnet_iac import resources
from kopnet_iac.errors import RenderError
from kopnet_iac.inventory.loader import Inventory
from kopnet_iac.render.context import village_contexts
from kopnet_iac.render.environment import make_environment
from kopnet_iac.render.manifest import Manifest, OutputSpec, load_manifest

log = logging.getLogger(__name__)

_KEY = re.compile(r"^([^=\n]*)=", re.MULTILINE)

# Never rendered, whatever a template or an inventory says (Indonesian regulation).
FORBIDDEN = ("no_country_set", "superchannel")


@dataclass(frozen=True)
class Artifact:
    """One rendered file: ``<village>/<hostname><suffix>`` relative to the build folder."""

    village: str
    host: str
    platform: str
    role: str
    path: str
    text: str


def default_templates_dir(inventory_dir: Path) -> Path:
    """``templates/`` beside the inventory folder, else the project's own templates.

    The project's own are the checkout's ``templates/`` when running from one, else the copy
    shipped in the installed package (:func:`kopnet_iac.resources.templates_dir`).
    """
    beside = inventory_dir.resolve().parent / "templates"
    if (beside / "manifest.yaml").is_file():
        return beside
    return resources.templates_dir()


def _template_line(exc: BaseException, templates_dir: Path) -> str | None:
    """``file:line`` of the innermost template frame of a render-time exception."""
    tb = exc.__traceback__
    where: str | None = None
    root = str(templates_dir.resolve())
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith(".j2"):
            try:
                rel = str(Path(filename).resolve().relative_to(root))
            except ValueError:
                rel = filename
            where = f"{rel}:{tb.tb_lineno}"
        tb = tb.tb_next
    return where


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Keep the garbage collector off the (large, long-lived) inventory while rendering.

    Rendering allocates many objects; each full collection would otherwise walk the whole
    loaded inventory again. ``gc.freeze`` parks what exists now; ``unfreeze`` restores it.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


class Renderer:
    """Renders devices with one cached environment and manifest (build once, reuse)."""

    def __init__(self, templates_dir: Path) -> None:
        self.templates_dir = templates_dir
        self.manifest: Manifest = load_manifest(templates_dir)
        self.env = make_environment(templates_dir)
        self._templates: dict[str, jinja2.Template] = {}

    def template(self, name: str, *, village: str, host: str) -> jinja2.Template:
        cached = self._templates.get(name)
        if cached is not None:
            return cached
        try:
            template = self.env.get_template(name)
        except jinja2.TemplateSyntaxError as exc:
            raise RenderError(
                f"{exc.name or name}:{exc.lineno}: template syntax error: {exc.message}",
                village=village,
                host=host,
            ) from exc
        except jinja2.TemplateNotFound as exc:
            raise RenderError(
                f"template not found: {exc.name} (listed in manifest.yaml)",
                village=village,
                host=host,
            ) from exc
        self._templates[name] = template
        return template

    def render_one(
        self, spec: OutputSpec, context: dict[str, Any], *, village: str, host: str
    ) -> str:
        template = self.template(spec.template, village=village, host=host)
        try:
            text = template.render(context)
        except RenderError as exc:
            where = _template_line(exc, self.templates_dir) or spec.template
            raise RenderError(f"{where}: {exc.message}", village=village, host=host) from exc
        except jinja2.TemplateSyntaxError as exc:  # an included/imported template
            raise RenderError(
                f"{exc.name}:{exc.lineno}: template syntax error: {exc.message}",
                village=village,
                host=host,
            ) from exc
        except jinja2.UndefinedError as exc:
            where = _template_line(exc, self.templates_dir) or spec.template
            raise RenderError(f"{where}: {exc.message}", village=village, host=host) from exc
        except Exception as exc:  # template code calling filters on bad data
            where = _template_line(exc, self.templates_dir) or spec.template
            raise RenderError(
                f"{where}: {type(exc).__name__}: {exc}", village=village, host=host
            ) from exc
        return self._postprocess(spec, text, village=village, host=host)

    def _postprocess(self, spec: OutputSpec, text: str, *, village: str, host: str) -> str:
        if "sort-lines" in spec.postprocess:
            lines = sorted(filter(str.strip, text.split("\n")))  # C-level: thousands of files
            text = "\n".join(lines) + "\n"
            keys = _KEY.findall(text)
            if len(keys) != len(lines):
                bad = next(line for line in lines if "=" not in line)
                raise RenderError(
                    f"{spec.template}: not a key=value line: {bad[:60]!r}",
                    village=village,
                    host=host,
                )
            if len(set(keys)) != len(keys):  # sorted: duplicates are neighbours
                dupes = sorted({a for a, b in itertools.pairwise(keys) if a == b})
                raise RenderError(
                    f"{spec.template}: duplicate keys {', '.join(dupes)}",
                    village=village,
                    host=host,
                )
        for word in FORBIDDEN:
            if word in text:
                raise RenderError(
                    f"{spec.template}: rendered output contains forbidden {word!r}",
                    village=village,
                    host=host,
                )
        return text

    def render_village(self, inv: Inventory, village_id: str) -> list[Artifact]:
        """Every file of every device of one village, in device order."""
        contexts = village_contexts(inv, village_id)
        village = inv.village(village_id)
        artifacts: list[Artifact] = []
        for device in village.devices:
            ctx = contexts[device.hostname]
            platform = ctx["hardware"].platform
            specs = self.manifest.outputs(platform, device.role)
            if not specs:
                log.debug(
                    "%s/%s: no templates for %s %s",
                    village_id,
                    device.hostname,
                    platform,
                    device.role,
                )
            for spec in specs:
                text = self.render_one(spec, ctx, village=village_id, host=device.hostname)
                artifacts.append(
                    Artifact(
                        village=village_id,
                        host=device.hostname,
                        platform=platform,
                        role=device.role,
                        path=f"{village_id}/{device.hostname}{spec.suffix}",
                        text=text,
                    )
                )
        return artifacts

    def render_villages(
        self, inv: Inventory, village_ids: Iterable[str], *, freeze_gc: bool = True
    ) -> list[Artifact]:
        """Every file of the given villages, in order (the heap frozen unless told not to)."""
        artifacts: list[Artifact] = []
        if not freeze_gc:
            for village_id in village_ids:
                artifacts.extend(self.render_village(inv, village_id))
            return artifacts
        with frozen_heap():
            for village_id in village_ids:
                artifacts.extend(self.render_village(inv, village_id))
        return artifacts


def render_inventory(
    inv: Inventory, village_ids: Iterable[str] | None = None, templates_dir: Path | None = None
) -> list[Artifact]:
    """Render the given villages (default: all, sorted) of an inventory."""
    renderer = Renderer(templates_dir or default_templates_dir(inv.root))
    ids = sorted(inv.villages) if village_ids is None else list(village_ids)
    return renderer.render_villages(inv, ids)


def render_device(
    inv: Inventory, village_id: str, hostname: str, templates_dir: Path | None = None
) -> dict[str, str]:
    """The files of one device: file name (``<hostname><suffix>``) -> text."""
    renderer = Renderer(templates_dir or default_templates_dir(inv.root))
    return {
        Path(a.path).name: a.text
        for a in renderer.render_village(inv, village_id)
        if a.host == hostname
    }
