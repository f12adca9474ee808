"""`sandgym social ...`: run a simulated society and export its alignment data.

The social family's envs take their peers as injected `TextAgent` callables (no
import of `agents` in `envs`); this module is where sandgym policies are wired in.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import typer

from sandgym.rollouts.policies import MODEL_POLICY_HELP

logger = logging.getLogger(__name__)

app = typer.Typer(help="The social family: a society that rates and revises, scenarios, "
                  "and the alignment data they give (DPO, ranked responses, SFT).",
                  no_args_is_help=True)


def register(root: typer.Typer) -> None:
    """Attach `sandgym social` to the root app."""
    root.add_typer(app, name="social")


def policy_agent(policy: Any, *, temperature: float = 0.0, max_new_tokens: int = 128,
                 seed: int | None = None) -> Any:
    """A sandgym `Policy` as a batched `TextAgent` (conversations in, texts out)."""
    from sandgym.agents import SamplingParams
    from sandgym.rollouts.injected import PolicyAgent

    return PolicyAgent(policy, SamplingParams(temperature=temperature,
                                              max_new_tokens=max_new_tokens, seed=seed))


def _refuse_canonical(spec: str) -> None:
    """'canonical' replays a task's reference answer; social games have none."""
    if spec.strip() == "canonical":
        raise typer.BadParameter("'canonical' replays each task's reference answer, and "
                                 "social games have none: use a model policy or 'scripted'",
                                 param_hint="--policy")


def _scripted_or_policy(spec: str, *, rater: bool, temperature: float, max_new_tokens: int,
                        seed: int, batch_size: int | None) -> tuple[Any, Any]:
    """(agent, policy to close) for a spec; ``scripted`` is the family's scripted player."""
    if spec == "scripted":
        from sandgym.envs.social.scripted import LengthRater, template_author

        return (LengthRater() if rater else template_author), None
    from sandgym.agents import policy_from_spec

    _refuse_canonical(spec)
    options = {"batch_size": batch_size} if batch_size else {}
    policy = policy_from_spec(spec, **options)
    return policy_agent(policy, temperature=temperature, max_new_tokens=max_new_tokens,
                        seed=seed), policy


@app.command("simulate")
def simulate(
    agents: int = typer.Option(9, min=2, help="Number of agents on the grid."),
    rounds: int = typer.Option(3, min=1, help="Rounds (a question, drafts, ratings, "
                               "revisions, ratings)."),
    policy: str = typer.Option("default", help=MODEL_POLICY_HELP + "; or 'scripted' (template "
                               "answers, rule-based ratings: no model)."),
    rater_policy: str = typer.Option(None, help="Policy of the rating peers and the "
                                     "observer (default: --policy)."),
    mode: str = typer.Option("sandbox", help="'sandbox' (Stable Alignment) or 'matrix' "
                             "(one policy plays every role, reasons about consequences)."),
    radius: int = typer.Option(1, min=1, help="Grid radius of the rating neighbours."),
    random_raters: int = typer.Option(0, min=0, help="Extra random raters per answer."),
    questions_per_round: int = typer.Option(1, min=1, help="Distinct questions per round."),
    temperature: float = typer.Option(0.7, min=0.0, help="Authors' sampling temperature."),
    rater_temperature: float = typer.Option(0.0, min=0.0, help="Raters' temperature."),
    max_new_tokens: int = typer.Option(96, min=1, help="Tokens per answer."),
    rater_max_new_tokens: int = typer.Option(48, min=1, help="Tokens per rating."),
    batch_size: int = typer.Option(None, min=1, help="Model batch size (default: a whole "
                                   "phase at once)."),
    seed: int = typer.Option(0, help="Seeds the grid, questions and sampling."),
    out: str = typer.Option(..., help="Records, streamed to this .parquet file."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an earlier run's "
                                   "--out file and its .parts (default: refuse)."),
) -> None:
    """Run a society; print its stats (ratings asked, unparsable share, means) as JSON."""
    from sandgym.envs.social import ParquetSink, Society, SocietyConfig, record_schema
    from sandgym.envs.social.storage import refuse_existing

    if not overwrite:  # before a model loads: a killed run's parts are records to keep
        refuse_existing(out)

    config = SocietyConfig(agents=agents, rounds=rounds, radius=radius,
                           random_raters=random_raters,
                           questions_per_round=questions_per_round, mode=mode, seed=seed)
    author, closable = _scripted_or_policy(policy, rater=False, temperature=temperature,
                                           max_new_tokens=max_new_tokens, seed=seed,
                                           batch_size=batch_size)
    closables = [closable]
    raters = None
    if rater_policy is not None and rater_policy != policy:
        raters, other = _scripted_or_policy(rater_policy, rater=True,
                                            temperature=rater_temperature,
                                            max_new_tokens=rater_max_new_tokens, seed=seed,
                                            batch_size=batch_size)
        closables.append(other)
    elif policy == "scripted":
        raters, _ = _scripted_or_policy(policy, rater=True, temperature=0, max_new_tokens=1,
                                        seed=seed, batch_size=None)
    elif closable is not None:
        raters = policy_agent(closable, temperature=rater_temperature,
                              max_new_tokens=rater_max_new_tokens, seed=seed)
    if mode == "matrix":
        if policy == "scripted" or (rater_policy not in (None, policy)):
            raise typer.BadParameter("matrix mode plays every role with one model policy; "
                                     "drop --rater-policy and use a model --policy",
                                     param_hint="--mode")
        raters = None
    started = time.monotonic()
    society = Society(author, raters, config=config, run_id=f"society-{seed}")

    def progress(done: int, total: int, phase: str, stats: Any) -> None:
        logger.info("[%d/%d] %s (%.0f s): %d answers, %d of %d ratings unparsable", done,
                    total, phase, time.monotonic() - started, stats.answers, stats.missing,
                    stats.ratings)

    try:
        with ParquetSink(out, record_schema(), overwrite=overwrite) as sink:
            stats = society.run(sink=sink.write, progress=progress)
    finally:
        for p in closables:
            if p is not None:
                p.close()
    typer.echo(json.dumps({"out": out, "agents": agents, "rounds": rounds, "mode": mode,
                           "seconds": round(time.monotonic() - started, 1),
                           **stats.as_dict()}))


