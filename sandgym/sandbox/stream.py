"""Request/reply framing over a container's attached stream.

Docker multiplexes a non-TTY container's stdout and stderr on one connection: each
chunk has an 8-byte header (stream id, 3 zero bytes, big-endian length). Inside the
stdout bytes the executor speaks its own frames (4-byte big-endian length + JSON).
This module peels both layers; stderr is kept as a bounded tail for diagnostics.
"""

from __future__ import annotations

import json
import select
import socket
import struct
import time
from collections import deque

from sandgym.errors import SandboxCrashedError

__all__ = ["AttachedStream"]

_DOCKER_HEADER = struct.Struct(">BxxxI")
_FRAME_HEADER = struct.Struct(">I")
_STDERR_TAIL_CHUNKS = 64


class AttachedStream:
    """One attached connection to a container's executor."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._raw = bytearray()
        self._stdout = bytearray()
        self._stderr_tail: deque[bytes] = deque(maxlen=_STDERR_TAIL_CHUNKS)
        self.closed = False

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
            self._sock.settimeout(timeout)
            self._sock.sendall(data)
        except OSError as e:
            self.closed = True
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
                self._sock.settimeout(left)
                chunk = self._sock.recv(1 << 18)
            except TimeoutError:
                continue
            except OSError as e:
                self.closed = True
                raise SandboxCrashedError(f"reading from the sandbox failed: {e}") from e
            if not chunk:
                self.closed = True
                raise SandboxCrashedError(
                    f"the sandbox closed its stream (container gone){self._stderr_hint()}"
                )
            self._raw += chunk
            self._demux()

    def is_open(self) -> bool:
        """False when the engine has closed the connection (checked without blocking)."""
        if self.closed:
            return False
        try:
            readable, _, _ = select.select([self._sock], [], [], 0)
            if not readable:
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
        self._raw += chunk  # an unsolicited frame (should not happen); keep it in order
        self._demux()
        return True

    def stderr_tail(self) -> str:
        """The last bytes the executor wrote to its stderr (for error messages)."""
        return b"".join(self._stderr_tail).decode("utf-8", "replace")[-4000:]

    def close(self) -> None:
        """Close the connection; the executor sees end of input and exits."""
        if self.closed:
            return
        self.closed = True
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()

    def _stderr_hint(self) -> str:
        tail = self.stderr_tail().strip()
        return f"; executor stderr: {tail}" if tail else ""

    def _demux(self) -> None:
        raw = self._raw
        offset = 0
        while len(raw) - offset >= _DOCKER_HEADER.size:
            stream_id, size = _DOCKER_HEADER.unpack_from(raw, offset)
            end = offset + _DOCKER_HEADER.size + size
            if len(raw) < end:
                break
            payload = bytes(raw[offset + _DOCKER_HEADER.size : end])
            if stream_id == 1:
                self._stdout += payload
            else:
                self._stderr_tail.append(payload)
            offset = end
        del raw[:offset]

    def _take_frame(self) -> dict | None:
        buf = self._stdout
        if len(buf) < _FRAME_HEADER.size:
            return None
        (length,) = _FRAME_HEADER.unpack_from(buf, 0)
        end = _FRAME_HEADER.size + length
        if len(buf) < end:
            return None
        body = bytes(buf[_FRAME_HEADER.size : end])
        del buf[:end]
        return json.loads(body)
