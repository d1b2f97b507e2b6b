"""Policy lint over intended airOS ``system.cfg`` files (flat ``key=value`` lines).

The airOS counterpart of the RouterOS lint: a radio open on the air, the wrong country, a
channel outside the Indonesian band, default credentials and plaintext management. Every
finding carries the line of the offending key (or 0 when the key is missing).

>>> [f.rule for f in lint_airos("radio.countrycode=840\\n")][:2]
['AIR-RF-001', 'AIR-RF-002']
"""

from __future__ import annotations

from dataclasses import dataclass

BAND_5GHZ = (5725, 5825)
COUNTRY_INDONESIA = "360"
DEFAULT_USERS = frozenset({"ubnt", "admin"})
DEFAULT_PASSWORDS = frozenset({"ubnt", ""})

#: rule id -> message (documented in the README)
RULES = {
    "AIR-RF-001": "open radio: wireless.1.security.type=wpa2 with a WPA2-PSK key (AP: aaa.1.wpa=2 "
    "and aaa.1.wpa.psk; station: wpasupplicant WPA-PSK with a psk)",
    "AIR-RF-002": "country code must be 360 (Indonesia) in radio.countrycode and radio.1.countrycode",
    "AIR-RF-003": "channel (radio.1.freq ± radio.1.chanbw/2) outside the Indonesian outdoor band "
    "5725-5825 MHz",
    "AIR-USR-001": "default credentials: the login must be a named account with a password",
    "AIR-SVC-001": "management must be HTTPS only and telnet off (httpd.https.status=enabled, "
    "telnetd.status=disabled)",
    "AIR-SVC-002": "SSH password login disabled without an enabled SSH key: nothing could log "
    "in (disable it only when the controller logs in by key)",
}


@dataclass(frozen=True)
class AirosFinding:
    rule: str
    message: str
    key: str
    line: int

    def __str__(self) -> str:
        return f"{self.rule}: {self.key}: {self.message}"


def _parse(text: str) -> tuple[dict[str, str], dict[str, int]]:
    values: dict[str, str] = {}
    lines: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip()
            lines[key.strip()] = number
    return values, lines


def lint_airos(text: str) -> list[AirosFinding]:
    """Findings for one rendered (or running) ``system.cfg``; empty when it is clean."""
    values, lines = _parse(text)
    found: list[AirosFinding] = []

    def add(rule: str, key: str) -> None:
        found.append(AirosFinding(rule, RULES[rule], key, lines.get(key, 0)))

    ap = values.get("radio.1.mode", "") == "master"
    if values.get("wireless.1.security.type") != "wpa2":
        add("AIR-RF-001", "wireless.1.security.type")
    elif ap:
        if values.get("aaa.1.wpa") != "2":
            add("AIR-RF-001", "aaa.1.wpa")
        elif not values.get("aaa.1.wpa.psk"):
            add("AIR-RF-001", "aaa.1.wpa.psk")
    else:
        station = "wpasupplicant.profile.1.network.1"
        if values.get("wpasupplicant.status") != "enabled":
            add("AIR-RF-001", "wpasupplicant.status")
        elif values.get(f"{station}.key_mgmt.1.name") != "WPA-PSK":
            add("AIR-RF-001", f"{station}.key_mgmt.1.name")
        elif not values.get(f"{station}.psk"):
            add("AIR-RF-001", f"{station}.psk")
    for key in ("radio.countrycode", "radio.1.countrycode"):
        if values.get(key) != COUNTRY_INDONESIA:
            add("AIR-RF-002", key)
    try:
        freq = int(values.get("radio.1.freq", "0"))
        width = int(values.get("radio.1.chanbw", "0"))
    except ValueError:
        freq = width = 0
    if freq > 4900 and (freq - width / 2 < BAND_5GHZ[0] or freq + width / 2 > BAND_5GHZ[1]):
        add("AIR-RF-003", "radio.1.freq")
    if values.get("users.1.name", "ubnt") in DEFAULT_USERS:
        add("AIR-USR-001", "users.1.name")
    elif values.get("users.1.password", "") in DEFAULT_PASSWORDS:
        add("AIR-USR-001", "users.1.password")
    if values.get("httpd.https.status") != "enabled":
        add("AIR-SVC-001", "httpd.https.status")
    if values.get("telnetd.status", "enabled") != "disabled":
        add("AIR-SVC-001", "telnetd.status")
    keys = [
        k for k, v in values.items() if k.startswith("sshd.auth.key.") and k.endswith(".status")
    ]
    has_keys = any(values[k] == "enabled" for k in keys)
    if not has_keys and values.get("sshd.auth.passwd", "enabled") == "disabled":
        add("AIR-SVC-002", "sshd.auth.passwd")
    return found