export_app = typer.Typer(help="Alignment datasets from social runs (datasets.load_from_disk).",
                         no_args_is_help=True)
app.add_typer(export_app, name="export")


def _export(kind: str, source: str, out: str, rows: list[dict[str, Any]], records: int,
            why_empty: str) -> None:
    """Save the rows; with none, `EmptyExportError` (one ``error:`` line, exit 1) says
    ``why_empty`` and nothing is written."""
    from sandgym.train.export import save_rows

    path = save_rows(rows, out, kind=kind, why_empty=why_empty,
                     stats={"source": source, "records": records, "rows": len(rows)})
    logger.info("%s export: %d rows from %d records -> %s", kind, len(rows), records, path)
    typer.echo(json.dumps({"kind": kind, "out": out, "rows": len(rows), "records": records}))


def _read(source: str, want: str) -> list[dict[str, Any]]:
    """The records of ``source``, checked to be ``want`` (``society`` or ``scenario``).

    Why: a rollout file or the other social kind used to fail deep in the export with a
    KeyError traceback; this names the command that reads the file instead.
    """
    from sandgym.envs.social.storage import RecordKindError, read_records, record_kind

    records = read_records(source)
    kind = record_kind(records)
    if kind in (want, "empty"):
        return records
    right = {"rollout": f"`sandgym export sft|dpo --from {source}`",
             "society": f"`sandgym social export dpo|ranked --from {source}`",
             "scenario": f"`sandgym social export sft --from {source}`"}
    what = {"rollout": "rollouts (from `sandgym rollout`/`eval`)",
            "society": "a society run (from `sandgym social simulate`)",
            "scenario": "scenario episodes (from `sandgym social scenarios`)"}
    if kind in right:
        raise RecordKindError(f"{source} holds {what[kind]}, not {what[want]}: export it with "
                              f"{right[kind]}")
    raise RecordKindError(f"{source} holds neither a society run nor scenario episodes; "
                          f"expected {what[want]}")


@export_app.command("dpo")
def export_dpo(
    source: str = typer.Option(..., "--from", help="A society run (.parquet from "
                                "`sandgym social simulate`)."),
    out: str = typer.Option(..., help="Output directory."),
    min_gap: float = typer.Option(2.0, min=0.0, help="Smallest gap between the best and the "
                                  "worst revision's mean peer rating (1-7 scale)."),
) -> None:
    """Best vs worst revision per question as prompt/chosen/rejected for DPOTrainer."""
    from sandgym.envs.social.export import society_dpo_rows

    records = _read(source, "society")
    _export("social-dpo", source, out, society_dpo_rows(records, min_gap=min_gap),
            len(records), f"no question had two different rated revisions at least "
            f"--min-gap {min_gap:g} apart in mean peer rating; lower --min-gap (or run "
            "more agents or rounds)")


