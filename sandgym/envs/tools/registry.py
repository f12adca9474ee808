"""Registration of the tool family's envs (string entry points: importing this is cheap)."""

from __future__ import annotations

from sandgym.envs.registration import register

__all__ = ["register_envs"]


def _count(name: str):  # noqa: ANN202 - a zero-argument callable for EnvInfo
    def count() -> int:
        from sandgym.envs import env_class

        return len(env_class(name).default_tasks())

    return count


def _accepted_count(name: str, **kwargs: object):  # noqa: ANN202 - a callable for EnvInfo
    """Tasks the env accepts on load (its gold replayed), which is what eval plays.

    For the envs whose loader rejects tasks (τ², BFCL); they run in-process, so making
    one starts no sandbox.
    """
    def count() -> int:
        from sandgym.envs import env_class

        env = env_class(name)(**kwargs)
        try:
            return len(env.task_ids)
        finally:
            env.close()

    return count


def register_envs() -> None:
    """Register Tau2Retail, Tau2Airline, BFCLMultiTurn (base, MissParam, LongContext,
    MissFunc),
    SqlQuery and WordProblems under ``sandgym/``."""
    register("sandgym/Tau2Retail-v0", "sandgym.envs.tools.envs:Tau2RetailEnv", family="tools",
             task_count=_accepted_count("sandgym/Tau2Retail-v0"),
             description="τ²-bench retail: typed tools over the store's database, a simulated "
             "customer; reward by gold replay and a diff of the final state.")
    register("sandgym/Tau2Airline-v0", "sandgym.envs.tools.envs:Tau2AirlineEnv",
             family="tools", task_count=_accepted_count("sandgym/Tau2Airline-v0"),
             description="τ²-bench airline: typed tools over flights and reservations, a "
             "simulated customer; reward by gold replay and a diff of the final state.")
    register("sandgym/BFCLMultiTurn-v0", "sandgym.envs.tools.bfcl_env:BFCLMultiTurnEnv",
             family="tools", task_count=_accepted_count("sandgym/BFCLMultiTurn-v0"),
             description="BFCL multi-turn (base): BFCL's stateful API classes as tools, a "
             "scripted user turn by turn; each turn checked as BFCL does (state and results).")
    for suffix, category, what in (("MissParam", "miss_param", "requests missing a "
                                    "parameter: the agent must not act until told"),
                                   ("LongContext", "long_context", "the classes loaded "
                                    "with long states"),
                                   ("MissFunc", "miss_func", "functions withheld until a "
                                    "later turn: the agent must not act without them")):
        register(f"sandgym/BFCLMultiTurn{suffix}-v0",
                 "sandgym.envs.tools.bfcl_env:BFCLMultiTurnEnv", family="tools",
                 kwargs={"category": category},
                 task_count=_accepted_count("sandgym/BFCLMultiTurn-v0", category=category),
                 description=f"BFCL multi-turn {category}: as BFCLMultiTurn-v0, {what}.")
    register("sandgym/SqlQuery-v0", "sandgym.envs.tools.envs:SqlEnv", family="tools",
             task_count=_count("sandgym/SqlQuery-v0"),
             description="SQL questions over a company database; SQLite runs in the sandbox; "
             "reward by result set (order-aware when asked).")
    register("sandgym/WordProblems-v0", "sandgym.envs.tools.envs:WordProblemsEnv",
             family="tools", task_count=_count("sandgym/WordProblems-v0"),
             description="Word problems with a sandboxed Python tool; reward by the exact "
             "numeric answer.")
