"""Request/reply framing between the host and a container's executor.

Inside the stdout bytes of the attach connection (Docker's multiplexing is peeled by
`sandgym.sandbox.attach`) the executor speaks its own frames: a 4-byte big-endian
length and a JSON body. Any failure of the connection is a `SandboxCrashedError`.
"""

from __future__ import annotations

import json
import socket
import struct
import time

from sandgym.errors import SandboxCrashedError
from sandgym.sandbox.attach import AttachedSocket, StreamEnded

__all__ = ["AttachedStream"]

_FRAME_HEADER = struct.Struct(">I")


class AttachedStream:
    """One attached connection to a container's executor."""

    def __init__(self, sock: socket.socket) -> None:
        self._conn = AttachedSocket(sock)

    @property
    def closed(self) -> bool:
        return self._conn.closed

    @staticmethod
    def encode(message: dict, trailer: bytes = b"") -> bytes:
        """A request frame, optionally followed by a raw block the judge reads itself."""
        body = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode(
            "utf-8", "surrogatepass"
        )
        return _FRAME_HEADER.pack(len(body)) + body + trailer

    def send(self, data: bytes, timeout: float) -> None:
        """Write the whole buffer or raise SandboxCrashedError."""
        try:
            self._conn.send(data, timeout)
        except StreamEnded as e:
            raise SandboxCrashedError(f"sending to the sandbox failed: {e}") from e

    def receive(self, timeout: float) -> dict:
        """The next executor frame, waiting at most timeout seconds."""
        deadline = time.monotonic() + timeout
        while True:
            message = self._take_frame()
            if message is not None:
                return message
            left = deadline - time.monotonic()
            if left <= 0:
                raise SandboxCrashedError(
                    f"the sandbox did not answer within {timeout:.1f}s{self._stderr_hint()}"
                )
            try:
                self._conn.read_some(left)
            except StreamEnded as e:
                raise SandboxCrashedError(
                    f"the sandbox's stream ended (container gone?): {e}{self._stderr_hint()}"
                ) from e

    def is_open(self) -> bool:
        """False when the engine has closed the connection (checked without blocking)."""
        return self._conn.is_open()

    def stderr_tail(self) -> str:
        """The last bytes the executor wrote to its stderr (for error messages)."""
        return self._conn.stderr_tail(4000)

    def close(self) -> None:
        """Close the connection; the executor sees end of input and exits."""
        self._conn.close()

    def _stderr_hint(self) -> str:
        tail = self.stderr_tail().strip()
        return f"; executor stderr: {tail}" if tail else ""

    def _take_frame(self) -> dict | None:
        buf = self._conn.stdout
        if len(buf) < _FRAME_HEADER.size:
            return None
        (length,) = _FRAME_HEADER.unpack_from(buf, 0)
        end = _FRAME_HEADER.size + length
        if len(buf) < end:
            return None
        body = bytes(buf[_FRAME_HEADER.size : end])
        del buf[:end]
        return json.loads(body)
