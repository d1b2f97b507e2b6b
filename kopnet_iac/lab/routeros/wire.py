"""RouterOS API wire format: length-prefixed words, sentences ended by an empty word."""

from __future__ import annotations

import asyncio

from kopnet_iac.errors import LabError

MAX_WORD = 16 * 1024 * 1024  # refuse absurd words instead of buffering them


class ProtocolViolation(LabError):
    """The peer sent bytes that are not a valid API sentence."""


def encode_length(length: int) -> bytes:
    """Encode a word length in the 1-5 byte forms RouterOS uses.

    >>> encode_length(5), encode_length(0x80)
    (b'\\x05', b'\\x80\\x80')
    """
    if length < 0x80:
        return bytes((length,))
    if length < 0x4000:
        return (length | 0x8000).to_bytes(2, "big")
    if length < 0x200000:
        return (length | 0xC00000).to_bytes(3, "big")
    if length < 0x10000000:
        return (length | 0xE0000000).to_bytes(4, "big")
    return b"\xf0" + length.to_bytes(4, "big")


def encode_sentence(words: list[str] | tuple[str, ...]) -> bytes:
    """Encode words plus the terminating empty word."""
    out = bytearray()
    for word in words:
        raw = word.encode("utf-8")
        out += encode_length(len(raw))
        out += raw
    out += b"\x00"
    return bytes(out)


async def read_length(reader: asyncio.StreamReader) -> int:
    first = (await reader.readexactly(1))[0]
    if first < 0x80:
        return first
    if first < 0xC0:
        rest = await reader.readexactly(1)
        return ((first & 0x3F) << 8) | rest[0]
    if first < 0xE0:
        rest = await reader.readexactly(2)
        return ((first & 0x1F) << 16) | int.from_bytes(rest, "big")
    if first < 0xF0:
        rest = await reader.readexactly(3)
        return ((first & 0x0F) << 24) | int.from_bytes(rest, "big")
    if first == 0xF0:
        return int.from_bytes(await reader.readexactly(4), "big")
    raise ProtocolViolation(f"invalid length control byte 0x{first:02x}")


async def read_sentence(reader: asyncio.StreamReader) -> list[str]:
    """Read one sentence; raises ``asyncio.IncompleteReadError`` at end of stream."""
    words: list[str] = []
    while True:
        length = await read_length(reader)
        if length == 0:
            return words
        if length > MAX_WORD:
            raise ProtocolViolation(f"word of {length} bytes is too long")
        raw = await reader.readexactly(length)
        try:
            words.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            words.append(raw.decode("latin-1"))
