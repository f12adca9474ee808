"""HostileEnv: WalkEnv plus one misbehaviour, to show what isolation contains."""

from __future__ import annotations

import os
import socket
import sys

import numpy as np

from untrusted_env.walk import WalkEnv

BEHAVIOURS = ("read_file", "network", "spin", "garbage", "huge", "print", "bad_obs",
              "nan_reward", "exit", "forge")


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
        elif b == "exit":
            os._exit(3)
        return obs, reward, terminated, truncated, info
