"""One socket attached to a container's stdin/stdout/stderr, with Docker's framing peeled.

Docker multiplexes a non-TTY container's stdout and stderr on one connection: each
chunk has an 8-byte header (stream id, 3 zero bytes, big-endian length). This module
owns that layer for every protocol spoken over an attach (the executor's length-prefixed
frames in `sandgym.sandbox.stream`, the isolated-env server's JSON lines in
`sandgym.sandbox.lines`): the stdout bytes accumulate for the protocol to parse, stderr
is kept only as a bounded tail for error messages, and every wait has a deadline.
"""

from __future__ import annotations

import select
import socket
import struct
from collections import deque

__all__ = ["AttachedSocket", "StreamEnded"]

_DOCKER_HEADER = struct.Struct(">BxxxI")
HEADER_SIZE = _DOCKER_HEADER.size
_RECV_BYTES = 1 << 18
_STDERR_TAIL_CHUNKS = 64
_STDERR_CHUNK_BYTES = 4096


class StreamEnded(Exception):
    """The connection failed, or the peer closed it (the container exited or was killed)."""


class AttachedSocket:
    """The demultiplexed byte streams of one attach connection.

    ``stdout`` is the protocol's input buffer: callers take complete messages from its
    front. ``buffered`` counts the bytes received but not yet demultiplexed (a chunk
    whose header announced more than has arrived), so a caller facing an untrusted peer
    can bound it.
    """

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._raw = bytearray()
        self.stdout = bytearray()
        self._stderr_tail: deque[bytes] = deque(maxlen=_STDERR_TAIL_CHUNKS)
        self.closed = False

    @property
    def buffered(self) -> int:
        """Bytes received that do not yet form a whole multiplexed chunk."""
        return len(self._raw)

    def send(self, data: bytes, timeout: float) -> None:
        """Write the whole buffer within timeout, or raise StreamEnded."""
        try:
            self._sock.settimeout(timeout)
            self._sock.sendall(data)
        except OSError as e:
            self.closed = True
            raise StreamEnded(f"sending failed: {e}") from e

    def read_some(self, timeout: float) -> bool:
        """Receive one chunk into ``stdout``/stderr; False when nothing came in time."""
        try:
            self._sock.settimeout(timeout)
            chunk = self._sock.recv(_RECV_BYTES)
        except TimeoutError:
            return False
        except OSError as e:
            self.closed = True
            raise StreamEnded(f"reading failed: {e}") from e
        if not chunk:
            self.closed = True
            raise StreamEnded("the peer closed its stream")
        self._feed(chunk)
        return True

    def is_open(self) -> bool:
        """False when the engine has closed the connection (checked without blocking)."""
        if self.closed:
            return False
        try:
            if not select.select([self._sock], [], [], 0)[0]:
                return True
            self._sock.settimeout(0)
            chunk = self._sock.recv(1 << 16)
        except BlockingIOError:
            return True
        except (OSError, ValueError):  # ValueError: the socket was closed under us
            self.closed = True
            return False
        if not chunk:
            self.closed = True
            return False
        self._feed(chunk)  # unsolicited bytes (should not happen): keep them in order
        return True

    def stderr_tail(self, limit: int = 4000) -> str:
        """The last ``limit`` characters the peer wrote to stderr."""
        return b"".join(self._stderr_tail).decode("utf-8", "replace")[-limit:]

    def close(self) -> None:
        """Close the connection; the peer reads end of input."""
        if self.closed:
            return
        self.closed = True
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()

    def _feed(self, chunk: bytes) -> None:
        raw = self._raw
        raw += chunk
        offset = 0
        while len(raw) - offset >= HEADER_SIZE:
            stream_id, size = _DOCKER_HEADER.unpack_from(raw, offset)
            end = offset + HEADER_SIZE + size
            if len(raw) < end:
                break
            payload = raw[offset + HEADER_SIZE:end]
            if stream_id == 1:
                self.stdout += payload
            else:
                self._stderr_tail.append(bytes(payload[-_STDERR_CHUNK_BYTES:]))
            offset = end
        del raw[:offset]
