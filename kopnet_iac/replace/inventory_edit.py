"""Record a replaced device's serial in its village file: one value changed, nothing else.

The edit is positional: the YAML node of ``devices[i].serial`` gives the exact character span
of the value (libyaml marks), and only that span is rewritten; comments, flow or block style,
quoting of everything else, key order and line endings stay byte for byte. The new value is
written plain when YAML reads it back as the same string, else double-quoted.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from kopnet_iac.errors import KopnetError

_PLAIN_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/+-]*$")


@dataclass(frozen=True)
class SerialEdit:
    """A computed edit of one village file (nothing written yet)."""

    path: Path
    hostname: str
    old: str
    new: str
    before: str
    after: str

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def diff(self) -> str:
        """Unified diff of the file, as a reviewer reads it."""
        return "".join(
            difflib.unified_diff(
                self.before.splitlines(keepends=True),
                self.after.splitlines(keepends=True),
                fromfile=f"a/{self.path.name}",
                tofile=f"b/{self.path.name}",
            )
        )

    def write(self) -> None:
        """Replace the file atomically (same directory, then rename)."""
        tmp = self.path.with_name(f".{self.path.name}.kopnet-tmp")
        tmp.write_bytes(self.after.encode("utf-8"))
        os.replace(tmp, self.path)


def yaml_scalar(value: str) -> str:
    """``value`` as YAML text that reads back as the same string."""
    if _PLAIN_SAFE.match(value):
        try:
            if yaml.safe_load(value) == value:
                return value
        except yaml.YAMLError:
            pass
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _device_serial_node(root: yaml.Node, hostname: str) -> yaml.ScalarNode | None:
    if not isinstance(root, yaml.MappingNode):
        return None
    devices = next(
        (v for k, v in root.value if isinstance(k, yaml.ScalarNode) and k.value == "devices"),
        None,
    )
    if not isinstance(devices, yaml.SequenceNode):
        return None
    for item in devices.value:
        if not isinstance(item, yaml.MappingNode):
            continue
        fields = {k.value: v for k, v in item.value if isinstance(k, yaml.ScalarNode)}
        host = fields.get("hostname")
        if isinstance(host, yaml.ScalarNode) and host.value == hostname:
            serial = fields.get("serial")
            return serial if isinstance(serial, yaml.ScalarNode) else None
    return None


def plan_serial_edit(path: Path, hostname: str, serial: str) -> SerialEdit:
    """The edit setting ``hostname``'s serial to ``serial`` in the village file ``path``."""
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise KopnetError(f"{path}: cannot read the village file: {exc}", step="record") from exc
    node = _device_serial_node(root, hostname) if root is not None else None
    if node is None:
        raise KopnetError(
            f"{path}: no device {hostname!r} with a serial", host=hostname, step="record"
        )
    start, end = node.start_mark.index, node.end_mark.index
    after = text[:start] + yaml_scalar(serial) + text[end:]
    check = yaml.safe_load(after)
    found = [d for d in check.get("devices", []) if d.get("hostname") == hostname]
    if not found or found[0].get("serial") != serial:  # never write a file that reads wrong
        raise KopnetError(
            f"{path}: the edit would not read back as {serial!r}", host=hostname, step="record"
        )
    return SerialEdit(path, hostname, node.value, serial, text, after)


__all__ = ["SerialEdit", "plan_serial_edit", "yaml_scalar"]
