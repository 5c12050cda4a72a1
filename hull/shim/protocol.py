"""The shim's wire format, shared by the shim and its clients (the CLI, later the API).

Every message is a frame: an 8-byte header (kind, three zero bytes, big-endian length) and a
payload, the layout of Docker's multiplexed attach stream, so stdout and stderr stay apart.
Kinds 1 and 2 carry output; the others carry small JSON documents or stdin bytes.
"""

from __future__ import annotations

import struct
from _collections_abc import Iterator  # loaded with the interpreter: costs a lean shim nothing

STDIN, STDOUT, STDERR = 0, 1, 2
ERROR = 3      # shim -> client: {"message", "exit_code"}: the container could not start
STARTED = 4    # shim -> client: {"pid"}: the container's process runs
EXIT = 5       # shim -> client: {"ExitCode", "OOMKilled", "Removed"}: all done
REQUEST = 6    # client -> shim: {"op": "attach", "stdin": bool}, {"op": "wait"}, {"op": "stop"}
SIGNAL = 7     # client -> shim: {"signal": n}: forward a signal to the container
CLOSE_STDIN = 8  # client -> shim: the client's stdin ended
PLAN = 9       # CLI -> pre-forked shim: {"plan": ShimPlan.spec(), "attached": bool}
RESIZE = 10    # client -> shim: {"height": rows, "width": columns}: the user's terminal size

HEADER = struct.Struct(">BxxxI")
MAX_FRAME = 1 << 24


def frame(kind: int, payload: bytes = b"") -> bytes:
    return HEADER.pack(kind, len(payload)) + payload


def json_frame(kind: int, doc: dict) -> bytes:
    import json  # imported on use: a waiting shim should not pay for it

    return frame(kind, json.dumps(doc).encode())


def parse_json(payload: bytes) -> dict:
    import json

    doc = json.loads(payload or b"{}")
    return doc if isinstance(doc, dict) else {}


class FrameReader:
    """Incremental parser: feed bytes, iterate complete (kind, payload) frames."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> Iterator[tuple[int, bytes]]:
        self._buf += data
        while len(self._buf) >= HEADER.size:
            kind, size = HEADER.unpack_from(self._buf)
            if size > MAX_FRAME:
                raise ValueError(f"frame of {size} bytes is too large")
            end = HEADER.size + size
            if len(self._buf) < end:
                return
            payload = bytes(self._buf[HEADER.size:end])
            del self._buf[:end]
            yield kind, payload
