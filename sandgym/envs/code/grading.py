"""Grade one Python answer in a sandbox: the single grading path of the code family.

The answer runs as untrusted code (the worker) while the trusted judge runs the tests
against it (see `sandgym.envs.code.sandbox_side`). The verdict is built only from the
judge's record, which the answer cannot write: never from exit codes or printed text.
The record must carry this run's random nonce (given to the judge alone), be
well-formed, and count every hidden test as passed for the answer to pass.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

from sandgym.envs.code.extract import extract_code
from sandgym.envs.code.programs import JUDGE_PROGRAM, worker_program
from sandgym.envs.tasks.schema import CodeTask
from sandgym.errors import RequestTooLargeError, SandboxError
from sandgym.sandbox import DockerSandbox, ExecResult

logger = logging.getLogger(__name__)

__all__ = ["Grade", "grade_answer", "parse_record", "read_record", "read_suite", "read_trivial",
           "run_judge", "sandbox_error_grade", "trivial_passed"]

JUDGE_GRACE_S = 5.0
"""Seconds past the judge's budget before the executor kills the run."""
_OUTCOME_STATUS = {"pass": "pass", "failing_tests": "fail", "runtime_error": "error",
                   "syntax_error": "error", "timeout": "timeout",
                   "sandbox_error": "sandbox_error"}


@dataclass(frozen=True)
class Grade:
    """What grading one answer found. `verdict()` is its deterministic, JSON-ready form."""

    outcome: str
    """pass | failing_tests | runtime_error | syntax_error | timeout | sandbox_error"""
    passed: int = 0
    total: int = 0
    load: str = "ok"
    """How the answer loaded: ok | syntax_error | runtime_error | timeout | crash |
    too_large (the answer was over the sandbox's request limit and was not run)."""
    load_error: str | None = None
    tests: tuple[str, ...] = ()
    """Outcome of each hidden test: pass | fail | error | timeout | crash."""
    errors: tuple[str | None, ...] = ()
    public_passed: int = 0
    public_total: int = 0
    feedback: str | None = None
    """Public-test feedback for the model (only when public tests were requested)."""
    trivial_passed: int | None = None
    """Most hidden tests a trivial answer (a constant, or an argument handed back)
    passes; ``total`` when its measurement ran out of time; None when not asked
    (``trivial_baseline``). Partial-credit rewards pay only above it."""
    exec_status: str = "ok"
    detail: str = ""
    duration_s: float = field(default=0.0, compare=False)

    @property
    def status(self) -> str:
        """pass | fail | error | timeout | sandbox_error."""
        return _OUTCOME_STATUS[self.outcome]

    @property
    def sandbox_error(self) -> bool:
        """True when the infrastructure failed: no reward may be derived."""
        return self.outcome == "sandbox_error"

    def verdict(self) -> dict[str, Any]:
        """The structured verdict (no timings, so equal runs give equal verdicts)."""
        out: dict[str, Any] = {
            "status": self.status, "outcome": self.outcome, "passed": self.passed,
            "total": self.total, "load": self.load, "load_error": self.load_error,
            "tests": list(self.tests), "errors": list(self.errors),
            "exec_status": self.exec_status,
        }
        if self.public_total:
            out["public_passed"] = self.public_passed
            out["public_total"] = self.public_total
        if self.detail:
            out["detail"] = self.detail
        if self.trivial_passed is not None:
            out["trivial_passed"] = self.trivial_passed
        return out


def sandbox_error_grade(detail: str, duration_s: float = 0.0) -> Grade:
    """The grade of a run the infrastructure could not complete."""
    return Grade("sandbox_error", exec_status="sandbox_error", detail=detail[:500],
                 duration_s=duration_s)


