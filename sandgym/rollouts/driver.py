"""`collect`: play many episodes on a Ray cluster and stream them to Parquet.

The driver plans every episode (deterministic ids), skips those already stored, hands
the rest to workers in batches, and owns everything stateful: the retry counters, the
set of written ids (an episode is written exactly once), and the output file.

Failure handling, in one place:

* a batch's episode with ``sandbox_error`` is re-queued (next attempt, maybe on another
  worker) until ``max_attempts``; then it is written with ``sandbox_error=True``;
* a worker that dies (killed, OOM) or hangs past ``batch_timeout_s`` is replaced and
  its in-flight episodes re-queued under the same bound; past it they are written as
  ``sandbox_error`` rows whose ``error`` says the worker died;
* an exception raised inside a worker (a bug, a broken policy) re-queues the batch;
  an episode exhausting its attempts that way aborts the run with the remote error;
* workers that keep dying before finishing a batch (no image, no engine, a policy that
  cannot load) abort the run with `WorkerStartError`; episodes whose attempts were all
  spent on such workers never ran, so they are *not* written (a rerun with the fault
  fixed plays them). Rows are only ever written for episodes a run is done with, so a
  collection never holds two rows of one episode id and resume stays "skip what is
  stored";
* Ctrl-C stops the workers (their pools remove the containers), writes what finished,
  and raises `RolloutInterrupted` carrying the summary.

What is checked before Ray starts: the policy spec (`check_policy_spec`; a model path
only when Ray runs here, see `_preflight_policy`), the env and its tasks, and that the
output file was collected with the same settings (`run_identity`; `TrajectoryStore`
refuses a mismatch).
"""

from __future__ import annotations

import difflib
import logging
import math
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ray

from sandgym.agents.specs import check_policy_spec, is_path_spec
from sandgym.rollouts.config import SANDBOX_RESOURCE, EpisodeSpec, RolloutConfig, plan_episodes
from sandgym.rollouts.errors import NoSandboxNodesError, RolloutError, WorkerStartError
from sandgym.rollouts.progress import NullProgress, make_progress
from sandgym.rollouts.result import CollectResult, CollectStats
from sandgym.rollouts.storage import TrajectoryStore, strip_ansi
from sandgym.rollouts.worker import PolicySource, RolloutWorker

if TYPE_CHECKING:
    from sandgym.agents import SamplingParams

__all__ = ["RolloutInterrupted", "check_policy_spec", "collect", "default_sampling",
           "ray_session", "resolve_tasks", "run_identity", "worker_capacity"]

logger = logging.getLogger(__name__)

RecordHook = Callable[[dict[str, Any]], None]


class RolloutInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a collection; ``result`` summarises what was saved."""

    def __init__(self, result: CollectResult) -> None:
        super().__init__(f"interrupted after {result.episodes} episodes (saved to "
                         f"{result.out}; rerun with the same --out to resume)")
        self.result = result


def collect(env_id: str, policy: PolicySource = "default", *, out: str | os.PathLike[str],
            tasks: Sequence[str] | None = None, limit: int | None = None,
            samples_per_task: int = 1, num_workers: int = 2, address: str | None = None,
            sampling: SamplingParams | None = None, config: RolloutConfig | None = None,
            progress: bool | NullProgress | None = None,
            on_record: RecordHook | None = None) -> CollectResult:
    """Collect ``samples_per_task`` episodes of each task into a Parquet file.

    Args:
        env_id: a registered env, e.g. ``sandgym/HumanEval-v0``.
        policy: ``default``, ``openai:URL#MODEL``, a model directory or ``canonical``;
            or a picklable zero-argument factory returning a `Policy`, called once in
            each worker (e.g. ``functools.partial(ScriptedPolicy, ["..."])``).
        out: the ``.parquet`` file; existing episodes in it are skipped (resume).
        tasks: task ids to play (default: all of the env's tasks, in order).
        limit: keep only the first ``limit`` tasks.
        samples_per_task: episodes per task (ids ``ENV|TASK|0..K-1``).
        num_workers: rollout actors; capped by how many fit at once (`worker_capacity`:
            sandbox slots, CPUs and GPUs per node), since Ray would queue the rest.
        address: None starts a private local Ray (declaring the sandbox resource after
            checking Docker); ``"auto"`` or ``"ray://host:10001"`` joins a cluster. If
            Ray is already initialised in this process it is used as is.
        sampling: decoding settings; default `default_sampling` (greedy for one sample
            per task, temperature 0.8 for several, as ``sandgym eval`` does).
        config: batch size, retries, resources, timeouts (`RolloutConfig`).
        progress: True for a live bar, False for log lines, None to pick by terminal;
            or a `NullProgress`-like object.
        on_record: called in the driver with each record as it is written.

    Returns:
        The `CollectResult` summary.

    Raises:
        RolloutInterrupted: on Ctrl-C, after saving what finished (a KeyboardInterrupt).
        sandgym.agents.PolicySpecError: ``policy`` is no valid spec (before Ray starts;
            a model path only without an ``address``: a cluster's workers load it from
            their own filesystem, `_preflight_policy`).
        StorageError: ``out`` holds episodes collected with other settings
            (`run_identity`), or another run is writing it.
        NoSandboxNodesError: the cluster has no node declaring ``sandgym_sandbox``.
        WorkerStartError: workers keep dying before finishing anything.
        RolloutError: an episode kept raising inside the workers.

    Example:
        >>> result = collect("sandgym/HumanEval-v0", "canonical", limit=4,   # doctest: +SKIP
        ...                  out="runs/check.parquet")
        >>> result.pass_rate
        1.0
    """
    config = config or RolloutConfig()
    if num_workers < 1:
        raise ValueError(f"num_workers must be >= 1, got {num_workers}")
    if isinstance(policy, str):
        _preflight_policy(policy, address)
    label = policy if isinstance(policy, str) else _factory_name(policy)
    if sampling is None:
        sampling = default_sampling(samples_per_task)
    _warn_identical_samples(label, sampling, samples_per_task)
    task_ids = resolve_tasks(env_id, tasks, limit, env_kwargs=config.env_kwargs)
    plan = plan_episodes(env_id, task_ids, samples_per_task)
    reporter = progress if isinstance(progress, NullProgress) else make_progress(progress)
    out = Path(out)
    store = TrajectoryStore(out, row_group_size=config.row_group_size,
                            flush_interval_s=config.flush_interval_s,
                            identity=run_identity(env_id, label, sampling, config))
    todo = [spec for spec in plan if spec.episode_id not in store.finished_ids]
    stats = CollectStats(total=len(todo), skipped=len(plan) - len(todo))
    if stats.skipped:
        logger.info("%s: %d of %d episodes already stored; resuming", out, stats.skipped,
                    len(plan))
    workers_used = 0
    interrupted = False
    try:
        if todo:
            run = _Run(env_id, policy, label, sampling, config, store, stats, on_record)
            with ray_session(address, num_workers=num_workers, config=config) as slots:
                workers_used = _worker_count(num_workers, slots, len(todo), config)
                reporter.start(stats, f"{env_id} × {label}")
                try:
                    run.execute(todo, workers_used, reporter)
                finally:
                    with _sigint_deferred():
                        run.shutdown()
                        reporter.update(stats)
                        reporter.stop()
    except KeyboardInterrupt:
        interrupted = True
        logger.warning("interrupted: workers stopped; %d finished episodes saved to %s "
                       "(rerun with the same --out to resume)", stats.done, out)
    finally:
        with _sigint_deferred():
            store.close()  # flush and merge: what finished is kept however the run ended
    result = CollectResult.from_stats(stats, out=str(out), env_id=env_id, policy=label,
                                      num_workers=workers_used, interrupted=interrupted)
    if interrupted:
        raise RolloutInterrupted(result)
    return result


def _joins_cluster(address: str | None) -> bool:
    """Whether ``address`` joins an existing Ray cluster (None and ``local`` start one)."""
    return address is not None and address.strip() not in ("", "local")


def _preflight_policy(spec: str, address: str | None) -> None:
    """`check_policy_spec` as far as the driver can tell, before Ray starts.

    A model directory is loaded by the workers, from *their* filesystem. When Ray runs
    here (no ``address``, or ``local``) that is this one, so a path that holds no model
    is refused now. A driver joining a cluster (``auto``, ``ray://HOST:10001``: e.g. a
    laptop whose model lives on the cluster's storage) cannot see it, so a path spec is
    left to the workers; the other forms (``default``, ``canonical``, ``openai:...``,
    bare words) are checked as always.

    Raises:
        sandgym.agents.PolicySpecError: ``spec`` is no valid spec.
    """
    if _joins_cluster(address) and is_path_spec(spec):
        logger.info("policy %r is a path: not checked here, since the workers of the "
                    "cluster at %s load it from their own filesystem", spec, address)
        return
    check_policy_spec(spec)


def _identity_policy(policy: str) -> str:
    """``policy`` as a run identity names it: a model path made absolute.

    ``runs/x``, ``./runs/x`` and ``/home/me/runs/x`` are one policy; the named forms
    (``default``, ``canonical``, ``openai:URL#MODEL``) and a factory's name are kept as
    written (a bare word only counts as a path when it is a directory here).
    """
    from sandgym.agents.specs import CANONICAL

    spec = policy.strip()
    if spec in (CANONICAL, "default", "scripted") or spec.startswith("openai:"):
        return spec
    if is_path_spec(spec) or Path(spec).is_dir():
        return str(Path(spec).expanduser().resolve())
    return spec


_IDENTITY_IGNORED_ENV_KWARGS = frozenset({"tasks"})
"""Env kwargs that choose which tasks are played, not how: left out of `run_identity`
(``--env-arg tasks=FILE`` may change between runs, like ``--tasks``)."""


def run_identity(env_id: str, policy: str, sampling: SamplingParams | None,
                 config: RolloutConfig) -> dict[str, Any]:
    """What makes a collection's episodes what they are, stored with its file.

    The episode id (``ENV|TASK|SAMPLE``) names none of it, so resuming with another
    policy, env kwargs (``reward_mode``, ``timeout_s``), sampling or turn limit would
    silently skip episodes played differently and mix two runs in one file;
    `TrajectoryStore` refuses that. Left out on purpose: the task list (``--tasks``,
    ``--limit`` and the ``tasks`` env kwarg) and the number of samples (growing a
    collection is what resume is for) and how the run is scheduled (workers, batch
    size, retries, ``policy_options`` such as device). A path policy is stored absolute
    (`_identity_policy`), so ``runs/x`` and ``./runs/x`` resume one collection.
    """
    import dataclasses

    env_kwargs = {key: value for key, value in config.env_kwargs.items()
                  if key not in _IDENTITY_IGNORED_ENV_KWARGS}
    return {"env_id": env_id, "policy": _identity_policy(policy), "env_kwargs": env_kwargs,
            "sampling": dataclasses.asdict(sampling) if sampling is not None else None,
            "max_turns": config.max_turns}


def _factory_name(factory: Any) -> str:
    func = getattr(factory, "func", factory)  # functools.partial
    return getattr(func, "__name__", type(func).__name__)


def default_sampling(samples_per_task: int, max_new_tokens: int = 256) -> SamplingParams:
    """Greedy for one sample per task; temperature 0.8 when several should differ."""
    from sandgym.agents import SamplingParams

    return SamplingParams(temperature=0.0 if samples_per_task == 1 else 0.8,
                          max_new_tokens=max_new_tokens)


def _warn_identical_samples(policy: str, sampling: SamplingParams, k: int) -> None:
    if k > 1 and sampling.temperature == 0.0 and policy != "canonical":
        logger.warning("samples_per_task=%d with greedy decoding gives %d identical samples "
                       "per task; set a temperature > 0 to sample", k, k)


def resolve_tasks(env_id: str, tasks: Sequence[str] | None, limit: int | None, *,
                  env_kwargs: dict[str, Any] | None = None) -> list[str]:
    """The task ids to play: given ones (checked) or the env's own, cut to ``limit``.

    The env is made as the workers make it (``env_kwargs``: a ``split=`` or ``tasks=``
    changes the task set) but without a pool, so no container starts on the driver, and
    without the injected parties (``policy:SPEC`` values), which no task list depends on.
    """
    import gymnasium

    from sandgym.rollouts.injected import POLICY_PREFIX
    from sandgym.rollouts.policies import ensure_envs

    if limit is not None and limit < 1:
        raise ValueError(f"limit must be >= 1, got {limit}")
    ensure_envs()
    listing_kwargs = {key: value for key, value in (env_kwargs or {}).items()
                      if not (isinstance(value, str) and value.startswith(POLICY_PREFIX))}
    try:
        env = gymnasium.make(env_id, **listing_kwargs)
    except (TypeError, ValueError) as e:  # a bad env kwarg: say so before any worker starts
        raise RolloutError(f"cannot make {env_id} with env_kwargs {listing_kwargs}: {e}") from e
    try:
        known = list(getattr(env.unwrapped, "task_ids", None) or [])
    finally:
        env.close()
    if not known:
        raise RolloutError(f"{env_id} exposes no task_ids; rollouts need an env with a task "
                           "set: a `task_ids` attribute and options={'task_id': ...} in "
                           "reset (sandgym.envs.SandboxEnv provides both; see docs/envs.md)")
    if tasks is not None:
        index = set(known)
        for task_id in tasks:
            if task_id not in index:
                close = difflib.get_close_matches(task_id, known, n=3)
                hint = f"; did you mean {close}?" if close else ""
                raise RolloutError(f"{env_id} has no task {task_id!r}{hint}")
        known = list(dict.fromkeys(tasks))
    return known[:limit] if limit is not None else known


def _worker_count(requested: int, slots: float, episodes: int, config: RolloutConfig) -> int:
    """Workers worth starting: no more than fit at once, nor than batches to play.

    ``slots`` is `worker_capacity`: a worker beyond it would not fail, Ray would queue
    it until another ends, and its first batch would wait there (up to
    ``batch_timeout_s``) while it adds nothing to throughput.
    """
    n = min(requested, int(slots), math.ceil(episodes / config.batch_size))
    if int(slots) < requested:
        logger.warning("the cluster fits %d rollout worker(s) at once (each asks for one %s "
                       "slot, %g CPU and %g GPU); starting %d instead of %d. A policy served "
                       "elsewhere (openai:, latency_s) mostly waits: num_cpus_per_worker=0.25 "
                       "(--num-cpus 0.25) fits more", int(slots), SANDBOX_RESOURCE,
                       config.num_cpus_per_worker, config.num_gpus_per_worker, n, requested)
    return max(n, 1)


def worker_capacity(nodes: Iterable[Mapping[str, Any]], config: RolloutConfig) -> int:
    """How many rollout workers the cluster runs at once, node by node.

    An actor lives on one node, so each alive node contributes the fewest of its
    sandbox slots, its CPUs over ``num_cpus_per_worker`` and its GPUs over
    ``num_gpus_per_worker`` (a request of 0 does not limit). Counting the cluster's
    totals instead would let 1-CPU workers on two half-full nodes look like they fit.

    Args:
        nodes: `ray.nodes()` entries (``Alive`` and the ``Resources`` totals).
        config: the per-worker requests.

    Example:
        >>> node = {"Alive": True, "Resources": {"CPU": 2.0, "sandgym_sandbox": 4.0}}
        >>> worker_capacity([node], RolloutConfig(num_cpus_per_worker=1.0))
        2
        >>> worker_capacity([node], RolloutConfig(num_cpus_per_worker=0.25))
        4
    """
    total = 0
    for node in nodes:
        if not node.get("Alive", True):
            continue
        resources = node.get("Resources") or {}
        fits = math.floor(resources.get(SANDBOX_RESOURCE, 0.0) + _EPS)
        for name, need in (("CPU", config.num_cpus_per_worker),
                           ("GPU", config.num_gpus_per_worker)):
            if need > 0:
                fits = min(fits, math.floor(resources.get(name, 0.0) / need + _EPS))
        total += max(fits, 0)
    return total


_EPS = 1e-9
"""Resource quotients are floored: 1.0 / 0.1 must count 10 workers, not 9."""


@contextmanager
def ray_session(address: str | None, *, num_workers: int,
                config: RolloutConfig) -> Iterator[float]:
    """Connect to Ray for a collection; yield how many workers fit at once.

    Without an address a private local Ray starts, declaring ``num_workers`` sandbox
    slots once ``docker info`` answers here; it is shut down afterwards (which also
    ends any worker still alive). With an address the driver joins the cluster and
    disconnects afterwards. An already initialised Ray is used and left running.

    Raises:
        sandgym.errors.EngineUnavailableError: local start without a Docker engine.
        NoSandboxNodesError: no node declares the sandbox resource.
    """
    os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    init_args: dict[str, Any] | None = None
    if ray.is_initialized():
        if address is not None:
            logger.info("Ray is already initialised in this process; ignoring address=%r",
                        address)
    elif address is None:
        from sandgym.sandbox import docker_client

        docker_client()  # a clear error now rather than dying workers later
        cpus = max(os.cpu_count() or 1, math.ceil(num_workers * config.num_cpus_per_worker))
        init_args = {"address": "local", "num_cpus": cpus,
                     "resources": {SANDBOX_RESOURCE: num_workers}, "include_dashboard": False,
                     "object_store_memory": 256 * 1024**2}
    else:
        init_args = {"address": address}
    try:
        if init_args is not None:
            with _sigint_deferred():
                _init_ray(init_args, local=address is None)
        yield _check_cluster(config)
    finally:
        if init_args is not None and ray.is_initialized():
            with _sigint_deferred():
                ray.shutdown()


LOCAL_START_ATTEMPTS = 2
"""Tries to start a local Ray node. Ray waits a fixed 30 s for its raylet to register;
on a small machine busy with sandboxes and a model that wait can run out once."""


def _init_ray(init_args: dict[str, Any], *, local: bool) -> None:
    """``ray.init``; a local node that timed out during start-up is started once more."""
    attempts = LOCAL_START_ATTEMPTS if local else 1
    for attempt in range(1, attempts + 1):
        try:
            ray.init(logging_level=logging.WARNING, **init_args)
            return
        except Exception as e:  # noqa: BLE001 - Ray raises a bare Exception here
            if attempt == attempts or "timed out during startup" not in str(e):
                raise
            logger.warning("the local Ray node timed out during start-up (a busy machine?); "
                           "starting it again (attempt %d of %d)", attempt + 1, attempts)
            ray.shutdown()


def _check_cluster(config: RolloutConfig) -> float:
    """Workers that fit at once (`worker_capacity`), or an error saying how to add them."""
    resources = ray.cluster_resources()
    slots = resources.get(SANDBOX_RESOURCE, 0)
    if slots < 1:
        raise NoSandboxNodesError(
            f"no Ray node offers the {SANDBOX_RESOURCE!r} resource, so no node is known "
            "to run sandboxes. On each node with Docker and the sandbox image, start Ray "
            f"with: ray start ... --resources='{{\"{SANDBOX_RESOURCE}\": 4}}' "
            "(see docs/cluster.md)")
    if config.num_gpus_per_worker > resources.get("GPU", 0):
        raise RolloutError(f"workers request {config.num_gpus_per_worker} GPU(s) but the "
                           "cluster has none; set num_gpus_per_worker=0 or add GPU nodes")
    try:
        nodes = ray.nodes()
    except Exception as e:  # noqa: BLE001 - a client that cannot list nodes: slots only
        logger.debug("ray.nodes() failed (%s); counting sandbox slots only", e)
        return slots
    capacity = worker_capacity(nodes, config)
    if capacity < 1:
        raise RolloutError(
            f"no node with a {SANDBOX_RESOURCE!r} slot has {config.num_cpus_per_worker:g} "
            f"CPU(s) and {config.num_gpus_per_worker:g} GPU(s) for a worker; lower "
            "num_cpus_per_worker / num_gpus_per_worker or give those nodes more")
    return capacity


@contextmanager
def _sigint_deferred() -> Iterator[None]:
    """Hold Ctrl-C until the block ends, then raise it.

    Ray's start-up and shutdown, and closing the workers, must not be cut in half (an
    interrupted ``ray.init`` can crash the process at exit; an interrupted cleanup
    could leave containers behind). A Ctrl-C pressed meanwhile is not lost: it is
    raised as KeyboardInterrupt as soon as the block is done.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pressed: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: pressed.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if pressed:
        raise KeyboardInterrupt


@dataclass
class _Slot:
    """One worker position; its worker is replaced when it dies."""

    index: int
    worker: RolloutWorker
    ready: bool = False
    """Its pool is warm and its policy loaded; until then it holds one batch at most."""
    refs: set[Any] = field(default_factory=set)
    batches_done: int = 0
    last_progress: float = field(default_factory=time.monotonic)
    dead: bool = False


class _Run:
    """The scheduling loop of one collection (driver side)."""

    def __init__(self, env_id: str, policy: PolicySource, label: str,
                 sampling: SamplingParams | None,
                 config: RolloutConfig, store: TrajectoryStore, stats: CollectStats,
                 on_record: RecordHook | None) -> None:
        self.env_id = env_id
        self.policy = policy
        self.label = label
        self.sampling = sampling
        self.config = config
        self.store = store
        self.stats = stats
        self.on_record = on_record
        self.queue: deque[EpisodeSpec] = deque()
        self.inflight: dict[Any, tuple[_Slot, list[EpisodeSpec]]] = {}
        self.starting: dict[Any, _Slot] = {}  # a worker's start-up ref -> its slot
        self.slots: list[_Slot] = []
        self.start_failures = 0
        self.last_start_error: BaseException | None = None
        self.batches_ok = 0
        self.unstarted: list[dict[str, Any]] = []
        """Failure records of episodes whose attempts all went to workers that died
        before finishing a batch: written once a batch of this run proves workers can
        play (as for any worker death: the episode may be the culprit), dropped when the
        run ends in `WorkerStartError` or without any batch played, since such episodes
        never ran and a fixed rerun must play them."""

    # ------------------------------------------------------------------ loop

    def execute(self, todo: list[EpisodeSpec], num_workers: int,
                reporter: NullProgress | None = None) -> None:
        """Play every episode of ``todo`` (and their retries) to a written record."""
        self.queue.extend(todo)
        self.slots = [self._new_slot(i) for i in range(num_workers)]
        while self.queue or self.inflight:
            self._dispatch()
            ready, _ = ray.wait([*self.inflight, *self.starting], num_returns=1,
                                timeout=self.config.poll_interval_s)
            for ref in ready:
                if ref in self.starting:
                    self._started(ref)
                elif ref in self.inflight:  # a dead worker's other refs are already handled
                    self._receive(ref)
            self._check_hung()
            self.store.maybe_flush()
            if reporter is not None:
                reporter.update(self.stats)
        if self.unstarted and not self.batches_ok:  # no worker ever played a batch
            self._abort_start(None)
        self._write_unstarted()  # others did: these workers died at a bad time

    def _abort_start(self, cause: BaseException | None) -> None:
        """Give up on workers that cannot start, leaving their episodes unstored."""
        held_back = [record["episode_id"] for record in self.unstarted]
        if self.unstarted:
            logger.warning("%d episode(s) never ran (their workers died starting); they are "
                           "not stored, so a rerun with the same --out plays them",
                           len(self.unstarted))
            self.unstarted = []
        cause = cause or self.last_start_error
        raise WorkerStartError(_start_error_message(self.start_failures, cause, held_back)) \
            from cause

    def _write_unstarted(self) -> None:
        """Store the held-back failures: a batch finished, so workers can play."""
        records, self.unstarted = self.unstarted, []
        for record in records:
            self._write(record)

    def _new_slot(self, index: int) -> _Slot:
        worker = RolloutWorker(self.env_id, self.policy, self.config, sampling=self.sampling)
        slot = _Slot(index, worker)
        self.starting[worker.request_info()] = slot
        return slot

    def _started(self, ref: Any) -> None:
        """A worker finished starting (warm start): it may take more than one batch."""
        from ray.exceptions import RayError

        slot = self.starting.pop(ref)
        try:
            ray.get(ref, timeout=60)
        except RayError as e:
            self._worker_lost(slot, [], f"worker failed to start: {_first_line(e)}", e)
        else:
            slot.ready = True
            slot.last_progress = time.monotonic()

    def _dispatch(self) -> None:
        """Hand out batches: every worker's first one before anyone's second.

        A second (queued) batch keeps a worker busy while the driver round-trips, but
        near the end it could leave another worker idle, so it is only queued while
        there is work left for every worker; the last episodes are split evenly. A
        worker still starting holds one batch at most (warm start): the rest goes to
        started workers instead of waiting behind a model load or a cold pool.
        """
        n = len(self.slots)
        for level in range(1, self.config.inflight_per_worker + 1):
            if level > 1 and len(self.queue) < self.config.batch_size * n:
                return
            needing = [slot for slot in self.slots if len(slot.refs) < level
                       and (slot.ready or level == 1)]
            for i, slot in enumerate(needing):
                if not self.queue:
                    return
                share = math.ceil(len(self.queue) / (len(needing) - i))
                size = min(self.config.batch_size, share)
                batch = [self.queue.popleft() for _ in range(size)]
                if not slot.refs:
                    slot.last_progress = time.monotonic()
                ref = slot.worker.submit(batch)
                slot.refs.add(ref)
                self.inflight[ref] = (slot, batch)

    def _receive(self, ref: Any) -> None:
        from ray.exceptions import RayActorError, RayError, RayTaskError

        slot, batch = self.inflight.pop(ref)
        slot.refs.discard(ref)
        try:
            result = ray.get(ref, timeout=60)
        except RayActorError as e:
            self._worker_lost(slot, batch, f"worker died: {_first_line(e)}", e)
        except RayTaskError as e:
            self._batch_failed(batch, e)
        except RayError as e:  # object lost with its node, etc.
            self._worker_lost(slot, batch, f"worker lost: {_first_line(e)}", e)
        else:
            slot.batches_done += 1
            slot.last_progress = time.monotonic()
            self.start_failures = 0
            self.batches_ok += 1
            self._write_unstarted()
            self._accept(batch, result)
            if self.stats.warm_at is None and all(s.batches_done for s in self.slots):
                self.stats.mark_warm()

    def _accept(self, batch: list[EpisodeSpec], result: dict[str, Any]) -> None:
        by_id = {spec.episode_id: spec for spec in batch}
        for record in result["records"]:
            spec = by_id[record["episode_id"]]
            if record.get("sandbox_error") and spec.attempt < self.config.max_attempts:
                logger.info("episode %s: sandbox error (attempt %d/%d), retrying: %s",
                            spec.episode_id, spec.attempt, self.config.max_attempts,
                            record.get("error"))
                self._requeue(spec)
            else:
                self._write(record)
        self.stats.add_batch(result)

    def _write(self, record: dict[str, Any]) -> None:
        if record["episode_id"] in self.store.finished_ids:
            logger.debug("dropping a second copy of episode %s", record["episode_id"])
            return
        record["finished_at"] = time.time()
        self.store.append(record)
        self.stats.add(record)
        if self.on_record is not None:
            self.on_record(record)

    def _requeue(self, spec: EpisodeSpec) -> None:
        self.stats.retries += 1
        self.queue.appendleft(spec.retry())

    # ------------------------------------------------------------------ failures

    def _worker_lost(self, slot: _Slot, batch: list[EpisodeSpec], reason: str,
                     cause: BaseException) -> None:
        """Re-queue everything the worker held and put a fresh worker in its slot."""
        lost = list(batch)
        for ref in list(slot.refs):
            lost += self.inflight.pop(ref)[1]
        slot.refs.clear()
        for ref, starting in list(self.starting.items()):
            if starting is slot:
                del self.starting[ref]
        logger.warning("rollout worker %d: %s; %d episode(s) will be retried", slot.index,
                       reason, len(lost))
        start_failure = slot.batches_done == 0
        for spec in lost:
            if spec.attempt < self.config.max_attempts:
                self._requeue(spec)
            elif start_failure:
                self.unstarted.append(self._failure_record(spec, reason))
            else:
                self._write(self._failure_record(spec, reason))
        if start_failure:
            self.start_failures += 1
            self.last_start_error = cause
            if self.start_failures >= self.config.worker_start_failures:
                self._abort_start(cause)
        slot.worker.kill()
        self.slots[slot.index] = self._new_slot(slot.index)
        self.stats.worker_restarts += 1

    def _batch_failed(self, batch: list[EpisodeSpec], error: BaseException) -> None:
        """An exception inside the worker: retry, and abort once an episode runs out."""
        for spec in batch:
            if spec.attempt >= self.config.max_attempts:
                raise RolloutError(f"episode {spec.episode_id} failed in the worker "
                                   f"{spec.attempt} times; last error:\n{error}") from error
        logger.warning("a batch of %d episodes raised in its worker; retrying: %s",
                       len(batch), _first_line(error))
        for spec in batch:
            self._requeue(spec)

    def _check_hung(self) -> None:
        now = time.monotonic()
        for ref, slot in list(self.starting.items()):
            if now - slot.last_progress > self.config.batch_timeout_s:
                del self.starting[ref]
                self._worker_lost(slot, [], f"not started after {self.config.batch_timeout_s:.0f}"
                                  " s (hung); killed", TimeoutError("start timeout"))
        for slot in list(self.slots):
            if slot.refs and now - slot.last_progress > self.config.batch_timeout_s:
                ref = next(iter(slot.refs))
                _, batch = self.inflight.pop(ref)
                slot.refs.discard(ref)
                slot.batches_done = max(slot.batches_done, 1)  # hung, not a start failure
                self._worker_lost(slot, batch, f"no result for {self.config.batch_timeout_s:.0f}"
                                  " s (hung); killed", TimeoutError("batch timeout"))

    def _failure_record(self, spec: EpisodeSpec, reason: str) -> dict[str, Any]:
        from sandgym.agents import Trajectory

        record = Trajectory(episode_id=spec.episode_id, env_id=self.env_id,
                            task_id=spec.task_id, policy=self.label, sandbox_error=True,
                            truncated=True, seed=spec.seed).to_record()
        record.update(sample_index=spec.sample_index, attempts=spec.attempt, worker=None,
                      error=f"{reason} (attempt {spec.attempt}/{self.config.max_attempts})")
        return record

    # ------------------------------------------------------------------ shutdown

    def shutdown(self, timeout: float = 15.0) -> None:
        """Close every worker (their pools remove the containers), then kill them."""
        closing = []
        for slot in self.slots:
            try:
                closing.append(slot.worker.request_close())
            except Exception as e:  # noqa: BLE001 - a dead actor cannot be asked
                logger.debug("asking worker %d to close failed: %s", slot.index, e)
        if closing:
            ray.wait(closing, num_returns=len(closing), timeout=timeout)
        for slot in self.slots:
            slot.worker.kill()
        self.slots = []
        self.inflight.clear()
        self.starting.clear()


_HELD_BACK_SHOWN = 5
"""Held-back episode ids a `WorkerStartError` names (then how many more)."""


def _start_error_message(failures: int, cause: BaseException | None,
                        held_back: Sequence[str] = ()) -> str:
    """The `WorkerStartError` text: the cause, where to look, and what was not stored.

    Workers dying in their first batch look like workers that cannot start, but the
    culprit may be an episode (one that gets its worker OOM-killed): its attempts all
    end that way, it is held back, never stored, and every resume plays it first and
    ends here again. So the held-back ids are named (the first `_HELD_BACK_SHOWN` and
    the count), with the way out: a rerun that leaves them out.
    """
    text = (f"{failures} rollout workers in a row died before finishing a batch; last "
            f"error: {strip_ansi(str(cause))}. Check Docker and the sandbox image on the "
            "worker nodes (`sandgym image status`) and the policy spec.")
    if held_back:
        shown = ", ".join(held_back[:_HELD_BACK_SHOWN])
        more = len(held_back) - _HELD_BACK_SHOWN
        if more > 0:
            shown += f" and {more} more"
        text += (f" {len(held_back)} episode(s) never ran and are not stored ({shown}); "
                 "a rerun plays them first. If those episodes themselves kill their "
                 "workers (e.g. out of memory), every rerun ends here: rerun with them "
                 "excluded (--tasks listing the other task ids).")
    return text


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:300] if text else type(error).__name__