@export_app.command("ranked")
def export_ranked(
    source: str = typer.Option(..., "--from", help="A society run (.parquet)."),
    out: str = typer.Option(..., help="Output directory."),
) -> None:
    """Stable Alignment's ranked responses: per question, every rated answer, best first."""
    from sandgym.envs.social.export import society_ranked_rows

    records = _read(source, "society")
    _export("social-ranked", source, out, society_ranked_rows(records), len(records),
            "no answer had a valid peer rating")


@export_app.command("sft")
def export_sft(
    source: str = typer.Option(..., "--from", help="Scenario episodes (.parquet from "
                                "`sandgym social scenarios`)."),
    out: str = typer.Option(..., help="Output directory."),
    min_goal: float = typer.Option(7.0, help="Keep episodes whose judged goal is above this "
                                   "(SOTOPIA-π keeps goal > 7)."),
) -> None:
    """SOTOPIA-π-style SFT records: the learner's side of well-judged scenario episodes."""
    from sandgym.envs.social.export import scenario_sft_rows

    records = _read(source, "scenario")
    _export("social-sft", source, out, scenario_sft_rows(records, min_goal=min_goal),
            len(records), f"no episode without a rule violation had a judged goal above "
            f"--min-goal {min_goal:g}; lower --min-goal")


@app.command("scenarios")
def scenarios(
    policy: str = typer.Option("default", help=MODEL_POLICY_HELP + "; plays the learner's side."),
    partner_policy: str = typer.Option("scripted", help="The other side: a policy spec or "
                                       "'scripted' (accepts any deal, else asks)."),
    judge_policy: str = typer.Option("scripted", help="The judge: a policy spec or "
                                     "'scripted' (a rule-based baseline)."),
    limit: int = typer.Option(None, min=1, help="Play the first N scenarios only."),
    max_turns: int = typer.Option(4, min=1, help="Learner lines per episode at most."),
    temperature: float = typer.Option(0.7, min=0.0, help="Learner's sampling temperature."),
    max_new_tokens: int = typer.Option(96, min=1, help="Tokens per line."),
    seed: int = typer.Option(0, help="Sampling seed."),
    out: str = typer.Option(..., help="Episode records, written to this .parquet file."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an earlier run's "
                                   "--out file and its .parts (default: refuse)."),
) -> None:
    """Play each scenario once; judged episodes go to Parquet (then `export sft`)."""
    from sandgym.envs.social.scenario_env import ScenarioEnv
    from sandgym.envs.social.scenario_runs import play_scenarios, scenario_record_schema
    from sandgym.envs.social.scripted import RuleJudge, agreeable_partner
    from sandgym.envs.social.storage import ParquetSink, refuse_existing

    if not overwrite:
        refuse_existing(out)

    def build(spec: str, scripted: Any, tokens: int) -> tuple[Any, Any]:
        if spec == "scripted":
            return scripted, None
        from sandgym.agents import policy_from_spec

        _refuse_canonical(spec)
        p = policy_from_spec(spec)
        return policy_agent(p, temperature=0.0, max_new_tokens=tokens, seed=seed), p

    learner, learner_policy = build(policy, None, max_new_tokens)
    if learner is None:
        raise typer.BadParameter("the learner needs a model policy", param_hint="--policy")
    if learner_policy is not None:
        learner = policy_agent(learner_policy, temperature=temperature,
                               max_new_tokens=max_new_tokens, seed=seed)
    partner, partner_p = build(partner_policy, agreeable_partner, max_new_tokens)
    judge, judge_p = build(judge_policy, RuleJudge(), 400)
    env = ScenarioEnv(partner, judge, max_turns=max_turns)
    try:
        with ParquetSink(out, scenario_record_schema(), overwrite=overwrite) as sink:
            records = play_scenarios(env, learner, env.task_ids[:limit] if limit else None,
                                     on_record=lambda r: sink.write([r]))
    finally:
        for p in (learner_policy, partner_p, judge_p):
            if p is not None:
                p.close()
    judged = [r for r in records if r["goal"] is not None]
    typer.echo(json.dumps({"out": out, "episodes": len(records), "judged": len(judged),
                           "mean_goal": (sum(r["goal"] for r in judged) / len(judged)
                                         if judged else None)}))
