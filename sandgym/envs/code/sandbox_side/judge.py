"""The trusted grader of a judged run (runs as the judge uid, which the answer cannot touch).

Globals given by the executor: ``JUDGE_INPUT`` (bytes: JSON with the tests, which never
enter memory the code under test can read), ``TO_CANDIDATE_FD`` / ``FROM_CANDIDATE_FD``
(pipes to the worker's stdin/stdout). The tests run *here*, with ``candidate`` bound to
a proxy that sends the arguments to the worker and strictly decodes the reply into plain
values, so an answer can influence a test only through the values it returns.

Whatever happens to the candidate, this program prints exactly one JSON record on its
stdout (the unforgeable grading record) and exits 0. Hidden-test entries carry outcomes
and error class names only; public-test entries may carry feedback text.

With ``spec["trivial_only"]`` (for partial-credit rewards) no answer is graded: the
record says how many hidden tests the best *trivial* answer passes, a constant (None,
booleans, small numbers, empty containers, the literal values the tests compare
against) or one argument handed back. Partial credit is paid only above that, or
``return False`` would earn 0.8 on a task whose hidden tests mostly expect False. It
depends on the task alone, so the host measures it once per task (`grading.py`).
"""

import ast
import builtins
import copy
import json
import os
import select
import signal
import time

from sandgym.envs.code.sandbox_side.codec import SgCodecError, sg_decode, sg_encode

RECORD_VERSION = 1
MAX_REPLY_BYTES = 8 << 20
FEEDBACK_CHARS = 1500
_RERAISABLE = {name: getattr(builtins, name) for name in (
    "ArithmeticError", "AttributeError", "EOFError", "Exception", "IndexError", "KeyError",
    "LookupError", "NotImplementedError", "OverflowError", "RecursionError", "RuntimeError",
    "TypeError", "UnicodeError", "ValueError", "ZeroDivisionError")}


class CandidateError(Exception):
    """The candidate raised an exception without a builtin equivalent."""


class CandidateGone(BaseException):
    """The candidate died, hung, or broke the protocol: every later call fails too.

    A BaseException, so that a test's ``except Exception`` cannot swallow it.
    """

    def __init__(self, outcome, error, fatal=True, detail=""):
        super().__init__(error)
        self.outcome = outcome
        self.error = error
        self.fatal = fatal
        self.detail = detail


class JudgeTimeout(BaseException):
    """The judge's own time budget ran out (e.g. slow test code)."""


class _SetupFailed(Exception):
    """The task's own prefix or test setup raised: a broken task."""


class _BaselineDone(Exception):
    """A baseline-only run has its result (``spec["trivial_only"]``)."""


def _disarm():
    """Stop the alarm for good, even if it fires while being stopped.

    An alarm that went off after the work was done but before it was stopped would
    raise JudgeTimeout out of ``main`` and lose the whole record; ``_STATE["done"]``
    covers the moment before this runs.
    """
    while True:
        try:
            signal.signal(signal.SIGALRM, signal.SIG_IGN)
            signal.setitimer(signal.ITIMER_REAL, 0)
            return
        except JudgeTimeout:
            continue


_STATE = {"done": False}
"""``done``: the record is complete; an alarm that fires from then on is ignored."""


def _alarm(signum, frame):
    if not _STATE["done"]:
        raise JudgeTimeout("time budget exhausted")


def _trim(text, limit=FEEDBACK_CHARS):
    text = str(text)
    if len(text) <= limit:
        return text
    return text[: limit - 40] + f"\n... [truncated {len(text) - limit + 40} chars]"


def _safe_repr(value, limit=200):
    try:
        return _trim(repr(value), limit)
    except Exception:  # noqa: BLE001
        return "<unrepresentable>"


class Channel:
    """JSON lines to and from the worker, every wait bounded by the deadline."""

    def __init__(self, wfd, rfd, deadline):
        self.wfd, self.rfd, self.deadline = wfd, rfd, deadline
        os.set_blocking(wfd, False)
        os.set_blocking(rfd, False)
        self.buffer = b""
        self.gone = None  # (outcome, error) once the candidate is unusable
        self.worker_pid = None  # as the worker claims: used only to wait for its exit

    def send(self, message):
        data = memoryview((json.dumps(message) + "\n").encode("ascii"))
        while data:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise CandidateGone("timeout", "Timeout")
            if not select.select([], [self.wfd], [], left)[1]:
                continue
            try:
                data = data[os.write(self.wfd, data):]
            except BlockingIOError:
                continue
            except OSError:
                raise CandidateGone("crash", "WorkerDied") from None

    def receive(self):
        while b"\n" not in self.buffer:
            if len(self.buffer) > MAX_REPLY_BYTES:
                raise CandidateGone("error", "ReplyTooLarge")
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise CandidateGone("timeout", "Timeout")
            if not select.select([self.rfd], [], [], left)[0]:
                continue
            try:
                chunk = os.read(self.rfd, 1 << 16)
            except BlockingIOError:
                continue
            except OSError:
                chunk = b""
            if not chunk:
                raise CandidateGone("crash", "WorkerDied")
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        try:
            message = json.loads(line)
        except (ValueError, RecursionError):
            raise CandidateGone("error", "ProtocolError") from None
        if type(message) is not dict:
            raise CandidateGone("error", "ProtocolError")
        return message


