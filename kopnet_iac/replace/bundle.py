"""Offline replacement bundle: everything a technician needs without a link to the NOC.

``write_bundle`` puts into one folder:

* RouterOS: ``<host>.netinstall.rsc`` (the configure script for ``netinstall -s``) and
  ``<host>.run-after-reset.rsc`` (the same full configuration, for
  ``/system reset-configuration no-defaults=yes run-after-reset=...`` on a device that boots);
* airOS: ``<host>.system.cfg`` (the complete file to upload in the web UI,
  System > Upload Configuration);
* ``README.txt``: the steps in English and Bahasa Indonesia;
* ``secrets.vault`` (when a vault password is given): the secret values the files need, in an
  ansible-vault archive; otherwise the files keep ``@@secret:NAME@@`` placeholders and the
  README says how to fill them in. Secret values are never written in clear;
* ``SHA256SUMS``: the checksum of every other file, checked by :func:`verify_bundle` (a
  truncated or tampered bundle is refused before anything is loaded).

The configuration files are the release's rendered intent, so the bundle gives exactly the
configuration the online ``kopnet replace`` deploys; ``kopnet replace --verify-only`` later
confirms it from the NOC and records the replacement.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from kopnet_iac.errors import KopnetError
from kopnet_iac.inventory.secrets import PLACEHOLDER_RE, encrypt_vault

SUMS = "SHA256SUMS"
VAULT = "secrets.vault"
README = "README.txt"


@dataclass
class Bundle:
    """What :func:`write_bundle` wrote."""

    directory: Path
    files: dict[str, str] = field(default_factory=dict)  # name -> sha256
    secrets: list[str] = field(default_factory=list)  # names needed (values never here)
    vault: bool = False


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _readme(host: str, village: str, platform: str, files: list[str], vault: bool) -> str:
    secrets_en = (
        f"Secrets are in {VAULT} (ansible-vault): the NOC gives you its password by phone. "
        "Open it with: ansible-vault view secrets.vault, and replace each @@secret:NAME@@ "
        "in the files by its value (airOS: users.N.password may stay clear text, the radio "
        "hashes it when you change the password after the upload)."
        if vault
        else "Secrets are NOT in this bundle: every @@secret:NAME@@ in the files must be "
        "replaced by its value, which the NOC reads to you by phone (never by SMS or chat); "
        "then check again that no @@secret: is left."
    )
    secrets_id = (
        f"Rahasia (password) ada di {VAULT} (ansible-vault): minta kata sandinya ke NOC lewat "
        "telepon. Buka dengan: ansible-vault view secrets.vault, lalu ganti setiap "
        "@@secret:NAMA@@ di file dengan nilainya."
        if vault
        else "Rahasia (password) TIDAK ada di paket ini: setiap @@secret:NAMA@@ di file harus "
        "diganti dengan nilainya, yang dibacakan NOC lewat telepon (jangan lewat SMS/chat); "
        "lalu periksa lagi tidak ada @@secret: yang tersisa."
    )
    if platform == "routeros":
        steps_en = [
            "Check the files: sha256sum -c SHA256SUMS (every line must say OK).",
            "Fill in the secrets (see below).",
            f"Netinstall: netinstall -r -s {host}.netinstall.rsc -a <laptop-ip> routeros.npk, "
            "then power the device holding its reset button until it shows in netinstall.",
            f"Or, on a device that boots: upload {host}.run-after-reset.rsc (Files), then "
            f"/system reset-configuration no-defaults=yes skip-backup=yes "
            f"run-after-reset={host}.run-after-reset.rsc",
            f"Call the NOC: they run kopnet replace {village} {host} --verify-only.",
        ]
        steps_id = [
            "Periksa file: sha256sum -c SHA256SUMS (semua baris harus OK).",
            "Isi rahasia (lihat di bawah).",
            f"Netinstall: netinstall -r -s {host}.netinstall.rsc -a <ip-laptop> routeros.npk, "
            "lalu nyalakan perangkat sambil menekan tombol reset sampai muncul di netinstall.",
            f"Atau, pada perangkat yang bisa menyala: unggah {host}.run-after-reset.rsc (Files), "
            f"lalu /system reset-configuration no-defaults=yes skip-backup=yes "
            f"run-after-reset={host}.run-after-reset.rsc",
            f"Hubungi NOC: mereka menjalankan kopnet replace {village} {host} --verify-only.",
        ]
    else:
        steps_en = [
            "Check the files: sha256sum -c SHA256SUMS (every line must say OK).",
            "Fill in the secrets (see below).",
            "Connect the laptop to the radio (PoE LAN port), open https://192.168.1.20, log in "
            "as ubnt/ubnt and set a temporary password when asked.",
            f"System > Upload Configuration: choose {host}.system.cfg, Upload, Apply.",
            f"Call the NOC: they run kopnet replace {village} {host} --verify-only.",
        ]
        steps_id = [
            "Periksa file: sha256sum -c SHA256SUMS (semua baris harus OK).",
            "Isi rahasia (lihat di bawah).",
            "Sambungkan laptop ke radio (port LAN PoE), buka https://192.168.1.20, masuk "
            "sebagai ubnt/ubnt dan buat kata sandi sementara saat diminta.",
            f"System > Upload Configuration: pilih {host}.system.cfg, Upload, Apply.",
            f"Hubungi NOC: mereka menjalankan kopnet replace {village} {host} --verify-only.",
        ]
    lines = [
        f"KopNet replacement bundle: {host} ({village})",
        "Files: " + ", ".join(files),
        "",
        "English",
        *(f"  {i}. {s}" for i, s in enumerate(steps_en, 1)),
        f"  {secrets_en}",
        "",
        "Bahasa Indonesia",
        *(f"  {i}. {s}" for i, s in enumerate(steps_id, 1)),
        f"  {secrets_id}",
        "",
    ]
    return "\n".join(lines)


def bundle_files(host: str, platform: str, config: str) -> dict[str, str]:
    """File name → text of the configuration files (placeholders kept)."""
    if platform == "routeros":
        from kopnet_iac.platforms.routeros.emitter import quote
        from kopnet_iac.replace.day0 import routeros_ssh_keys

        body = config.rstrip("\n") + "\n"
        for index, (user, key) in enumerate(routeros_ssh_keys(config)):
            name = f"kopnet-key{index}.pub"
            body += (
                f"/file add name={name} contents={quote(key)}\n"
                f"/user ssh-keys import public-key-file={name} user={user}\n"
            )
        return {
            f"{host}.netinstall.rsc": f"# netinstall configure script for {host}\n{body}",
            f"{host}.run-after-reset.rsc": (
                f"# run-after-reset script for {host}\n{body}"
                f"/file remove [ find where name={host}.run-after-reset.rsc ]\n"
            ),
        }
    if platform == "airos":
        return {f"{host}.system.cfg": config}
    raise KopnetError(f"no offline bundle for a {platform} device", host=host, step="bundle")


def write_bundle(
    out: Path,
    *,
    village: str,
    host: str,
    platform: str,
    config: str,
    secret_values: Mapping[str, str] | None = None,
    vault_password: str | None = None,
) -> Bundle:
    """Write the bundle into ``out`` (created; existing bundle files replaced)."""
    files = bundle_files(host, platform, config)
    needed = sorted({n for text in files.values() for n in PLACEHOLDER_RE.findall(text)})
    out.mkdir(parents=True, exist_ok=True)
    contents: dict[str, bytes] = {name: text.encode("utf-8") for name, text in files.items()}
    vault = vault_password is not None and bool(needed)
    if vault:
        assert vault_password is not None
        values = dict(secret_values or {})
        missing = [n for n in needed if n not in values]
        if missing:
            raise KopnetError(
                f"secrets not available for the vault: {', '.join(missing)}",
                village=village,
                host=host,
                step="bundle",
            )
        contents[VAULT] = encrypt_vault({n: values[n] for n in needed}, vault_password)
    contents[README] = _readme(host, village, platform, sorted(contents), vault).encode()
    bundle = Bundle(out, secrets=needed, vault=vault)
    for name, data in contents.items():
        _atomic(out / name, data)
        bundle.files[name] = sha256(data)
    sums = "".join(f"{bundle.files[n]}  {n}\n" for n in sorted(bundle.files))
    _atomic(out / SUMS, sums.encode())
    return bundle


def _atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def verify_bundle(directory: Path) -> dict[str, bytes]:
    """Every file of ``SHA256SUMS`` present with its checksum: name → contents; otherwise
    KopnetError naming each bad file (nothing is loaded from a damaged bundle)."""
    try:
        listing = (directory / SUMS).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KopnetError(f"{directory}: no readable {SUMS}: {exc}", step="checksum") from exc
    problems: list[str] = []
    out: dict[str, bytes] = {}
    for number, line in enumerate(listing.splitlines(), 1):
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64 or "/" in name or not name:
            problems.append(f"{SUMS} line {number} is malformed")
            continue
        try:
            data = (directory / name).read_bytes()
        except OSError:
            problems.append(f"{name}: missing")
            continue
        if sha256(data) != digest:
            problems.append(f"{name}: checksum mismatch (truncated or changed)")
            continue
        out[name] = data
    if not out and not problems:
        problems.append(f"{SUMS} lists no files")
    if problems:
        raise KopnetError(f"{directory}: bundle rejected: {'; '.join(problems)}", step="checksum")
    return out


def filled(name: str, data: bytes, values: Mapping[str, str]) -> str:
    """A bundle file with its placeholders replaced by ``values`` (what the technician does
    by hand): RouterOS values quoted and escaped; airOS passwords as crypt hashes."""
    text = data.decode("utf-8")
    if name.endswith(".rsc"):
        from kopnet_iac.replace.day0 import substitute_routeros

        return substitute_routeros(text, lambda n: values[n])
    from kopnet_iac.platforms.airos.crypt import hash_password

    lines = []
    for line in text.splitlines(keepends=True):
        key, _, _ = line.partition("=")
        if key.startswith("users.") and key.endswith(".password"):
            line = PLACEHOLDER_RE.sub(lambda m: hash_password(values[m.group(1)]), line)
        lines.append(PLACEHOLDER_RE.sub(lambda m: values[m.group(1)], line))
    return "".join(lines)


__all__ = ["Bundle", "bundle_files", "filled", "verify_bundle", "write_bundle"]
