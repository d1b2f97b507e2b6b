"""airOS ``system.cfg``: strict parsing, in-place edits, factory and lab defaults.

The file is flat ``key=value`` lines with dotted keys (``radio.1.freq``). Blank lines are kept
(the SDK factory files have them). The text is kept exactly as written so a configuration reads
back byte for byte; edits replace the line of an existing key in place or append a new line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kopnet_iac.errors import ParseError, SourcePosition
from kopnet_iac.platforms.airos.crypt import check_password, hash_password, md5_crypt

MAX_CONFIG_BYTES = 256 * 1024
KEY_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
_BAD_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
FIRMWARE = "v8.7.11"

__all__ = [
    "SystemConfig",
    "check_password",
    "factory_config",
    "hash_password",
    "lab_config",
    "md5_crypt",
]


@dataclass
class SystemConfig:
    """A parsed, validated ``system.cfg``; ``text`` is exactly what was written."""

    text: str
    values: dict[str, str]

    @classmethod
    def parse(cls, text: str, *, filename: str = "system.cfg") -> SystemConfig:
        """Validate and parse; raises :class:`ParseError` naming the first bad line."""
        if len(text.encode("utf-8", "surrogateescape")) > MAX_CONFIG_BYTES:
            raise ParseError("configuration too large", position=SourcePosition(filename, 1, 1))
        values: dict[str, str] = {}
        for number, raw in enumerate(text.split("\n"), start=1):
            line = raw[:-1] if raw.endswith("\r") else raw
            if not line.strip():
                continue
            position = SourcePosition(filename, number, 1)
            if _BAD_CHARS.search(line):
                raise ParseError("control character in line", position=position)
            key, sep, value = line.partition("=")
            if not sep:
                # position only: a line without "=" may be (part of) a secret value
                raise ParseError("expected key=value", position=position)
            if not KEY_RE.match(key):
                raise ParseError("invalid key", position=position, token=key[:40])
            if key in values:
                raise ParseError("duplicate key", position=position, token=key)
            values[key] = value
        return cls(text=text, values=values)

    def get(self, key: str, default: str = "") -> str:
        return self.values.get(key, default)

    def set(self, key: str, value: str) -> None:
        """Change one key in place (or append it), keeping every other line as it was."""
        if not KEY_RE.match(key) or "\n" in value or "\r" in value:
            raise ParseError("invalid key or value", token=key[:40])
        lines = self.text.split("\n")
        for index, raw in enumerate(lines):
            if raw.partition("=")[0] == key and "=" in raw:
                lines[index] = f"{key}={value}"
                break
        else:
            if lines and lines[-1] == "":
                lines.insert(len(lines) - 1, f"{key}={value}")
            else:
                lines.append(f"{key}={value}")
        self.text = "\n".join(lines)
        self.values[key] = value

    def addresses(self) -> list[str]:
        """Configured IPv4 addresses (``netconf.N.ip`` other than 0.0.0.0)."""
        found = []
        for key, value in self.values.items():
            if re.fullmatch(r"netconf\.\d+\.ip", key) and value and value != "0.0.0.0":
                found.append(value)
        return found


def _render(values: dict[str, str]) -> str:
    return "".join(f"{key}={values[key]}\n" for key in sorted(values))


def factory_config(model: str) -> str:
    """airOS 8 factory defaults: bridge, 192.168.1.20/24 on br0, ``ubnt``/``ubnt``."""
    values = {
        "aaa.status": "disabled",
        "bridge.1.devname": "br0",
        "bridge.1.port.1.devname": "eth0",
        "bridge.1.port.2.devname": "ath0",
        "bridge.status": "enabled",
        "httpd.status": "enabled",
        "httpd.https.status": "enabled",
        "netconf.1.devname": "eth0",
        "netconf.1.ip": "0.0.0.0",
        "netconf.1.status": "enabled",
        "netconf.1.up": "enabled",
        "netconf.2.devname": "ath0",
        "netconf.2.ip": "0.0.0.0",
        "netconf.2.status": "enabled",
        "netconf.2.up": "enabled",
        "netconf.3.devname": "br0",
        "netconf.3.ip": "192.168.1.20",
        "netconf.3.netmask": "255.255.255.0",
        "netconf.3.status": "enabled",
        "netconf.3.up": "enabled",
        "netconf.status": "enabled",
        "netmode": "bridge",
        "radio.1.chanbw": "20",
        "radio.1.devname": "ath0",
        "radio.1.freq": "0",
        "radio.1.mode": "managed",
        "radio.1.status": "enabled",
        "radio.countrycode": "840",
        "radio.status": "enabled",
        "resolv.host.1.name": model,
        "resolv.host.1.status": "enabled",
        "sshd.port": "22",
        "sshd.status": "enabled",
        "system.cfg.version": "65545",
        "users.1.name": "ubnt",
        "users.1.password": md5_crypt("ubnt", "tL963iDU"),
        "users.1.status": "enabled",
        "users.status": "enabled",
        "wireless.1.devname": "ath0",
        "wireless.1.ssid": "ubnt",
        "wireless.1.status": "enabled",
        "wireless.status": "enabled",
    }
    return _render(values)


def lab_config(
    *,
    hostname: str,
    model: str,
    username: str,
    password: str,
    access_point: bool,
    ptmp: bool,
    ssid: str,
    frequency_mhz: int | None,
    channel_width_mhz: int | None = None,
) -> str:
    """A provisioned-looking configuration for a lab radio (country Indonesia, bridge mode)."""
    text = factory_config(model)
    config = SystemConfig.parse(text)
    config.set("resolv.host.1.name", hostname)
    config.set("users.1.name", username)
    config.set("users.1.password", hash_password(password))
    config.set("radio.countrycode", "360")
    config.set("radio.1.mode", "master" if access_point else "managed")
    config.set("radio.1.ptpmode", "disabled" if ptmp else "enabled")
    config.set("radio.1.freq", str(frequency_mhz or 5785))
    config.set("radio.1.chanbw", str(channel_width_mhz or 20))
    config.set("wireless.1.ssid", ssid)
    return _render(config.values)
