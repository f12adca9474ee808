"""The registry: sandgym/ namespace over Gymnasium's, idempotent, plugins never fatal."""

from __future__ import annotations

import logging
import re
import textwrap

import gymnasium as gym
import pytest

import sandgym.envs
from sandgym.envs import registration
from sandgym.envs.errors import EnvError

SHIPPED = ["sandgym/HumanEval-v0", "sandgym/PythonRepair-v0", "sandgym/PythonTests-v0",
           "sandgym/Shell-v0"]


@pytest.fixture
def forget():
    """Unregister ids a test registered."""
    ids: list[str] = []
    yield ids
    for env_id in ids:
        gym.registry.pop(env_id, None)
        registration._INFO.pop(env_id, None)


def test_shipped_envs_are_listed_with_family_description_and_task_count():
    infos = {e.id: e for e in sandgym.envs.registered_envs()}
    assert set(SHIPPED) <= set(infos)
    assert infos["sandgym/HumanEval-v0"].count() == 164
    assert infos["sandgym/PythonTests-v0"].count() >= 20
    assert all(infos[i].family == "code" and infos[i].description for i in SHIPPED)
    assert sandgym.envs.make is gym.make


def test_namespace_is_added_and_registering_twice_is_harmless(forget, caplog):
    forget.append("sandgym/RegTwice-v0")
    spec = sandgym.envs.register("RegTwice-v0", "sandgym.envs.code:PythonTestsEnv",
                                 family="test", description="d", tasks="builtin:python")
    with caplog.at_level(logging.WARNING):
        again = sandgym.envs.register("sandgym/RegTwice-v0", "sandgym.envs.code:PythonTestsEnv",
                                      family="test", description="d", tasks="builtin:python")
    assert spec is again and spec.id == "sandgym/RegTwice-v0"
    assert not caplog.records
    with caplog.at_level(logging.WARNING):
        sandgym.envs.register("sandgym/RegTwice-v0", "sandgym.envs.code:ShellEnv",
                              family="test", description="d")
    assert "re-registering sandgym/RegTwice-v0" in caplog.text
    assert gym.spec("sandgym/RegTwice-v0").entry_point == "sandgym.envs.code:ShellEnv"


def test_other_namespaces_are_refused_with_the_fix():
    with pytest.raises(EnvError, match=re.escape("register sandgym/X-v0 instead of other/X-v0")):
        sandgym.envs.register("other/X-v0", "m:C", family="f", description="d")


def test_ensure_registered_is_idempotent():
    before = dict(gym.registry)
    sandgym.envs.ensure_registered()
    sandgym.envs.ensure_registered()
    assert dict(gym.registry) == before


def test_mistyped_id_gets_a_suggestion():
    with pytest.raises(gym.error.NameNotFound, match=re.escape("Did you mean: `HumanEval`?")):
        gym.make("sandgym/HumanEvl-v0")


def test_plugins_are_discovered_and_a_broken_one_is_logged_and_skipped(
        tmp_path, monkeypatch, caplog, forget):
    forget.append("sandgym/PluginGood-v0")
    dist = tmp_path / "demo_plugins-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: demo-plugins\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(textwrap.dedent("""\
        [sandgym.envs]
        good = demo_good_plugin:register_envs
        broken = demo_broken_plugin
        """))
    (tmp_path / "demo_good_plugin.py").write_text(textwrap.dedent("""\
        from sandgym.envs import register

        def register_envs():
            register("sandgym/PluginGood-v0", "sandgym.envs.code:PythonTestsEnv",
                     family="demo", description="from a plugin", task_count=26)
        """))
    (tmp_path / "demo_broken_plugin.py").write_text("raise RuntimeError('plugin bug')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with caplog.at_level(logging.WARNING, logger="sandgym.envs.registration"):
        results = sandgym.envs.discover_plugins()
    assert results["good"] == "ok"
    assert results["broken"] == "RuntimeError: plugin bug"
    assert "sandgym plugin 'broken' (demo_broken_plugin) failed to load and is skipped" \
        in caplog.text
    info = sandgym.envs.env_info("sandgym/PluginGood-v0")
    assert (info.family, info.source, info.count()) == ("demo", "good", 26)


def test_register_accepts_what_gymnasium_register_accepts(forget):
    forget.append("sandgym/PlainCount-v0")
    spec = sandgym.envs.register(id="sandgym/PlainCount-v0",
                                 entry_point="tests.agents.fake_env:CountEnv",
                                 max_episode_steps=7, kwargs={"sandbox_error_at": 3})
    assert spec.max_episode_steps == 7 and spec.kwargs == {"sandbox_error_at": 3}
    info = sandgym.envs.env_info("sandgym/PlainCount-v0")
    assert info.describe() == "Say the numbers 1..N, one per turn."
    from tests.agents.fake_env import CountEnv

    assert sandgym.envs.env_class("sandgym/PlainCount-v0") is CountEnv
    traits = sandgym.envs.env_traits("sandgym/PlainCount-v0")
    assert (traits.multi_turn, traits.sandboxed, traits.batch_scoring) == (True, False, False)
    assert [t.name for t in traits.tools] == ["act"]


def test_builtin_traits_say_what_each_env_is():
    traits = {i: sandgym.envs.env_traits(i) for i in ("sandgym/PythonTests-v0",
                                                     "sandgym/PythonRepair-v0", "sandgym/Shell-v0")}
    assert [(t.multi_turn, t.holds_sandbox, t.batch_scoring) for t in traits.values()] == [
        (False, False, True), (True, False, True), (True, True, False)]
    assert [t.name for t in traits["sandgym/Shell-v0"].tools] == ["run_command", "submit"]
    assert traits["sandgym/PythonTests-v0"].default_timeout_s == 6.0
    schema = traits["sandgym/PythonTests-v0"].tools[0].openai_schema()
    assert schema["function"]["parameters"]["required"] == ["code"]


def test_import_sandgym_sandbox_loads_neither_gymnasium_nor_plugins():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-X", "importtime", "-c", "import sandgym.sandbox"],
                         capture_output=True, text=True, timeout=120, check=True)
    loaded = {line.rsplit("|", 1)[-1].strip() for line in out.stderr.splitlines()}
    assert "sandgym.sandbox" in loaded
    assert not {m for m in loaded if m == "gymnasium" or m.startswith("sandgym.envs")}
    code = ("import sandgym, gymnasium; env = gymnasium.make('sandgym/PythonTests-v0'); "
            "print(env.unwrapped.task_ids[0]); env.close()")
    made = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    assert made.stdout.strip() == "builtin/add"
