"""Third-party envs run wholly in containers: same API, hostile behaviour contained.

Real Docker, no mocks. examples/untrusted_env is the third-party package; it is also
imported in-process (from its source) to compare rollouts.
"""

from __future__ import annotations

import gc
import shutil
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from sandgym.envs.isolated import (
    ROLE,
    ContainerEnv,
    IsolatedEnvClosedError,
    IsolatedEnvCrashedError,
    IsolatedEnvProtocolError,
    IsolatedEnvRemoteError,
    IsolatedEnvSpaceError,
    IsolatedEnvTimeoutError,
    make_isolated,
)
from sandgym.sandbox import docker_client
from sandgym.sandbox.owner import owner_labels
from sandgym.sandbox.service import LABEL_ROLE

PACKAGE = Path(__file__).resolve().parents[3] / "examples" / "untrusted_env"
WALK = "untrusted_env:UntrustedEnv/Walk-v0"
HOSTILE = "untrusted_env:UntrustedEnv/Hostile-v0"


def our_containers() -> list[str]:
    """Isolated-env containers of this process, listed by their labels."""
    labels = [f"{LABEL_ROLE}={ROLE}", f"sandgym.owner={owner_labels()['sandgym.owner']}"]
    return sorted(c["Id"] for c in docker_client().api.containers(
        all=True, filters={"label": labels}))


@pytest.fixture(autouse=True)
def no_leaks():
    """Every test leaves exactly the containers it found (none of ours)."""
    before = our_containers()
    yield
    gc.collect()
    assert our_containers() == before


@pytest.fixture(scope="module", autouse=True)
def in_process_package():
    """The same package importable on the host, for the in-process baseline."""
    sys.path.insert(0, str(PACKAGE / "src"))
    yield
    sys.path.remove(str(PACKAGE / "src"))


def hostile(behaviour: str, *, env_kwargs: dict | None = None, **kwargs) -> ContainerEnv:
    return make_isolated(HOSTILE, PACKAGE, env_kwargs={"behaviour": behaviour,
                                                       **(env_kwargs or {})}, **kwargs)


def assert_same(a, b) -> None:
    if isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b)
        for key in a:
            assert_same(a[key], b[key])
    elif isinstance(a, (tuple, list)):
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert_same(x, y)
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes()
    else:
        assert a == b and not isinstance(b, np.ndarray)


def test_check_env_passes():
    env = make_isolated(WALK, PACKAGE)
    try:
        check_env(env, skip_render_check=True)
    finally:
        env.close()


def test_rollouts_equal_in_process():
    """Same seeds and actions give bit-identical observations, rewards, flags and info."""
    actions = np.random.default_rng(0).integers(0, 4, size=30).tolist()
    isolated = make_isolated(WALK, PACKAGE)
    local = gymnasium.make(WALK)
    try:
        for seed in (0, 7, 12345):
            assert_same(local.reset(seed=seed), isolated.reset(seed=seed))
            for action in actions:
                mine, theirs = local.step(action), isolated.step(action)
                assert_same(mine[0], theirs[0])
                assert mine[1:] == theirs[1:]
                if mine[2] or mine[3]:
                    break
    finally:
        isolated.close()
        local.close()


def test_container_is_hardened():
    env = make_isolated(WALK, PACKAGE)
    try:
        attrs = docker_client().api.inspect_container(env.container_id)
        host = attrs["HostConfig"]
        assert host["NetworkMode"] == "none" and host["ReadonlyRootfs"] is True
        assert host["CapDrop"] == ["ALL"] and not host["CapAdd"]
        assert "no-new-privileges" in host["SecurityOpt"]
        assert host["Memory"] > 0 and host["Memory"] == host["MemorySwap"]
        assert host["PidsLimit"] > 0 and host["Binds"] is None
        assert not attrs["Config"]["User"].startswith("0")
    finally:
        env.close()
    assert env.container_id not in our_containers()


