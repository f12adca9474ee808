"""Line-delimited JSON over a container's attached (multiplexed) stream, hostile-safe.

The peer is untrusted: each line is capped in size (a line that grows past the cap
without a newline is an error, not an unbounded buffer), must decode as one JSON
object, and a silent peer runs into a deadline instead of hanging the host. Docker's
8-byte multiplexing headers are peeled as in `sandgym.sandbox.stream`; stderr is kept
as a bounded tail for error messages. Numbers are checked as they are parsed: a float
that overflows to infinity (``1e400``) and an integer larger than 2**64 in magnitude make
the line garbage.
"""

from __future__ import annotations

import json
import math
import socket
import struct
import time
from collections import deque

__all__ = ["LineChannel", "ChannelClosed", "ChannelTimeout", "ChannelGarbage"]

_DOCKER_HEADER = struct.Struct(">BxxxI")


class ChannelClosed(Exception):
    """The peer closed its stream (the container exited or was killed)."""


class ChannelTimeout(Exception):
    """The peer sent no complete line before the deadline."""


class ChannelGarbage(Exception):
    """The peer sent something that is not one JSON object per line, or a line too long."""


class LineChannel:
    """One attached connection speaking one JSON object per line each way."""

    def __init__(self, sock: socket.socket, max_line_bytes: int) -> None:
        self._sock = sock
        self._max = max_line_bytes
        self._raw = bytearray()
        self._stdout = bytearray()
        self._stderr_tail: deque[bytes] = deque(maxlen=64)
        self.closed = False

    def send(self, message: dict, timeout: float) -> int:
        """Write one message as a line; returns its size in bytes."""
        data = json.dumps(message, separators=(",", ":"), allow_nan=False).encode() + b"\n"
        try:
            self._sock.settimeout(timeout)
            self._sock.sendall(data)
        except OSError as e:
            self.closed = True
            raise ChannelClosed(f"sending failed: {e}") from e
        return len(data)

    def receive(self, timeout: float) -> dict:
        """The next line as a JSON object, within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            line = self._take_line()
            if line is not None:
                return self._parse(line)
            left = deadline - time.monotonic()
            if left <= 0:
                raise ChannelTimeout(f"no reply within {timeout:.1f}s")
            try:
                self._sock.settimeout(left)
                chunk = self._sock.recv(1 << 18)
            except TimeoutError:
                continue
            except OSError as e:
                self.closed = True
                raise ChannelClosed(f"reading failed: {e}") from e
            if not chunk:
                self.closed = True
                raise ChannelClosed("the peer closed its stream")
            self._raw += chunk
            self._demux()

    def stderr_tail(self) -> str:
        """The last few KB the peer wrote to stderr."""
        return b"".join(self._stderr_tail).decode("utf-8", "replace")[-3000:]

    def close(self) -> None:
        """Close the connection (the peer reads end of input)."""
        if self.closed:
            return
        self.closed = True
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()

    def _parse(self, line: bytes) -> dict:
        try:
            message = json.loads(line, parse_constant=_refuse_constant,
                                 parse_float=_finite_float, parse_int=_bounded_int)
        except (ValueError, RecursionError) as e:
            raise ChannelGarbage(f"not JSON ({e}): {line[:120]!r}") from None
        if not isinstance(message, dict):
            raise ChannelGarbage(f"a line is not a JSON object: {line[:120]!r}")
        return message

    def _demux(self) -> None:
        raw = self._raw
        offset = 0
        while len(raw) - offset >= _DOCKER_HEADER.size:
            stream_id, size = _DOCKER_HEADER.unpack_from(raw, offset)
            end = offset + _DOCKER_HEADER.size + size
            if len(raw) < end:
                break
            payload = bytes(raw[offset + _DOCKER_HEADER.size:end])
            if stream_id == 1:
                self._stdout += payload
            else:
                self._stderr_tail.append(payload[-4096:])
            offset = end
        del raw[:offset]
        if len(self._raw) > self._max + _DOCKER_HEADER.size + (1 << 18):
            raise ChannelGarbage("a stream chunk is larger than the line limit")

    def _take_line(self) -> bytes | None:
        newline = self._stdout.find(b"\n")
        if newline < 0:
            if len(self._stdout) > self._max:
                raise ChannelGarbage(f"a line is longer than {self._max} bytes")
            return None
        if newline > self._max:
            raise ChannelGarbage(f"a line is longer than {self._max} bytes")
        line = bytes(self._stdout[:newline])
        del self._stdout[:newline + 1]
        return line


MAX_INT = 1 << 64
"""Largest magnitude of a JSON integer accepted from the peer (int64 and uint64 fit).

Arrays travel as base64 strings, so no legitimate payload needs a larger number; a
larger one (``10**400``) would overflow ``float()``/``math.isfinite`` downstream.
"""


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > 20:  # before int(): a long digit string converts slowly
        raise ValueError(f"integer {text[:40]}... is out of range")
    value = int(text)
    if abs(value) > MAX_INT:
        raise ValueError(f"integer {value} is out of range (|x| <= 2**64)")
    return value


def _finite_float(text: str) -> float:
    if len(text) > 400:
        raise ValueError(f"number {text[:40]}... is too long")
    value = float(text)
    if not math.isfinite(value):  # 1e400 parses as inf
        raise ValueError(f"number {text[:40]} is not a finite float")
    return value


def _refuse_constant(name: str) -> float:
    """NaN and Infinity are not JSON; a peer that sends them is speaking something else."""
    raise ValueError(f"{name} is not JSON")
