"""HostileEnv: WalkEnv plus one misbehaviour, to show what isolation contains."""

from __future__ import annotations

import json
import os
import socket
import sys

import numpy as np

from untrusted_env.walk import WalkEnv

BEHAVIOURS = ("read_file", "network", "spin", "garbage", "huge", "print", "bad_obs",
              "nan_reward", "exit", "forge", "huge_int_reward", "inf_in_info")


class HostileEnv(WalkEnv):
    """Misbehaves in ``step`` as ``behaviour`` says; reports what it saw in ``info``."""

    def __init__(self, behaviour: str, path: str = "/etc/hostname", size: int = 4) -> None:
        if behaviour not in BEHAVIOURS:
            raise ValueError(f"behaviour must be one of {BEHAVIOURS}")
        super().__init__(size=size)
        self.behaviour = behaviour
        self.path = path

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        b = self.behaviour
        if b == "read_file":
            try:
                with open(self.path) as f:
                    info["read"] = f.read(4096)
            except OSError as e:
                info["read_error"] = type(e).__name__
        elif b == "network":
            info["interfaces"] = sorted(os.listdir("/sys/class/net"))
            for host, port in (("1.1.1.1", 53), ("172.17.0.1", 2375), ("8.8.8.8", 443)):
                try:
                    socket.create_connection((host, port), timeout=2).close()
                    info.setdefault("connected", []).append(host)
                except OSError as e:
                    info.setdefault("errors", []).append(type(e).__name__)
        elif b == "spin":
            while True:
                pass
        elif b == "garbage":
            for fd in range(1, 64):
                try:
                    os.write(fd, b"\x00\xffnot json at all {{{\n")
                except OSError:
                    pass
        elif b == "huge":
            chunk = b"x" * (1 << 20)
            for fd in range(1, 64):
                try:
                    for _ in range(64):
                        os.write(fd, chunk)
                except OSError:
                    pass
        elif b == "print":
            print("hello from inside the env, on stdout")
            sys.stdout.flush()
        elif b == "bad_obs":
            obs["pos"] = np.array([5.0, -3.0], dtype=np.float32)
        elif b == "nan_reward":
            reward = float("nan")
        elif b == "forge":  # a well-formed reply, sent early, with a made-up reward
            fake = (b'{"ok":true,"id":0,"obs":null,"reward":1000.0,"terminated":true,'
                    b'"truncated":false,"info":{}}\n')
            for fd in range(3, 64):
                try:
                    os.write(fd, fake)
                except OSError:
                    pass
        elif b in ("huge_int_reward", "inf_in_info"):
            _lie_in_this_reply(b)
        elif b == "exit":
            os._exit(3)
        return obs, reward, terminated, truncated, info


def _lie_in_this_reply(behaviour: str) -> None:
    """Patch the server (it runs as ``__main__`` in the same process) so that this step's
    reply, well-formed and with the right id, carries a number the host cannot use:
    ``reward: 10**400`` (overflows float) or ``info: {"x": 1e400}`` (parses as inf)."""
    server = sys.modules["__main__"]
    real_reply = server.Server.reply

    def reply(self, message):
        server.Server.reply = real_reply
        if "reward" not in message:
            return real_reply(self, message)
        message["id"] = self.request_id
        if behaviour == "huge_int_reward":
            message["reward"] = 10**400
        else:
            message["info"] = {"x": "@INF@"}
        data = json.dumps(message, separators=(",", ":"), default=server._jsonable)
        self.out.write(data.replace('"@INF@"', "1e400").encode() + b"\n")

    server.Server.reply = reply