def grade_answer(sandbox: DockerSandbox, task: CodeTask, reply: str, *, timeout_s: float,
                 public: bool = False, trivial_baseline: bool = False) -> Grade:
    """Run the hidden (and, if asked, public) tests of task against a model reply.

    Args:
        sandbox: a healthy sandbox held by the caller.
        task: the task; its tests go only to the judge (``judge_input``).
        reply: the model's whole reply; the code is extracted from it.
        timeout_s: the judge's budget for loading the answer and running all tests.
        public: also run the public tests and return feedback text for the model.
        trivial_baseline: also measure what a trivial answer passes
            (`Grade.trivial_passed`), which partial-credit reward modes need.

    Returns:
        The Grade; infrastructure failures come back as outcome ``sandbox_error``. An
        answer too large to send to the sandbox is not run and fails (``runtime_error``,
        load ``too_large``); the sandbox is untouched.
    """
    code = extract_code(reply, task.entry_point)
    trivial = None
    if trivial_baseline:
        trivial = trivial_passed(sandbox, task)
        if trivial is None:  # without it no reward can be given: not the answer's fault
            return sandbox_error_grade("the task's trivial baseline could not be measured")
    try:
        result, nonce = run_judge(sandbox, task, code, timeout_s=timeout_s, public=public)
    except RequestTooLargeError as e:
        return dataclasses.replace(_too_large_grade(task, code, e, public),
                                   trivial_passed=trivial)
    grade = parse_record(result, nonce, task_id=task.id)
    if trivial is None or grade.sandbox_error:
        return grade
    return dataclasses.replace(grade, trivial_passed=trivial)


def _too_large_grade(task: CodeTask, code: str, error: RequestTooLargeError, public: bool
                     ) -> Grade:
    """The answer's failure when the answer made the request too large, else the task's."""
    answer_bytes = (len(worker_program(code, task.entry_point, task.code_prefix))
                    - len(worker_program("", task.entry_point, task.code_prefix)))
    if error.size - answer_bytes > error.limit:  # too large even with an empty answer
        logger.error("task %s is too large to grade (%s); scored as a sandbox_error, fix the "
                     "task file or raise SandboxLimits.request_mb", task.id, error)
        return sandbox_error_grade(f"task too large to send: {error}")
    message = (f"the answer is too large to run: {len(code)} characters, {error.size} bytes "
               f"once encoded for the sandbox, over the limit of {error.limit} bytes")
    return Grade("runtime_error", load="too_large", load_error=message,
                 feedback=f"Your code did not load (too_large):\n{message}" if public else None,
                 exec_status="not_run", detail=message)


def run_judge(sandbox: DockerSandbox, task: CodeTask, code: str, *, timeout_s: float,
              public: bool = False, trivial_only: bool = False) -> tuple[ExecResult, str]:
    """One judged run of ``code`` against task's tests; returns (result, nonce).

    The raw result (with the answer's stderr) is for diagnostics and tests; only
    `parse_record` may turn it into a verdict. With ``trivial_only`` the judge grades
    no answer and measures the task's trivial baseline (`trivial_passed`).
    """
    nonce = secrets.token_hex(16)
    spec = {"nonce": nonce, "budget_s": timeout_s, "prefix": task.code_prefix,
            "setup": task.test_setup, "entry_point": task.entry_point,
            "hidden": list(task.hidden_tests),
            "public": list(task.public_tests) if public else None,
            "public_feedback": public, "trivial_only": trivial_only}
    result = sandbox.run_judged(worker_program(code, task.entry_point, task.code_prefix),
                                judge=JUDGE_PROGRAM, judge_input=json.dumps(spec).encode(),
                                timeout=timeout_s + JUDGE_GRACE_S)
    return result, nonce


def read_record(stdout: str, nonce: str) -> dict[str, Any] | None:
    """The judge's record if stdout is exactly one well-formed record with our nonce."""
    text = stdout.strip()
    if not text or "\n" in text:
        return None
    try:
        record = json.loads(text)
    except ValueError:
        return None
    if (not isinstance(record, dict) or record.get("judge") != "sandgym"
            or record.get("version") != 1 or record.get("nonce") != nonce
            or not isinstance(record.get("load"), dict)):
        return None
    return record


