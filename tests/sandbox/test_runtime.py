"""The OCI runtime option (gVisor's runsc): chosen by name, refused clearly when absent."""

from __future__ import annotations

import re

import pytest

from sandgym.errors import RuntimeUnavailableError
from sandgym.sandbox import DockerSandbox, SandboxLimits, docker_client
from sandgym.sandbox.docker_sandbox import check_runtime
from sandgym.sandbox.owner import LABEL_MANAGED, LABEL_OWNER_PID


def _mine() -> list[str]:
    import os

    return [c.id for c in docker_client().containers.list(all=True, filters={
        "label": [f"{LABEL_MANAGED}=1", f"{LABEL_OWNER_PID}={os.getpid()}"]})]


def test_runtime_the_engine_lacks_fails_before_any_container_starts():
    before = _mine()
    limits = SandboxLimits(runtime="sandgym-no-such-runtime")
    with pytest.raises(RuntimeUnavailableError,
                       match=re.escape("the Docker engine has no 'sandgym-no-such-runtime' "
                                       "runtime (it has: ") + ".*runc"):
        DockerSandbox(limits=limits)
    assert _mine() == before


class _Engine:
    def __init__(self, runtimes: dict) -> None:
        self.runtimes = runtimes

    def info(self) -> dict:
        return {"Runtimes": self.runtimes}


def test_missing_runsc_says_how_to_install_and_register_it():
    with pytest.raises(RuntimeUnavailableError, match="apt-get install runsc.*runsc install"):
        check_runtime(_Engine({"runc": {"path": "runc"}}), "runsc")
    check_runtime(_Engine({"runc": {}, "runsc": {"path": "/usr/bin/runsc"}}), "runsc")


def test_runtime_is_validated_and_defaults_from_the_environment(monkeypatch):
    with pytest.raises(ValueError, match="runtime must be a runtime name"):
        SandboxLimits(runtime=" ")
    monkeypatch.delenv("SANDGYM_RUNTIME", raising=False)
    assert SandboxLimits().runtime is None
    monkeypatch.setenv("SANDGYM_RUNTIME", "runsc")
    assert SandboxLimits().runtime == "runsc"
    assert SandboxLimits().loosened() == []
