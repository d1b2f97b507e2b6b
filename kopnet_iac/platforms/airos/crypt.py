"""The ``$1$`` md5-crypt password hashes airOS keeps in ``users.N.password``.

Pure functions: hash a password (fresh salt), and verify a password against a stored hash so a
deploy can tell an unchanged password from a new one without ever reading the password back.
"""

from __future__ import annotations

import hashlib
import secrets

_ITOA64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def md5_crypt(password: str, salt: str) -> str:
    """The ``$1$`` md5-crypt hash airOS stores in ``users.N.password``.

    >>> md5_crypt("ubnt", "tL963iDU")
    '$1$tL963iDU$SXu0h02ZZYfnoZcPkIlK21'
    """
    pw = password.encode()
    salt_b = salt[:8].encode()
    magic = b"$1$"
    alt = hashlib.md5(pw + salt_b + pw).digest()
    ctx = pw + magic + salt_b
    length = len(pw)
    while length > 0:
        ctx += alt[: min(16, length)]
        length -= 16
    i = len(pw)
    while i:
        ctx += b"\x00" if i & 1 else pw[:1]
        i >>= 1
    final = hashlib.md5(ctx).digest()
    for i in range(1000):
        step = pw if i & 1 else final
        if i % 3:
            step += salt_b
        if i % 7:
            step += pw
        step += final if i & 1 else pw
        final = hashlib.md5(step).digest()
    out = []
    for a, b, c in ((0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5)):
        value = (final[a] << 16) | (final[b] << 8) | final[c]
        for _ in range(4):
            out.append(_ITOA64[value & 0x3F])
            value >>= 6
    value = final[11]
    for _ in range(2):
        out.append(_ITOA64[value & 0x3F])
        value >>= 6
    return f"$1${salt[:8]}${''.join(out)}"


def hash_password(password: str) -> str:
    """md5-crypt with a fresh random salt."""
    salt = "".join(secrets.choice(_ITOA64) for _ in range(8))
    return md5_crypt(password, salt)


def check_password(password: str, stored: str) -> bool | None:
    """True/False for ``$1$`` hashes; None when the hash form is not supported here (DES)."""
    if stored.startswith("$1$"):
        parts = stored.split("$")
        if len(parts) != 4:
            return False
        return secrets.compare_digest(md5_crypt(password, parts[2]), stored)
    return None


def is_crypt_hash(value: str) -> bool:
    """A value that is already a crypt hash (``$id$salt$hash``), not a clear-text password."""
    parts = value.split("$")
    return value.startswith("$") and len(parts) == 4 and bool(parts[1]) and bool(parts[3])