def _call_text(args, kwargs):
    shown = [_safe_repr(a, 120) for a in args]
    shown += [f"{k}={_safe_repr(v, 120)}" for k, v in kwargs.items()]
    return "candidate({})".format(", ".join(shown))


class Candidate:
    """The proxy tests call as ``candidate(...)``; logs every call of the current test."""

    def __init__(self, channel):
        self.channel = channel
        self.next_id = 0
        self.calls = 0
        self.log = []
        self.verbose = False  # log call arguments and results (public tests only)
        self.last_traceback = ""
        self.poisoned = None  # set when a call ended in a way no test may excuse

    def __call__(self, *args, **kwargs):
        channel = self.channel
        if channel.gone is not None:
            self.poisoned = channel.gone
            raise CandidateGone(*channel.gone)
        try:
            request = {"args": sg_encode(list(args)), "kwargs": sg_encode(dict(kwargs))}
        except SgCodecError as exc:
            raise TypeError(f"the test passes a value the judge cannot send: {exc}") from None
        self.next_id += 1
        self.calls += 1
        request["id"] = self.next_id
        call_text = _call_text(args, kwargs) if self.verbose else "candidate(...)"
        try:
            channel.send(request)
            while True:
                reply = channel.receive()
                if type(reply.get("id")) is int and reply["id"] == self.next_id:
                    break  # (other lines: stale or forged; they carry no weight anyway)
            return self._result(reply, call_text)
        except CandidateGone as gone:
            if gone.fatal:
                channel.gone = (gone.outcome, gone.error)
            self.poisoned = (gone.outcome, gone.error)
            self.log.append(f"{call_text} -> {gone.error}{gone.detail}")
            raise

    def _result(self, reply, call_text):
        if "ok" in reply:
            try:
                value = sg_decode(reply["ok"])
            except Exception:  # noqa: BLE001 - malformed, unhashable, too deep...
                raise CandidateGone("error", "BadValue", fatal=False) from None
            if self.verbose:
                self.log.append(f"{call_text} returned {_safe_repr(value)}")
            return value
        if "bad_value" in reply:
            raise CandidateGone("error", "BadValue", fatal=False,
                                detail=" ({})".format(_trim(reply.get("bad_value"), 200)))
        name = reply.get("raise")
        if type(name) is not str:
            raise CandidateGone("error", "ProtocolError")
        name = name[:80]
        message = _trim(reply.get("msg", ""), 300)
        self.log.append(f"{call_text} raised {name}: {message}")
        if name in ("SystemExit", "KeyboardInterrupt", "GeneratorExit"):
            raise CandidateGone("crash", name, fatal=False)
        self.last_traceback = _trim(reply.get("tb", ""), FEEDBACK_CHARS)
        cls = _RERAISABLE.get(name)
        if cls is not None:
            raise cls(message)
        raise CandidateError(f"{name}: {message}")


def run_test(source, namespace, candidate, index, kind):
    """Run one test snippet; return (outcome, error class, feedback text or None)."""
    candidate.poisoned = None
    candidate.log = []
    candidate.last_traceback = ""
    candidate.verbose = kind == "public"
    scope = dict(namespace)
    scope["candidate"] = candidate
    error = None
    try:
        exec(compile(source, f"<{kind} test {index}>", "exec"), scope)  # noqa: S102
        outcome = "pass"
    except CandidateGone as gone:
        outcome, error = gone.outcome, gone.error
    except JudgeTimeout:
        raise
    except AssertionError:
        outcome, error = "fail", "AssertionError"
    except Exception as exc:  # noqa: BLE001
        outcome, error = "error", type(exc).__name__
        if isinstance(exc, CandidateError):
            error = str(exc).split(":", 1)[0]
    if candidate.poisoned is not None:  # a test must not excuse a dead or hostile answer
        outcome, error = candidate.poisoned
    feedback = None
    if kind == "public" and outcome != "pass":
        parts = [f"Test failed ({error or outcome}):", _trim(source.strip(), 600)]
        parts += candidate.log[-3:]
        if candidate.last_traceback:
            parts.append(candidate.last_traceback)
        feedback = _trim("\n".join(parts))
    return outcome, error, feedback