def read_suite(record: dict[str, Any], key: str) -> dict[str, Any] | None:
    suite = record.get(key)
    if not isinstance(suite, dict):
        return None
    total, passed, outcomes = suite.get("total"), suite.get("passed"), suite.get("outcomes")
    if (type(total) is not int or type(passed) is not int or not isinstance(outcomes, list)
            or len(outcomes) != total or outcomes.count("pass") != passed):
        return None
    return suite


def _classify(load: str, outcomes: list[str]) -> str:
    if load == "syntax_error":
        return "syntax_error"
    if load == "timeout":
        return "timeout"
    if load != "ok":
        return "runtime_error"
    if outcomes and all(o == "pass" for o in outcomes):
        return "pass"
    if "timeout" in outcomes:
        return "timeout"
    if "error" in outcomes or "crash" in outcomes:
        return "runtime_error"
    return "failing_tests"


TRIVIAL_BUDGET_S = 30.0
"""Time budget of a task's baseline run, whatever the env's per-answer budget: the
baseline (a task's figure, cached) must not depend on the env's setting, and tests
that are slow with every constant would otherwise make it load-dependent."""
_TRIVIAL: dict[str, int] = {}
_MEASURING: dict[str, threading.Event] = {}
_TRIVIAL_LOCK = threading.Lock()


def _task_key(task: CodeTask) -> str:
    """What the baseline depends on: the tests, their setup, the prefix, the entry point."""
    text = json.dumps([task.code_prefix, task.test_setup, task.entry_point,
                       list(task.hidden_tests), TRIVIAL_BUDGET_S])
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def trivial_passed(sandbox: DockerSandbox, task: CodeTask) -> int | None:
    """Most hidden tests of ``task`` a trivial answer passes, measured once per task.

    A trivial answer is a constant or an argument handed back (see the judge). The
    figure depends on the task alone, so it is measured in its own judged run (budget
    `TRIVIAL_BUDGET_S`) the first time a task is graded in a partial-credit mode, and
    kept for the process: a reply graded twice gets the same reward, whatever the
    load. Gradings of the same task wait for one measurement instead of each making
    their own. A run that ran out of time (tests that loop on a constant) counts as
    ``total`` for good: no partial credit on that task.

    Returns:
        The figure, or None when the infrastructure failed (or the task is broken):
        the caller reports a sandbox_error, and the next grading measures again.
    """
    key = _task_key(task)
    with _TRIVIAL_LOCK:
        if key in _TRIVIAL:
            return _TRIVIAL[key]
        measuring = _MEASURING.get(key)
        mine = measuring is None
        if mine:
            measuring = _MEASURING[key] = threading.Event()
    if not mine:
        measuring.wait()  # set when the measuring grading is done (it is bounded)
        with _TRIVIAL_LOCK:
            return _TRIVIAL.get(key)  # None: the measurement we waited for failed
    try:
        found = _measure_trivial(sandbox, task)
        if found is not None:
            with _TRIVIAL_LOCK:
                _TRIVIAL[key] = found
        return found
    finally:
        with _TRIVIAL_LOCK:
            _MEASURING.pop(key, None)
        measuring.set()


def _measure_trivial(sandbox: DockerSandbox, task: CodeTask) -> int | None:
    total = len(task.hidden_tests)
    try:
        result, nonce = run_judge(sandbox, task, "", timeout_s=TRIVIAL_BUDGET_S,
                                  trivial_only=True)
    except SandboxError as e:
        logger.warning("task %s: measuring its trivial baseline failed: %s", task.id, e)
        return None
    record = read_record(result.stdout, nonce) if result.status != "sandbox_error" else None
    if record is None:
        logger.warning("task %s: the trivial baseline run gave no record (exec status %s)",
                       task.id, result.status)
        return None
    if str(record.get("judge_error", "")).startswith("SetupError"):
        logger.error("task %s is broken: its prefix or test setup raised (%s); its answers "
                     "are scored as sandbox_errors, fix the task file", task.id,
                     record["judge_error"])
        return None
    found = read_trivial(record, total)
    if found is None and record.get("judge_error") == "Timeout":
        found = total  # the prefix or setup alone outlasted the budget
    if found == total and total:
        logger.warning("task %s: a trivial answer passes all %d hidden tests, or the "
                       "baseline ran out of its %.0f s: no partial credit on it", task.id,
                       total, TRIVIAL_BUDGET_S)
    return found


