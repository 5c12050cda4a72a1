"""The tar format as container layers use it: ustar headers plus PAX and GNU extensions.

Pure functions over bytes, no I/O.  Reading accepts what real layer producers write
(POSIX ustar, PAX records, GNU long names, base-256 numbers, v7 headers); writing
produces one canonical form so that the same content always gives the same bytes:
ustar headers, PAX records only where ustar cannot hold a value, no user/group names,
whole-second mtimes and no atime/ctime.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field

from hull.errors import CorruptArchive

BLOCK = 512
ZERO_BLOCK = bytes(BLOCK)
END_OF_ARCHIVE = bytes(2 * BLOCK)
#: Largest PAX or GNU long-name payload accepted; bigger ones are hostile, not real.
MAX_EXTENDED_HEADER = 1 << 20

REGULAR = "0"
HARDLINK = "1"
SYMLINK = "2"
CHARDEV = "3"
BLOCKDEV = "4"
DIRECTORY = "5"
FIFO = "6"
_CONTIGUOUS = "7"
_OLD_REGULAR = "\0"
PAX_HEADER = "x"
PAX_GLOBAL = "g"
GNU_LONGNAME = "L"
GNU_LONGLINK = "K"
EXTENSION_TYPES = frozenset({PAX_HEADER, PAX_GLOBAL, GNU_LONGNAME, GNU_LONGLINK})
ENTRY_TYPES = frozenset({REGULAR, HARDLINK, SYMLINK, CHARDEV, BLOCKDEV, DIRECTORY, FIFO})

_POSIX_MAGIC = b"ustar\x00"
_XATTR_PREFIX = "SCHILY.xattr."
_LIBARCHIVE_XATTR_PREFIX = "LIBARCHIVE.xattr."
_NS = 1_000_000_000


@dataclass(slots=True)
class TarEntry:
    """One member of a layer tar, with every extension already merged in."""

    name: str
    type: str
    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    size: int = 0
    mtime_ns: int = 0
    linkname: str = ""
    devmajor: int = 0
    devminor: int = 0
    xattrs: dict[str, bytes] = field(default_factory=dict)


@dataclass(slots=True)
class RawHeader:
    """The fields of one 512-byte header block, before extensions are applied."""

    name: bytes
    type: str
    mode: int
    uid: int
    gid: int
    size: int
    mtime: int
    linkname: bytes
    devmajor: int
    devminor: int


# ---------------------------------------------------------------------------- reading


def _cstring(field_bytes: bytes) -> bytes:
    end = field_bytes.find(b"\0")
    return field_bytes if end < 0 else field_bytes[:end]


def parse_number(field_bytes: bytes) -> int:
    """A numeric header field: octal text, or GNU base-256 when the top bit is set."""
    if field_bytes and field_bytes[0] & 0x80:
        if field_bytes[0] & 0x40:  # negative, two's complement over the whole field
            return int.from_bytes(field_bytes, "big", signed=True)
        return int.from_bytes(bytes([field_bytes[0] & 0x7F]) + field_bytes[1:], "big")
    try:
        return int(field_bytes.strip(b" \0") or b"0", 8)  # the common case, fast
    except ValueError:
        pass
    text = _cstring(field_bytes).strip(b" ")  # text then NUL then junk: old writers do that
    try:
        return int(text, 8) if text else 0
    except ValueError:
        raise CorruptArchive(f"invalid tar header: bad numeric field {field_bytes!r}") from None


# name, mode, uid, gid, size, mtime, chksum, typeflag, linkname, magic, version, uname, gname,
# devmajor, devminor, prefix (and 12 bytes of padding)
_HEADER = struct.Struct("100s8s8s8s12s12s8sc100s6s2s32s32s8s8s155s12x")


def _checksum_matches(block: bytes, stored_field: bytes) -> bool:
    stored = parse_number(stored_field)
    # The checksum field itself counts as eight spaces (8 * 0x20 = 256).
    unsigned = sum(block) - sum(stored_field) + 256
    if stored == unsigned:
        return True
    # Some old writers summed signed chars.
    signed = unsigned - 256 * sum(1 for b in block[:148] + block[156:] if b > 127)
    return stored == signed


def parse_header(block: bytes) -> RawHeader:
    """Decode one header block; raise CorruptArchive when it is not a tar header."""
    (name, mode, uid, gid, size, mtime, chksum, typeflag_byte, linkname, magic, _version,
     _uname, _gname, devmajor, devminor, prefix) = _HEADER.unpack(block)
    if not _checksum_matches(block, chksum):
        raise CorruptArchive("invalid tar header: checksum mismatch")
    name = _cstring(name)
    if magic == _POSIX_MAGIC and prefix[0]:
        name = _cstring(prefix) + b"/" + name
    typeflag = typeflag_byte.decode("latin-1")
    if typeflag in (_OLD_REGULAR, _CONTIGUOUS):
        typeflag = DIRECTORY if name.endswith(b"/") and typeflag == _OLD_REGULAR else REGULAR
    special = typeflag in (CHARDEV, BLOCKDEV)
    return RawHeader(
        name=name,
        type=typeflag,
        mode=parse_number(mode),
        uid=parse_number(uid),
        gid=parse_number(gid),
        size=parse_number(size),
        mtime=parse_number(mtime),
        linkname=_cstring(linkname),
        devmajor=parse_number(devmajor) if special else 0,
        devminor=parse_number(devminor) if special else 0,
    )


def parse_pax(data: bytes) -> dict[str, bytes]:
    """PAX extended header records (``"%d key=value\\n"``); values stay bytes."""
    records: dict[str, bytes] = {}
    pos = 0
    while pos < len(data):
        if data[pos] == 0:  # some writers pad the payload with NULs
            break
        space = data.find(b" ", pos)
        try:
            length = int(data[pos:space])
        except ValueError:
            raise CorruptArchive("invalid PAX header: bad record length") from None
        end = pos + length
        if space < 0 or length <= 0 or end > len(data) or data[end - 1] != 0x0A:
            raise CorruptArchive("invalid PAX header: malformed record")
        key, sep, value = data[space + 1 : end - 1].partition(b"=")
        if not sep:
            raise CorruptArchive("invalid PAX header: record without '='")
        records[key.decode("utf-8", "surrogateescape")] = value
        pos = end
    return records


def _pax_int(records: dict[str, bytes], key: str, default: int) -> int:
    value = records.get(key)
    if value is None or value == b"":
        return default
    try:
        return int(value)
    except ValueError:
        raise CorruptArchive(f"invalid PAX header: bad {key} {value!r}") from None


def _pax_time_ns(value: bytes) -> int:
    """A PAX time like ``1700000000.123456789`` (or negative) in nanoseconds."""
    text = value.decode("ascii", "replace")
    negative = text.startswith("-")
    whole, _, frac = text.lstrip("-").partition(".")
    if not whole.isdigit() or (frac and not frac.isdigit()):
        raise CorruptArchive(f"invalid PAX header: bad mtime {value!r}")
    ns = int(whole) * _NS + int((frac + "000000000")[:9])
    return -ns if negative else ns


def _xattrs_from_pax(records: dict[str, bytes]) -> dict[str, bytes]:
    import base64
    import binascii
    import urllib.parse

    xattrs: dict[str, bytes] = {}
    for key, value in records.items():
        if key.startswith(_XATTR_PREFIX):
            xattrs[key[len(_XATTR_PREFIX) :]] = value
        elif key.startswith(_LIBARCHIVE_XATTR_PREFIX):
            name = urllib.parse.unquote(key[len(_LIBARCHIVE_XATTR_PREFIX) :])
            try:
                xattrs[name] = base64.b64decode(value + b"=" * (-len(value) % 4))
            except binascii.Error:
                raise CorruptArchive(f"invalid PAX header: bad xattr {name!r}") from None
    return xattrs


def make_entry(raw: RawHeader, pax: dict[str, bytes], longname: bytes | None,
               longlink: bytes | None) -> TarEntry:
    """Merge a header with the PAX records and GNU long names that preceded it."""
    if not pax and longname is None and longlink is None:  # most entries: header only
        return TarEntry(
            name=raw.name.decode("utf-8", "surrogateescape"), type=raw.type,
            mode=raw.mode & 0o7777, uid=raw.uid, gid=raw.gid, size=raw.size,
            mtime_ns=raw.mtime * _NS, linkname=raw.linkname.decode("utf-8", "surrogateescape"),
            devmajor=raw.devmajor, devminor=raw.devminor, xattrs={},
        )
    name = pax.get("path") or longname or raw.name
    linkname = pax.get("linkpath") or longlink or raw.linkname
    if any(key.startswith("GNU.sparse.") for key in pax):
        raise CorruptArchive(f"sparse tar entries are not supported: {os.fsdecode(name)!r}")
    mtime_ns = _pax_time_ns(pax["mtime"]) if pax.get("mtime") else raw.mtime * _NS
    xattrs = _xattrs_from_pax(pax) if pax else {}
    return TarEntry(
        name=os.fsdecode(name),
        type=raw.type,
        mode=raw.mode & 0o7777,
        uid=_pax_int(pax, "uid", raw.uid),
        gid=_pax_int(pax, "gid", raw.gid),
        size=_pax_int(pax, "size", raw.size),
        mtime_ns=mtime_ns,
        linkname=os.fsdecode(linkname),
        devmajor=raw.devmajor,
        devminor=raw.devminor,
        xattrs=xattrs,
    )


# ---------------------------------------------------------------------------- writing


def _octal(value: int, width: int) -> bytes:
    """A numeric field of ``width`` bytes: zero-padded octal and NUL, or base-256 if too big."""
    digits = width - 1
    if 0 <= value < 8**digits:
        return b"%0*o\0" % (digits, value)
    if 0 <= value < 1 << (8 * (width - 1)):
        return b"\x80" + value.to_bytes(width - 1, "big")
    raise CorruptArchive(f"value {value} does not fit in a tar header")


def pax_record(key: str, value: bytes) -> bytes:
    """One PAX record; its decimal length prefix counts itself."""
    body = b" " + key.encode("utf-8", "surrogateescape") + b"=" + value + b"\n"
    length = len(body) + 1
    while len(str(length)) + len(body) != length:
        length = len(str(length)) + len(body)
    return str(length).encode() + body


def _header_block(name: bytes, typeflag: str, mode: int, uid: int, gid: int, size: int,
                  mtime: int, linkname: bytes, devmajor: int, devminor: int) -> bytes:
    special = typeflag in (CHARDEV, BLOCKDEV)
    fields = [name[:100], _octal(mode, 8), _octal(uid, 8), _octal(gid, 8), _octal(size, 12),
              _octal(mtime, 12), b"        ", typeflag.encode("latin-1"), linkname[:100],
              _POSIX_MAGIC, b"00", b"", b"", _octal(devmajor, 8) if special else b"",
              _octal(devminor, 8) if special else b"", b""]
    block = _HEADER.pack(*fields)
    fields[6] = b"%06o\0 " % sum(block)
    return _HEADER.pack(*fields)


def _needs_pax_text(value: bytes, limit: int) -> bool:
    return len(value) > limit or not value.isascii()


def encode_header(entry: TarEntry) -> bytes:
    """The canonical header block(s) for ``entry`` (a PAX header first when needed)."""
    name = os.fsencode(entry.name)
    linkname = os.fsencode(entry.linkname)
    mtime = entry.mtime_ns // _NS
    records: dict[str, bytes] = {}
    if _needs_pax_text(name, 100):
        records["path"] = name
    if _needs_pax_text(linkname, 100):
        records["linkpath"] = linkname
    if entry.size >= 8**11:
        records["size"] = str(entry.size).encode()
    if not 0 <= entry.uid < 8**7:
        records["uid"] = str(entry.uid).encode()
    if not 0 <= entry.gid < 8**7:
        records["gid"] = str(entry.gid).encode()
    if not 0 <= mtime < 8**11:
        records["mtime"] = str(mtime).encode()
    for key, value in entry.xattrs.items():
        records[_XATTR_PREFIX + key] = value
    header = _header_block(
        name, entry.type, entry.mode & 0o7777,
        entry.uid if "uid" not in records else 0,
        entry.gid if "gid" not in records else 0,
        entry.size if "size" not in records else 0,
        mtime if "mtime" not in records else 0,
        linkname, entry.devmajor, entry.devminor,
    )
    if not records:
        return header
    if any(_not_utf8(v) for k, v in records.items() if k in ("path", "linkpath")):
        records["hdrcharset"] = b"BINARY"
    payload = b"".join(pax_record(key, records[key]) for key in sorted(records))
    pax_header = _header_block(b"././@PaxHeader", PAX_HEADER, 0o644, 0, 0, len(payload), 0,
                               b"", 0, 0)
    return pax_header + payload + padding(len(payload)) + header


def _not_utf8(value: bytes) -> bool:
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def padding(size: int) -> bytes:
    """The NULs that round a member's data up to a whole block."""
    return bytes(-size % BLOCK)
