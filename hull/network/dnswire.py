"""The few parts of the DNS wire format the embedded resolver needs (RFC 1035): reading a
query's question and writing an answer with A or PTR records.  Everything else is forwarded
untouched to the upstream resolvers."""

from __future__ import annotations

import struct

from hull.record import record

A, PTR, AAAA = 1, 12, 28
CLASS_IN = 1
NOERROR, SERVFAIL, NXDOMAIN, REFUSED = 0, 2, 3, 5
TTL = 600


@record(frozen=True)
class Question:
    id: int
    flags: int
    name: str         # lower case, no trailing dot
    qtype: int
    qclass: int
    raw: bytes        # the question section as received (echoed in answers)


def parse_query(packet: bytes) -> Question | None:
    """The first question of a standard query, or None for anything else."""
    if len(packet) < 12:
        return None
    ident, flags, qdcount = struct.unpack_from("!HHH", packet)
    if flags & 0x8000 or (flags >> 11) & 0xF or qdcount < 1:
        return None
    labels = []
    pos = 12
    while True:
        if pos >= len(packet):
            return None
        length = packet[pos]
        pos += 1
        if length == 0:
            break
        if length & 0xC0 or pos + length > len(packet):
            return None
        labels.append(packet[pos:pos + length].decode("ascii", errors="replace"))
        pos += length
    if pos + 4 > len(packet):
        return None
    qtype, qclass = struct.unpack_from("!HH", packet, pos)
    return Question(ident, flags, ".".join(labels).lower(), qtype, qclass, packet[12:pos + 4])


def _encode_name(name: str) -> bytes:
    out = b""
    for label in name.strip(".").split("."):
        data = label.encode()
        out += bytes([len(data)]) + data
    return out + b"\0"


def answer(q: Question, rcode: int = NOERROR, addresses: list[bytes] | None = None,
           ptr: str | None = None) -> bytes:
    """A response to ``q``: A records for ``addresses`` (4 bytes each) or one PTR."""
    records = b""
    count = 0
    for packed in addresses or []:
        records += struct.pack("!HHHIH", 0xC00C, A, CLASS_IN, TTL, 4) + packed
        count += 1
    if ptr is not None:
        data = _encode_name(ptr)
        records += struct.pack("!HHHIH", 0xC00C, PTR, CLASS_IN, TTL, len(data)) + data
        count += 1
    flags = 0x8000 | 0x0400 | (q.flags & 0x0100) | 0x0080 | rcode  # QR AA RD(copied) RA
    return struct.pack("!HHHHHH", q.id, flags, 1, count, 0, 0) + q.raw + records


def reverse_name(address: str) -> str:
    return ".".join(reversed(address.split("."))) + ".in-addr.arpa"