def run_suite(tests, namespace, candidate, kind, out_of_time):
    outcomes, errors, feedback = [], [], []
    for index, source in enumerate(tests):
        if out_of_time[0]:
            outcome, error, text = "timeout", "Timeout", None
        else:
            try:
                outcome, error, text = run_test(source, namespace, candidate, index, kind)
            except JudgeTimeout:
                out_of_time[0] = True
                outcome, error, text = "timeout", "Timeout", None
        if kind == "public" and text is None and outcome != "pass":
            text = f"Test failed ({error or outcome})."
        outcomes.append(outcome)
        errors.append(error)
        feedback.append(text)
    suite = {"total": len(tests), "passed": outcomes.count("pass"), "outcomes": outcomes,
             "errors": errors}
    if kind == "public":
        suite["feedback"] = feedback
    return suite


TRIVIAL_CONSTANTS = (None, True, False, 0, 1, -1, 0.0, "", [], {}, (), set())
MAX_TRIVIAL_ANSWERS = 64
ECHOED_ARGUMENTS = 3
_LITERAL_NODES = (ast.Constant, ast.UnaryOp, ast.List, ast.Tuple, ast.Dict, ast.Set)


def _value_key(value):
    """Tells values apart for de-duplication (1 and True and 1.0 are distinct answers)."""
    return type(value).__name__, _safe_repr(value, 10 ** 6)


def _literal(node):
    """The node's value if it is a literal (``-15`` is minus a constant), else a marker."""
    if not isinstance(node, _LITERAL_NODES):
        return _literal
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
        return _literal


def _literals(sources):
    """The literal values the sources compare against, most frequent first.

    An answer that is a constant can only pass a test by equalling what the test
    compares with (or by the constants above); the inputs' literals would only make
    the baseline slower. A side may also be arithmetic on the answer, as in
    ``abs(candidate(x) - 3.5) < 1e-9``: its literal operands count too.
    """
    compared = {}
    for source in sources:
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.Compare):
                continue
            candidates = []
            for side in [node.left, *node.comparators]:
                candidates.append(side)
                candidates += [operand for sub in ast.walk(side) if isinstance(sub, ast.BinOp)
                               for operand in (sub.left, sub.right)]
            for candidate in candidates:
                value = _literal(candidate)
                if value is not _literal:
                    key = _value_key(value)
                    count, _ = compared.get(key, (0, value))
                    compared[key] = (count + 1, value)
    return [value for count, value in sorted(compared.values(), key=lambda item: -item[0])]


def trivial_answers(sources):
    """Callables that return a constant or one of their arguments, without duplicates."""
    answers, seen = [], set()

    def constant(value):
        return lambda *args, **kwargs: copy.deepcopy(value)

    for value in list(TRIVIAL_CONSTANTS) + _literals(sources):
        key = _value_key(value)
        if key in seen:
            continue
        seen.add(key)
        answers.append(constant(value))
        if len(answers) >= MAX_TRIVIAL_ANSWERS:
            break

    def echo(index):
        # A copy: the candidate's own return values cross a pipe, so they are never the
        # test's objects either.
        return lambda *args, **kwargs: copy.deepcopy(args[index])

    return answers + [echo(i) for i in range(ECHOED_ARGUMENTS)]


def trivial_baseline(tests, namespace, entry_point, deadline, setup=""):
    """Most hidden tests any trivial answer passes, and whether every answer was tried.

    The tests are the task's own (trusted) code, run here with the trivial answer in
    the candidate's place; no answer takes part. It rebinds the entry point in
    ``namespace``.
    """
    best = 0
    try:
        compiled = []
        for index, source in enumerate(tests):
            try:
                compiled.append(compile(source, f"<hidden test {index}>", "exec"))
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                compiled.append(None)
        for answer in trivial_answers(list(tests) + [setup]):
            # In the shared namespace too: helpers of the prefix look the entry point up
            # there.
            namespace[entry_point] = answer
            passed = 0
            for index, code in enumerate(compiled):
                if passed + len(compiled) - index <= best:
                    break  # cannot beat the best so far
                if time.monotonic() > deadline:
                    return best, False
                if code is None:
                    continue
                scope = dict(namespace)
                scope["candidate"] = answer
                try:
                    exec(code, scope)  # noqa: S102 - trusted test code
                    passed += 1
                except Exception:  # noqa: BLE001 - a failed or erroring test
                    pass
            best = max(best, passed)
    except JudgeTimeout:
        return best, False
    return best, True


