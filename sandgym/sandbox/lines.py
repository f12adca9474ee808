"""Line-delimited JSON over a container's attached (multiplexed) stream, hostile-safe.

The peer is untrusted: each line is capped in size (a line that grows past the cap
without a newline is an error, not an unbounded buffer), must decode as one JSON
object, and a silent peer runs into a deadline instead of hanging the host. Docker's
multiplexing is peeled by `sandgym.sandbox.attach`, with the bytes it buffers bounded
here too. Numbers are checked as they are parsed: a float that overflows to infinity
(``1e400``) and an integer larger than 2**64 in magnitude make the line garbage.
"""

from __future__ import annotations

import json
import math
import socket
import time

from sandgym.sandbox.attach import HEADER_SIZE, AttachedSocket, StreamEnded

__all__ = ["LineChannel", "ChannelClosed", "ChannelTimeout", "ChannelGarbage"]

_RECV_SLACK = 1 << 18  # one read's worth on top of the line cap


class ChannelClosed(Exception):
    """The peer closed its stream (the container exited or was killed)."""


class ChannelTimeout(Exception):
    """The peer sent no complete line before the deadline."""


class ChannelGarbage(Exception):
    """The peer sent something that is not one JSON object per line, or a line too long."""


class LineChannel:
    """One attached connection speaking one JSON object per line each way."""

    def __init__(self, sock: socket.socket, max_line_bytes: int) -> None:
        self._conn = AttachedSocket(sock)
        self._max = max_line_bytes

    @property
    def closed(self) -> bool:
        return self._conn.closed

    def send(self, message: dict, timeout: float) -> int:
        """Write one message as a line; returns its size in bytes."""
        data = json.dumps(message, separators=(",", ":"), allow_nan=False).encode() + b"\n"
        try:
            self._conn.send(data, timeout)
        except StreamEnded as e:
            raise ChannelClosed(str(e)) from e
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
                self._conn.read_some(left)
            except StreamEnded as e:
                raise ChannelClosed(str(e)) from e
            if self._conn.buffered > self._max + HEADER_SIZE + _RECV_SLACK:
                raise ChannelGarbage("a stream chunk is larger than the line limit")

    def stderr_tail(self) -> str:
        """The last few KB the peer wrote to stderr."""
        return self._conn.stderr_tail(3000)

    def close(self) -> None:
        """Close the connection (the peer reads end of input)."""
        self._conn.close()

    def _parse(self, line: bytes) -> dict:
        try:
            message = json.loads(line, parse_constant=_refuse_constant,
                                 parse_float=_finite_float, parse_int=_bounded_int)
        except (ValueError, RecursionError) as e:
            raise ChannelGarbage(f"not JSON ({e}): {line[:120]!r}") from None
        if not isinstance(message, dict):
            raise ChannelGarbage(f"a line is not a JSON object: {line[:120]!r}")
        return message

    def _take_line(self) -> bytes | None:
        stdout = self._conn.stdout
        newline = stdout.find(b"\n")
        if newline < 0:
            if len(stdout) > self._max:
                raise ChannelGarbage(f"a line is longer than {self._max} bytes")
            return None
        if newline > self._max:
            raise ChannelGarbage(f"a line is longer than {self._max} bytes")
        line = bytes(stdout[:newline])
        del stdout[:newline + 1]
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