def test_registered_id_through_gymnasium_make():
    """An id whose entry point is ContainerEnv isolates through plain gymnasium.make."""
    gymnasium.register(id="IsolatedWalk-v0", entry_point="sandgym.envs.isolated:ContainerEnv",
                       kwargs={"env_id": WALK, "package": str(PACKAGE)}, max_episode_steps=5)
    try:
        env = gymnasium.make("IsolatedWalk-v0")
        env.reset(seed=1)
        steps = 0
        while True:
            steps += 1
            *_, terminated, truncated, _ = env.step(0)
            if terminated or truncated:
                break
        assert steps <= 5
        env.close()
    finally:
        del gymnasium.registry["IsolatedWalk-v0"]


def test_host_files_are_invisible(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("host secret")
    env = hostile("read_file", env_kwargs={"path": str(secret)})
    try:
        env.reset(seed=0)
        info = env.step(0)[-1]
        assert info.get("read_error") == "FileNotFoundError" and "read" not in info
    finally:
        env.close()
    env = hostile("read_file", env_kwargs={"path": "/etc/hostname"})
    try:
        env.reset(seed=0)
        assert env.step(0)[-1]["read"].strip() == "sandbox"
    finally:
        env.close()


def test_no_network():
    env = hostile("network")
    try:
        env.reset(seed=0)
        info = env.step(0)[-1]
        assert info["interfaces"] == ["lo"]
        assert "connected" not in info and len(info["errors"]) == 3
    finally:
        env.close()


def test_endless_loop_times_out_and_kills_the_container():
    env = hostile("spin", step_timeout_s=2.0)
    env.reset(seed=0)
    cid = env.container_id
    with pytest.raises(IsolatedEnvTimeoutError, match="did not answer step"):
        env.step(0)
    assert cid not in our_containers()
    with pytest.raises(IsolatedEnvClosedError):
        env.reset(seed=0)
    env.close()


@pytest.mark.parametrize("behaviour, error", [
    ("garbage", IsolatedEnvProtocolError),
    ("bad_obs", IsolatedEnvSpaceError),
    ("nan_reward", IsolatedEnvProtocolError),
    ("exit", IsolatedEnvCrashedError),
    ("forge", IsolatedEnvProtocolError),
    ("huge_int_reward", IsolatedEnvProtocolError),  # 10**400: OverflowError escaped before
    ("inf_in_info", IsolatedEnvProtocolError),      # 1e400 parsed as inf before
])
def test_hostile_replies_become_typed_errors(behaviour, error):
    env = hostile(behaviour)
    env.reset(seed=0)
    cid = env.container_id
    match = {"huge_int_reward": r"integer 1000+\.\.\. is out of range",
             "inf_in_info": "1e400 is not a finite float"}.get(behaviour)
    with pytest.raises(error, match=match):
        env.step(0)
    assert cid not in our_containers()
    env.close()


def test_endless_line_is_capped():
    env = hostile("huge", max_message_bytes=1 << 20)
    env.reset(seed=0)
    with pytest.raises(IsolatedEnvProtocolError, match="longer than"):
        env.step(0)
    env.close()


def test_printing_env_still_works():
    """stdout prints of the env go to stderr, not into the protocol."""
    env = hostile("print")
    try:
        env.reset(seed=0)
        for _ in range(3):
            obs, reward, *_ = env.step(1)
        assert env.observation_space.contains(obs) and isinstance(reward, float)
    finally:
        env.close()


def test_env_exception_is_a_remote_error():
    with pytest.raises(IsolatedEnvRemoteError, match="behaviour must be one of") as caught:
        hostile("not-a-behaviour")
    assert caught.value.remote_type == "ValueError"


def test_dropped_env_is_removed():
    env = make_isolated(WALK, PACKAGE)
    cid = env.container_id
    assert cid in our_containers()
    del env
    gc.collect()
    assert cid not in our_containers()


def test_wheel_package(tmp_path):
    """A built wheel is unpacked into the image (no pip there, no code run to install)."""
    # Built from a copy: setuptools writes build/ and *.egg-info into the source tree, and
    # the example's src/ (what make_isolated copies into images) must stay as shipped.
    source = shutil.copytree(PACKAGE, tmp_path / "source",
                             ignore=shutil.ignore_patterns("build", "*.egg-info"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--no-build-isolation", "--no-index", "-w", str(tmp_path), str(source)],
                   check=True, timeout=300, cwd=tmp_path)
    (wheel,) = tmp_path.glob("untrusted_env-*.whl")
    env = make_isolated(WALK, wheel)
    try:
        obs, _ = env.reset(seed=3)
        assert_same(gymnasium.make(WALK).reset(seed=3)[0], obs)
    finally:
        env.close()
        # A fresh wheel (new timestamps inside) hashes to a new image each run: remove it,
        # or every test run would leave ~120 MB behind.
        docker_client().images.remove(env.image, force=True)


def test_container_goes_when_the_host_process_dies():
    """A host killed without any cleanup still leaves nothing: the server reads EOF."""
    code = (f"import os, sys; sys.path.insert(0, {str(PACKAGE / 'src')!r}); import sandgym; "
            f"env = sandgym.make_isolated({WALK!r}, {str(PACKAGE)!r}); env.reset(seed=0); "
            f"print(env.container_id, flush=True); os._exit(0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, check=True)
    cid = out.stdout.strip().splitlines()[-1]
    client = docker_client()
    for _ in range(300):  # removal is asynchronous; poll (bounded) until it is done
        if not client.api.containers(all=True, filters={"id": cid}):
            break
        time.sleep(0.1)
    assert not client.api.containers(all=True, filters={"id": cid})


def test_env_kwargs_are_a_dict_and_cannot_clash():
    """The env's kwargs travel in env_kwargs=, apart from make_isolated's own parameters."""
    env = make_isolated(WALK, PACKAGE, env_kwargs={"size": 3}, step_timeout_s=5.0)
    try:
        assert env.observation_space["grid"].shape == (3, 3)
        assert env.step_timeout_s == 5.0
    finally:
        env.close()
    with pytest.raises(TypeError):
        make_isolated(WALK, PACKAGE, size=3)  # loose keywords are no longer swallowed


def _package_copy(tmp_path: Path) -> Path:
    package = tmp_path / "pkg"
    shutil.copytree(PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__"))
    return package


def test_symlink_to_a_host_file_is_refused(tmp_path):
    """A package's ``creds -> <host secret>`` must not be copied into the image."""
    secret = tmp_path / "secret"
    secret.write_text("aws_secret_access_key = host-only")
    package = _package_copy(tmp_path)
    link = package / "src" / "untrusted_env" / "creds"
    link.symlink_to(secret)
    with pytest.raises(ValueError, match="symlink") as caught:
        make_isolated(WALK, package)
    assert str(link) in str(caught.value)


def test_symlinked_directory_is_refused(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "id_rsa").write_text("host key")
    package = _package_copy(tmp_path)
    (package / "src" / "untrusted_env" / "keys").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ValueError, match="symlink"):
        make_isolated(WALK, package)
    src_link = tmp_path / "pkg2"
    src_link.mkdir()
    (src_link / "src").symlink_to(package / "src", target_is_directory=True)
    with pytest.raises(ValueError, match="symlink"):
        make_isolated(WALK, src_link)


def _wheel(tmp_path: Path, name: str, *, symlink: bool = False) -> Path:
    wheel = tmp_path / "evil-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("evil/__init__.py", "")
        info = zipfile.ZipInfo(name)
        if symlink:
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, "/root/.aws/credentials" if symlink else "pwned")
    return wheel


@pytest.mark.parametrize("name, symlink, match", [
    ("../evil", False, "outside"),
    ("evil/../../evil", False, "outside"),
    ("/etc/evil", False, "outside"),
    ("evil/creds", True, "symlink"),
])
def test_wheel_that_unpacks_outside_or_links_is_refused(tmp_path, name, symlink, match):
    with pytest.raises(ValueError, match=match):
        make_isolated("evil:Evil-v0", _wheel(tmp_path, name, symlink=symlink))
