"""Applying nftables scripts: libnftables in-process, else one ``nft -f -`` call.

Every change is a whole script applied as one nftables transaction, so rules are never seen
half-updated.  libnftables (loaded with ctypes) saves the ~15 ms of starting ``nft``; the
binary is the fallback when the library cannot be loaded.  ctypes, shutil and subprocess are
imported only when a script is really applied: a container start whose rules are unchanged
only checks that the table is there.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from hull.errors import EngineError

if TYPE_CHECKING:
    import ctypes

_lock = threading.Lock()
_lib: ctypes.CDLL | None = None
_loaded = False


def _library() -> ctypes.CDLL | None:
    global _lib, _loaded
    with _lock:
        if _loaded:
            return _lib
        _loaded = True
        import ctypes

        try:
            lib = ctypes.CDLL("libnftables.so.1")
        except OSError:
            return None
        lib.nft_ctx_new.restype = ctypes.c_void_p
        lib.nft_ctx_new.argtypes = [ctypes.c_uint32]
        lib.nft_ctx_free.argtypes = [ctypes.c_void_p]
        lib.nft_ctx_buffer_output.argtypes = [ctypes.c_void_p]
        lib.nft_ctx_buffer_error.argtypes = [ctypes.c_void_p]
        lib.nft_ctx_get_error_buffer.argtypes = [ctypes.c_void_p]
        lib.nft_ctx_get_error_buffer.restype = ctypes.c_char_p
        lib.nft_ctx_get_output_buffer.argtypes = [ctypes.c_void_p]
        lib.nft_ctx_get_output_buffer.restype = ctypes.c_char_p
        lib.nft_run_cmd_from_buffer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        lib.nft_run_cmd_from_buffer.restype = ctypes.c_int
        _lib = lib
        return lib


def available() -> bool:
    import shutil

    return _library() is not None or shutil.which("nft") is not None


def run(script: str) -> str:
    """Run an nft script in the calling thread's network namespace; its output."""
    lib = _library()
    if lib is None:
        return _run_binary(script)
    ctx = lib.nft_ctx_new(0)
    if not ctx:
        raise EngineError("nftables: cannot create a context")
    try:
        lib.nft_ctx_buffer_output(ctx)
        lib.nft_ctx_buffer_error(ctx)
        rc = lib.nft_run_cmd_from_buffer(ctx, script.encode())
        if rc != 0:
            error = (lib.nft_ctx_get_error_buffer(ctx) or b"").decode(errors="replace")
            raise EngineError(f"nftables rejected the rules: {_first_error(error)}")
        return (lib.nft_ctx_get_output_buffer(ctx) or b"").decode(errors="replace")
    finally:
        lib.nft_ctx_free(ctx)


def _run_binary(script: str) -> str:
    import shutil
    import subprocess

    nft = shutil.which("nft")
    if nft is None:
        raise EngineError("nftables is not available (no libnftables, no nft binary)")
    proc = subprocess.run([nft, "-f", "-"], input=script, capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        raise EngineError(f"nftables rejected the rules: {_first_error(proc.stderr)}")
    return proc.stdout


def _first_error(text: str) -> str:
    for line in text.splitlines():
        if line.startswith("Error:"):
            return line[len("Error:"):].strip()
    return text.strip().splitlines()[0] if text.strip() else "unknown error"


NETLINK_NETFILTER = 12
NFT_MSG_GETTABLE = (10 << 8) | 1     # subsystem nftables, "get table"
NFTA_TABLE_NAME = 1
FAMILIES = {"ip": 2, "inet": 1, "ip6": 10}


def table_exists(family: str, name: str) -> bool:
    """One "get table" request on a netfilter netlink socket: microseconds, where listing
    the table through libnftables first loads the library and dumps the whole ruleset."""
    import struct

    from hull.network.netlink import NetlinkError, Socket, attr

    nl = Socket(NETLINK_NETFILTER)
    try:
        body = struct.pack("=BBH", FAMILIES[family], 0, 0) + attr(NFTA_TABLE_NAME,
                                                                    name.encode() + b"\0")
        nl.fetch(NFT_MSG_GETTABLE, body)
    except NetlinkError:
        return False
    finally:
        nl.close()
    return True
