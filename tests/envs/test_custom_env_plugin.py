"""examples/custom_env: a separate package registering its env through the entry point.

It is installed into a temporary directory (no change to the test environment) and
discovered by `import sandgym` in a fresh process and in a Ray worker.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "custom_env"


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory) -> Path:
    """examples/custom_env installed with pip into a throwaway target directory."""
    work = tmp_path_factory.mktemp("plugin")
    source = work / "src"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    site = work / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", "--no-index", "--target", str(site), str(source)],
                   check=True, timeout=300)
    assert (site / "sandgym_example_env" / "tasks.jsonl").is_file()
    return site


def run_fresh(site: Path, code: str, timeout: float = 300) -> dict:
    env = {**os.environ, "PYTHONPATH": str(site), "SANDGYM_POOL_SIZE": "1"}
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env,
                         capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_plugin_env_is_discovered_made_and_graded_in_a_fresh_process(plugin_site):
    report = run_fresh(plugin_site, """
        import json, gymnasium, sandgym
        from gymnasium.utils.env_checker import check_env
        info = sandgym.envs.env_info("sandgym/ExampleStrings-v0")
        env = gymnasium.make("sandgym/ExampleStrings-v0")
        check_env(env.unwrapped)
        env.reset(options={"task_id": "example/initials"})
        answer = env.unwrapped.reference_answer("example/initials")
        _, reward, terminated, _, step_info = env.step(answer)
        env.reset(options={"task_id": "example/initials"})
        _, wrong, *_ = env.step("def initials(name):\\n    return name[:1].upper()\\n")
        env.close()
        print(json.dumps({"source": info.source, "family": info.family, "reward": reward,
                          "terminated": terminated, "wrong": wrong,
                          "mode": step_info["reward_components"]["mode"]}))
    """)
    assert report == {"source": "example", "family": "example", "reward": 1.0,
                      "terminated": True, "wrong": pytest.approx(2 / 3), "mode": "fraction"}


def test_plugin_env_is_discovered_in_a_ray_worker(plugin_site):
    report = run_fresh(plugin_site, """
        import json, ray
        ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)

        @ray.remote
        def probe():
            import gymnasium, sandgym
            env = gymnasium.make("sandgym/ExampleStrings-v0")  # no sandbox until used
            ids = env.unwrapped.task_ids
            env.close()
            return gymnasium.spec("sandgym/ExampleStrings-v0").entry_point, ids

        entry_point, ids = ray.get(probe.remote(), timeout=240)
        ray.shutdown()
        print(json.dumps({"entry_point": entry_point, "tasks": len(ids)}))
    """)
    assert report == {"entry_point": "sandgym_example_env.env:StringTasksEnv", "tasks": 3}
