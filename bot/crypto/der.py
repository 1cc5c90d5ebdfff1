"""Just enough DER to write PBES2 parameters and to find the parts of a PKCS#12 file."""

from __future__ import annotations

from typing import NamedTuple

SEQUENCE = 0x30
INTEGER = 0x02
OCTET_STRING = 0x04
NULL = 0x05
OID = 0x06
CONTEXT_0 = 0xA0


def tlv(tag: int, content: bytes) -> bytes:
    """One DER element with a definite length."""
    size = len(content)
    if size < 0x80:
        return bytes([tag, size]) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + content


def sequence(*items: bytes) -> bytes:
    """A SEQUENCE of already encoded elements."""
    return tlv(SEQUENCE, b"".join(items))


def integer(value: int) -> bytes:
    """A non-negative INTEGER."""
    body = value.to_bytes(value.bit_length() // 8 + 1, "big")  # + 1 keeps the sign bit clear
    return tlv(INTEGER, body)


def octet_string(value: bytes) -> bytes:
    """An OCTET STRING."""
    return tlv(OCTET_STRING, value)


def null() -> bytes:
    """NULL."""
    return tlv(NULL, b"")


def oid(dotted: str) -> bytes:
    """An OBJECT IDENTIFIER from its dotted form."""
    arcs = [int(a) for a in dotted.split(".")]
    body = bytearray([40 * arcs[0] + arcs[1]])
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body.extend(reversed(chunk))
    return tlv(OID, bytes(body))


class Element(NamedTuple):
    """Where one element lies in a buffer: ``data[offset:end]`` is all of it."""

    tag: int
    offset: int  # where its tag byte is
    start: int  # where its content starts
    end: int  # just past its content


def read(data: bytes, offset: int = 0) -> Element:
    """Read the element at ``offset``; ValueError if it is broken or runs past the data."""
    if offset + 2 > len(data):
        raise ValueError("truncated DER")
    tag, first = data[offset], data[offset + 1]
    start = offset + 2
    if first < 0x80:
        size = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or start + count > len(data):
            raise ValueError("unsupported DER length")
        size = int.from_bytes(data[start : start + count], "big")
        start += count
    end = start + size
    if end > len(data):
        raise ValueError("truncated DER")
    return Element(tag, offset, start, end)


def children(data: bytes, parent: Element) -> list[Element]:
    """The elements inside a constructed element, in order."""
    found = []
    position = parent.start
    while position < parent.end:
        element = read(data, position)
        if element.end > parent.end:
            raise ValueError("element runs past its parent")
        found.append(element)
        position = element.end
    return found
