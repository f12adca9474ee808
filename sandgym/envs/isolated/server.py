"""The server inside an isolated env's container: one Gymnasium env behind line-JSON.

Copied into the image next to ``codec.py``; it imports only the stdlib, numpy,
gymnasium and the env's own package. Protocol, one JSON object per line each way:

    {"op": "make", "env_id", "kwargs", "modules"} -> {"ok", "observation_space",
                                                      "action_space", "metadata"}
    {"op": "reset", "seed", "options"}            -> {"ok", "obs", "info"}
    {"op": "step", "action"}                      -> {"ok", "obs", "reward",
                                                      "terminated", "truncated", "info"}
    {"op": "close"}                               -> {"ok"}, then the server exits
    any failure                                   -> {"ok": false, "error": {...}}

Every reply echoes the request's ``id``, so a line the env forged out of turn is seen.

The protocol's stdin/stdout are moved to private descriptors before the env's code
is imported, and fds 0/1 point at /dev/null and stderr, so an env that prints does not
corrupt the protocol by accident. The env's code could still write to the private
fds on purpose; the host treats every reply as hostile anyway.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import sys
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
for _sub in ("pkg", "deps"):
    sys.path.insert(0, os.path.join(HERE, _sub))
sys.path.insert(0, HERE)


def _protocol_streams() -> tuple:
    """Private copies of stdin/stdout for the protocol; fds 0/1 then go elsewhere."""
    proto_in = os.fdopen(os.dup(0), "rb")
    proto_out = os.fdopen(os.dup(1), "wb", buffering=0)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    sys.stdin = open(os.devnull)  # noqa: SIM115 - lives as long as the process
    sys.stdout = sys.stderr
    return proto_in, proto_out


def _jsonable(value):
    """numpy scalars/arrays in info become plain JSON values; anything else must be JSON."""
    import numpy as np

    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"info holds a {type(value).__name__}, which is not JSON")


class Server:
    """Serves one env; every op's answer is one line."""

    def __init__(self, out) -> None:
        self.out = out
        self.env = None
        self.request_id = None

    def reply(self, message: dict) -> None:
        message["id"] = self.request_id
        data = json.dumps(message, separators=(",", ":"), default=_jsonable, allow_nan=False)
        self.out.write(data.encode() + b"\n")

    def handle(self, request: dict) -> bool:
        """Answer one request; False once the server should exit."""
        import codec

        op = request.get("op")
        if op == "make":
            import gymnasium

            for module in request.get("modules") or []:
                importlib.import_module(module)
            self.env = gymnasium.make(request["env_id"], **(request.get("kwargs") or {}))
            meta = {k: v for k, v in self.env.metadata.items() if _is_json(v)}
            self.reply({"ok": True,
                        "observation_space": codec.encode_space(self.env.observation_space),
                        "action_space": codec.encode_space(self.env.action_space),
                        "metadata": meta})
        elif op == "reset":
            obs, info = self.env.reset(seed=request.get("seed"), options=request.get("options"))
            self.reply({"ok": True, "obs": codec.encode_value(self.env.observation_space, obs),
                        "info": info})
        elif op == "step":
            action = codec.decode_value(self.env.action_space, request["action"])
            obs, reward, terminated, truncated, info = self.env.step(action)
            reward = float(reward)
            self.reply({"ok": True, "obs": codec.encode_value(self.env.observation_space, obs),
                        "reward": reward if math.isfinite(reward) else repr(reward),
                        "terminated": bool(terminated), "truncated": bool(truncated),
                        "info": info})
        elif op == "close":
            if self.env is not None:
                self.env.close()
            self.reply({"ok": True})
            return False
        else:
            raise ValueError(f"unknown op {op!r}")
        return True


def _is_json(value) -> bool:
    try:
        json.dumps(value, allow_nan=False)
        return True
    except (TypeError, ValueError):
        return False


def main() -> int:
    proto_in, proto_out = _protocol_streams()
    server = Server(proto_out)
    for line in iter(proto_in.readline, b""):
        try:
            request = json.loads(line)
            server.request_id = request.get("id")
            if not server.handle(request):
                return 0
        except Exception as e:  # noqa: BLE001 - every failure is reported to the host
            server.reply({"ok": False, "error": {
                "type": type(e).__name__, "message": str(e)[:2000],
                "traceback": traceback.format_exc()[-4000:]}})
    return 0


if __name__ == "__main__":
    sys.exit(main())
