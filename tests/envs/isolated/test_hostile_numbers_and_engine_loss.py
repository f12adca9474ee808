"""Host-side error handling that needs no engine: numbers a hostile reply may carry,
and an engine that stops answering while a service container starts or closes.

The Docker client here is a fake on purpose: what is tested is our handling of the
transport's errors (requests' ConnectionError), which a live engine cannot be made to
raise on cue without restarting it.
"""

from __future__ import annotations

import json
import logging
import socket
import struct
from types import SimpleNamespace

import pytest
import requests.exceptions
from gymnasium import spaces

from sandgym.envs.isolated import ContainerEnv, IsolatedEnvProtocolError
from sandgym.errors import EngineUnavailableError
from sandgym.sandbox import SandboxLimits
from sandgym.sandbox.lines import ChannelGarbage, LineChannel
from sandgym.sandbox.service import ServiceContainer


def _channel_with(line: bytes) -> LineChannel:
    host, peer = socket.socketpair()
    payload = line + b"\n"
    peer.sendall(struct.pack(">BxxxI", 1, len(payload)) + payload)
    peer.close()
    return LineChannel(host, 1 << 20)


@pytest.mark.parametrize("line", [
    b'{"id":1,"ok":true,"info":{"x":1e400}}',
    b'{"id":1,"ok":true,"reward":-1e400}',
    b'{"id":1,"ok":true,"reward":' + str(10**400).encode() + b'}',
    b'{"id":1,"ok":true,"info":{"x":' + str(-(2**64) - 1).encode() + b'}}',
    b'{"id":1,"ok":true,"info":{"x":1' + b'0' * 5000 + b'}}',
    b'{"id":1,"ok":true,"reward":NaN}',
])
def test_numbers_the_host_cannot_use_are_garbage(line):
    channel = _channel_with(line)
    try:
        with pytest.raises(ChannelGarbage):
            channel.receive(5.0)
    finally:
        channel.close()


def test_ordinary_numbers_still_parse():
    message = {"id": 1, "reward": -1.5e300, "info": {"u64": 2**64 - 1, "i64": -(2**63),
                                                     "small": 1e-300, "obs": "AAAAAA=="}}
    channel = _channel_with(json.dumps(message).encode())
    try:
        assert channel.receive(5.0) == message
    finally:
        channel.close()


class _FakeChannel:
    def __init__(self, reply: dict) -> None:
        self.reply = reply

    def send(self, message, timeout):
        self.reply["id"] = message["id"]

    def receive(self, timeout):
        return self.reply

    def stderr_tail(self) -> str:
        return ""

    def close(self) -> None:
        pass


def test_huge_int_reward_is_a_protocol_error_and_kills_the_env():
    """10**400 made math.isfinite raise OverflowError, skipping the kill."""
    killed = []
    env = ContainerEnv.__new__(ContainerEnv)
    env.env_id, env.step_timeout_s, env._dead, env._next_id = "fake", 1.0, False, 0
    env.observation_space = env.action_space = spaces.Discrete(2)
    env._service = SimpleNamespace(channel=_FakeChannel(
        {"ok": True, "obs": 0, "reward": 10**400, "terminated": False, "truncated": False,
         "info": {}}))
    env._finalizer = lambda: killed.append(True)
    with pytest.raises(IsolatedEnvProtocolError, match="finite"):
        env.step(0)
    assert killed and env._dead


def _engine_down(*args, **kwargs):
    raise requests.exceptions.ConnectionError("('Connection aborted.', FileNotFoundError)")


class _FakeContainer:
    id = "f" * 64

    def __init__(self) -> None:
        self.removes = 0

    def remove(self, force=False):
        self.removes += 1
        _engine_down()


def _fake_client(container: _FakeContainer, **api_overrides):
    api = SimpleNamespace(create_container_config=lambda *a, **k: {},
                          create_host_config=lambda **k: {},
                          create_container_from_config=lambda config: {"Id": container.id},
                          attach_socket=_engine_down)
    for name, value in api_overrides.items():
        setattr(api, name, value)
    return SimpleNamespace(api=api, containers=SimpleNamespace(get=lambda cid: container))


def test_engine_lost_during_start_cleans_up_and_raises_typed():
    container = _FakeContainer()
    service = ServiceContainer("img", client=_fake_client(container),
                               limits=SandboxLimits(runtime=None))
    with pytest.raises(EngineUnavailableError, match="stopped answering"):
        service.start()
    assert service.closed and container.removes == 1


def test_close_with_the_engine_gone_warns_instead_of_raising(caplog):
    container = _FakeContainer()
    service = ServiceContainer("img", client=_fake_client(container),
                               limits=SandboxLimits(runtime=None))
    service._container = container
    with caplog.at_level(logging.WARNING, logger="sandgym.sandbox.service"):
        service.close()
    assert container.removes == 1 and service.closed
    assert "auto-removal" in caplog.text


def test_fail_keeps_its_typed_error_when_the_engine_is_gone():
    """ContainerEnv._fail closes the container; an engine that is down must not replace
    the typed error with the transport's ConnectionError."""
    container = _FakeContainer()
    service = ServiceContainer("img", client=_fake_client(container),
                               limits=SandboxLimits(runtime=None))
    service._container = container
    env = ContainerEnv.__new__(ContainerEnv)
    env.env_id, env.step_timeout_s, env._dead, env._next_id = "fake", 1.0, False, 0
    env.observation_space = env.action_space = spaces.Discrete(2)
    service.channel = _FakeChannel({"ok": True, "obs": 0, "reward": "nan",
                                    "terminated": False, "truncated": False, "info": {}})
    env._service = service
    env._finalizer = service.close
    with pytest.raises(IsolatedEnvProtocolError):
        env.step(0)
    assert service.closed


def test_package_digest_is_memoized_until_the_package_changes(tmp_path, monkeypatch):
    """Many envs from one package hash it once per process; an edit re-hashes it."""
    from sandgym.envs.isolated import image

    package = tmp_path / "pkg"
    (package / "mod").mkdir(parents=True)
    (package / "mod" / "__init__.py").write_text("X = 1\n")
    cached = SimpleNamespace(id="sha256:base")  # every image "exists": nothing is built
    client = SimpleNamespace(images=SimpleNamespace(get=lambda name: cached))
    hashed = []
    real_hash = image._hash_tree
    monkeypatch.setattr(image, "_hash_tree", lambda *a: hashed.append(1) or real_hash(*a))
    first = image.build_isolated_image(package, client=client)
    assert image.build_isolated_image(package, client=client) == first
    assert len(hashed) == 1
    (package / "mod" / "__init__.py").write_text("X = 22\n")
    assert image.build_isolated_image(package, client=client) != first
    assert len(hashed) == 2
