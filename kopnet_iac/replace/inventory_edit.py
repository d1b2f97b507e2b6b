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


def _device_fields(root: yaml.Node, hostname: str) -> dict[str, yaml.Node] | None:
    """Key → value node of the device ``hostname`` (``__mapping__``: the mapping itself)."""
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
        fields: dict[str, yaml.Node] = {
            k.value: v for k, v in item.value if isinstance(k, yaml.ScalarNode)
        }
        host = fields.get("hostname")
        if isinstance(host, yaml.ScalarNode) and host.value == hostname:
            fields["__mapping__"] = item
            keys = {k.value: k for k, _ in item.value if isinstance(k, yaml.ScalarNode)}
            if "serial" in keys:
                fields["__serial_key__"] = keys["serial"]
            return fields
    return None


def _mac_insertion(text: str, fields: dict[str, yaml.Node], mac: str) -> tuple[int, str]:
    """Where and what to insert for a new ``mac`` key, right after the serial."""
    serial = fields["serial"]
    mapping = fields["__mapping__"]
    value = f'"{mac}"'
    if isinstance(mapping, yaml.MappingNode) and mapping.flow_style:
        return serial.end_mark.index, f", mac: {value}"
    key = fields["__serial_key__"]
    line_end = text.find("\n", serial.end_mark.index)
    if line_end < 0:
        return len(text), f"\n{' ' * key.start_mark.column}mac: {value}"
    newline = "\r\n" if text[line_end - 1 : line_end] == "\r" else "\n"
    at = line_end - 1 if newline == "\r\n" else line_end
    return at, f"{newline}{' ' * key.start_mark.column}mac: {value}"


def plan_serial_edit(path: Path, hostname: str, serial: str, mac: str | None = None) -> SerialEdit:
    """The edit setting ``hostname``'s serial (and ``mac``, when given) in the village file
    ``path``: the serial's value replaced in place; the MAC's value replaced, or the key added
    right after the serial in the same style (flow: ``, mac: "..."``; block: a line below)."""
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise KopnetError(f"{path}: cannot read the village file: {exc}", step="record") from exc
    fields = _device_fields(root, hostname) if root is not None else None
    node = fields.get("serial") if fields is not None else None
    if fields is None or not isinstance(node, yaml.ScalarNode):
        raise KopnetError(
            f"{path}: no device {hostname!r} with a serial", host=hostname, step="record"
        )
    edits: list[tuple[int, int, str]] = [
        (node.start_mark.index, node.end_mark.index, yaml_scalar(serial))
    ]
    old_mac = fields.get("mac")
    if mac:
        if isinstance(old_mac, yaml.ScalarNode):
            if old_mac.value != mac:
                edits.append((old_mac.start_mark.index, old_mac.end_mark.index, f'"{mac}"'))
        else:
            at, insert = _mac_insertion(text, fields, mac)
            edits.append((at, at, insert))
    after = text
    for start, end, replacement in sorted(edits, reverse=True):
        after = after[:start] + replacement + after[end:]
    check = yaml.safe_load(after)
    found = [d for d in check.get("devices", []) if d.get("hostname") == hostname]
    if not found or found[0].get("serial") != serial or (mac and found[0].get("mac") != mac):
        raise KopnetError(  # never write a file that reads back wrong
            f"{path}: the edit would not read back as serial {serial!r}",
            host=hostname,
            step="record",
        )
    return SerialEdit(path, hostname, node.value, serial, text, after)


__all__ = ["SerialEdit", "plan_serial_edit", "yaml_scalar"]