def read_trivial(record: dict[str, Any], total: int) -> int | None:
    """The record's baseline; ``total`` if it ran out of time; None if it is missing.

    An unmeasured baseline must not be taken as 0: that would pay partial credit to
    exactly the constant answers it exists to catch.
    """
    trivial = record.get("trivial")
    if not isinstance(trivial, dict):
        return None
    passed = trivial.get("passed")
    if trivial.get("total") != total or type(passed) is not int or not 0 <= passed <= total:
        return None
    return passed if trivial.get("complete") is True else total


def parse_record(result: ExecResult, nonce: str, *, task_id: str = "?") -> Grade:
    """Turn the judge's run into a Grade; only the nonce-carrying record counts."""
    if result.status == "sandbox_error":
        return sandbox_error_grade(result.stderr, result.duration_s)
    record = read_record(result.stdout, nonce)
    if record is not None and str(record.get("judge_error", "")).startswith("SetupError"):
        logger.error("task %s is broken: its prefix or test setup raised (%s); scored as a "
                     "sandbox_error, fix the task file", task_id, record["judge_error"])
        return sandbox_error_grade(f"task setup failed: {record['judge_error']}",
                                   result.duration_s)
    hidden = read_suite(record, "hidden") if record is not None else None
    if hidden is None:
        # No usable record: the answer exhausted the container (memory, CPU) so the
        # judge could not finish. That is the answer's failure, never a pass.
        if result.status in ("ok", "error") and record is None:
            logger.warning("task %s: judge gave no record (exec status %s): %s", task_id,
                           result.status, result.judge_stderr[-500:])
        outcome = "timeout" if result.status == "timeout" else "runtime_error"
        load = str(record["load"].get("status", "crash")) if record is not None else "crash"
        return Grade(outcome, load=load, exec_status=result.status,
                     detail="the judge produced no complete record",
                     duration_s=result.duration_s)
    load_info = record["load"]
    load = str(load_info.get("status"))
    outcomes = [str(o) for o in hidden["outcomes"]]
    outcome = _classify(load, outcomes)
    public = read_suite(record, "public")
    feedback = _feedback(load, load_info, public) if "public" in record else None
    return Grade(
        outcome=outcome,
        passed=hidden["passed"] if load == "ok" else 0,
        total=hidden["total"],
        load=load,
        load_error=load_info.get("error"),
        tests=tuple(outcomes),
        errors=tuple(hidden.get("errors") or (None,) * len(outcomes)),
        public_passed=public["passed"] if public else 0,
        public_total=public["total"] if public else 0,
        feedback=feedback,
        exec_status=result.status,
        duration_s=result.duration_s,
    )


def _feedback(load: str, load_info: dict[str, Any], public: dict[str, Any] | None) -> str:
    """Text for the model after an attempt (RLEF): why it did not load, or failing tests."""
    if load != "ok":
        message = str(load_info.get("message") or load_info.get("error") or load)
        return f"Your code did not load ({load}):\n{message}".rstrip()
    if public is None:
        return "The public tests could not be run."
    if public["total"] == 0:
        return "There are no public tests for this task."
    texts = [t for t in public.get("feedback") or [] if t]
    if not texts:
        return f"All {public['total']} public tests passed."
    head = f"{public['passed']}/{public['total']} public tests passed."
    return "\n\n".join([head, *texts[:3]])