def wait_for_load(channel):
    """The worker's first message: ready, or why the answer did not load."""
    try:
        message = channel.receive()
    except CandidateGone as gone:
        channel.gone = (gone.outcome, gone.error)
        return {"status": gone.outcome if gone.outcome != "error" else "crash",
                "error": gone.error}, ""
    if message.get("op") == "ready":
        if type(message.get("pid")) is int:
            channel.worker_pid = message["pid"]
        return {"status": "ok", "error": None}, ""
    if message.get("op") == "load_error":
        kind = "syntax_error" if message.get("kind") == "syntax" else "runtime_error"
        error = message.get("error")
        error = error[:80] if type(error) is str else "Exception"
        channel.gone = ("error", error)
        return {"status": kind, "error": error}, _trim(message.get("message", ""))
    channel.gone = ("error", "ProtocolError")
    return {"status": "crash", "error": "ProtocolError"}, ""


def main():
    record_fd = os.dup(1)
    os.dup2(2, 1)  # prints of trusted test code must not mix into the record
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    spec = json.loads(JUDGE_INPUT)  # noqa: F821 - given by the executor
    started = time.monotonic()
    budget = float(spec["budget_s"])
    deadline = started + budget
    signal.signal(signal.SIGALRM, _alarm)
    channel = Channel(TO_CANDIDATE_FD, FROM_CANDIDATE_FD, deadline)  # noqa: F821
    record = {"judge": "sandgym", "version": RECORD_VERSION, "nonce": spec["nonce"],
              # replaced once the answer loads; a record without it would be no record,
              # and a task whose own prefix or setup raises must read as a broken task
              "load": {"status": "not_run", "error": None}}
    out_of_time = [False]
    try:
        signal.setitimer(signal.ITIMER_REAL, budget + 0.2)
        namespace = {"__name__": "__sandgym_tests__"}
        try:
            exec(compile(spec.get("prefix", ""), "<prefix>", "exec"), namespace)  # noqa: S102
            exec(compile(spec.get("setup", ""), "<setup>", "exec"), namespace)  # noqa: S102
        except Exception as exc:  # noqa: BLE001 - a broken task, not the answer's fault
            record["judge_error"] = f"SetupError: {type(exc).__name__}"
            _STATE["done"] = True
            raise _SetupFailed() from None
        if spec.get("trivial_only"):
            best, complete = trivial_baseline(spec["hidden"], namespace,
                                              spec["entry_point"], deadline,
                                              spec.get("setup", ""))
            record["trivial"] = {"passed": best, "complete": complete,
                                 "total": len(spec["hidden"])}
            _STATE["done"] = True
            raise _BaselineDone()
        candidate = Candidate(channel)
        namespace[spec["entry_point"]] = candidate
        load, load_message = wait_for_load(channel)
        record["load"] = load
        if spec.get("public_feedback") and load["status"] != "ok":
            record["load"]["message"] = load_message
        if spec.get("public") is not None:
            record["public"] = run_suite(spec["public"], namespace, candidate, "public",
                                         out_of_time)
        record["hidden"] = run_suite(spec["hidden"], namespace, candidate, "hidden",
                                     out_of_time)
        record["calls"] = candidate.calls
        _STATE["done"] = True
    except (_SetupFailed, _BaselineDone):
        pass
    except JudgeTimeout:  # e.g. starved of CPU by a fork bomb: every test left is lost
        if record["load"]["status"] == "not_run":
            record["load"] = {"status": "timeout", "error": "Timeout"}
        record["judge_error"] = "Timeout"
        for kind, key in (("public", "public"), ("hidden", "hidden")):
            if key not in record and spec.get(kind) is not None:
                tests = spec[kind]
                record[key] = {"total": len(tests), "passed": 0,
                               "outcomes": ["timeout"] * len(tests),
                               "errors": ["Timeout"] * len(tests)}
                if kind == "public":
                    record[key]["feedback"] = ["Timed out."] * len(tests)
    finally:
        _disarm()
    record["judge_s"] = round(time.monotonic() - started, 4)
    data = (json.dumps(record) + "\n").encode("ascii")
    while data:
        data = data[os.write(record_fd, data):]
    os.close(record_fd)
    let_worker_exit(channel)


def let_worker_exit(channel, grace_s=0.2):
    """Close the worker's stdin and wait briefly for it to exit on its own.

    The executor kills whatever is left when the judge exits, but killing a live
    process costs it far more than letting an honest worker end by itself. Only the
    time spent here depends on what the worker says (its pid): never the record.
    """
    end = time.monotonic() + grace_s
    try:
        os.close(channel.wfd)
        while time.monotonic() < end:  # EOF: the worker closed its end (it is exiting)
            if select.select([channel.rfd], [], [], end - time.monotonic())[0]:
                if not os.read(channel.rfd, 1 << 16):
                    break
        while channel.worker_pid and time.monotonic() < end and _alive(channel.worker_pid):
            time.sleep(0.0005)
    except OSError:
        pass


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rpartition(b")")[2].split()[0] not in (b"Z", b"X")
    except (OSError, IndexError):
        return False


main()
