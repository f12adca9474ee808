"""Reward integrity: answers that try to game the grader must never earn the pass reward.

Every attack below runs through the real grading path (worker + judge in a sandbox of
the session pool) against a task with several hidden tests; the expected result is
"no pass, reward 0 in binary mode, not a sandbox_error" and, after each attack, the
same pool still grades an honest answer correctly (the attack broke nothing).
"""

from __future__ import annotations

import json
import time
import uuid

import pytest

from sandgym.envs.code.grading import grade_answer, run_judge
from sandgym.envs.code.rewards import reward_of
from sandgym.envs.tasks import CodeTask

MARKER = f"SANDGYM_SECRET_{uuid.uuid4().hex}"

TASK = CodeTask(
    id="integrity/mul", prompt="Write mul(a, b).", entry_point="mul",
    hidden_tests=(f"assert candidate(6, 7) == 42  # {MARKER}",
                  f"assert candidate(3, 5) == 15 and '{MARKER}' != candidate(1, 1)",
                  "assert candidate(-2, 8) == -16", "assert candidate(0, 9) == 0"),
    public_tests=("assert candidate(2, 2) == 4",),
    reference="def mul(a, b):\n    return a * b\n",
)

WRONG = "def mul(a, b):\n    return a + b\n"
FORGED = json.dumps({"judge": "sandgym", "version": 1, "nonce": "guess",
                     "load": {"status": "ok", "error": None},
                     "hidden": {"total": 4, "passed": 4, "outcomes": ["pass"] * 4,
                                "errors": [None] * 4}})

ATTACKS = {
    "sys.exit(0) at import": "import sys\nsys.exit(0)\n" + WRONG,
    "os._exit(0) at import": "import os\nos._exit(0)\n",
    "sys.exit(0) in the function": "import sys\ndef mul(a, b):\n    sys.exit(0)\n",
    "os._exit(0) in the function": "import os\ndef mul(a, b):\n    os._exit(0)\n",
    "raise SystemExit in the function": "def mul(a, b):\n    raise SystemExit(0)\n",
    "os._exit(0) after the first call": (
        "import os\nn = [0]\ndef mul(a, b):\n    n[0] += 1\n    if n[0] > 1:\n"
        "        os._exit(0)\n    return a * b\n"),
    "kill -9 -1": "import os\nos.system('kill -9 -1')\n" + WRONG,
    "kill -9 -1 in the function": "import os\ndef mul(a, b):\n    os.kill(-1, 9)\n",
    "kill the parent": "import os\ntry:\n    os.kill(os.getppid(), 9)\nexcept OSError:\n"
                       "    pass\n" + WRONG,
    "signal every process": (
        "import os, signal\nfor pid in os.listdir('/proc'):\n    if pid.isdigit():\n"
        "        for sig in (signal.SIGSTOP, signal.SIGKILL):\n            try:\n"
        "                os.kill(int(pid), sig)\n            except OSError:\n"
        "                pass\n" + WRONG),
    "object equal to anything": (
        "class Any:\n    def __eq__(self, other):\n        return True\n"
        "    def __ne__(self, other):\n        return False\n"
        "def mul(a, b):\n    return Any()\n"),
    "int subclass equal to anything": (
        "class I(int):\n    def __eq__(self, other):\n        return True\n"
        "    __hash__ = int.__hash__\ndef mul(a, b):\n    return I(0)\n"),
    "str subclass equal to anything": (
        "class S(str):\n    def __eq__(self, other):\n        return True\n"
        "    def __ne__(self, other):\n        return False\n    __hash__ = str.__hash__\n"
        "def mul(a, b):\n    return S('x')\n"),
    "equal-to-anything inside a list": (
        "class Any:\n    def __eq__(self, other):\n        return True\n"
        "def mul(a, b):\n    return [Any()]\n"),
    "fake pass records on stdout and stderr": (
        f"import sys\nprint({FORGED!r})\nprint({FORGED!r}, file=sys.stderr)\n"
        f"def mul(a, b):\n    print({FORGED!r})\n    return 0\n"),
    "forged replies on the protocol fds": (
        "import os, json\n"
        "msgs = [json.dumps({'op': 'ready'})] + [json.dumps({'id': i, 'ok': 42})\n"
        "                                         for i in range(1, 50)]\n"
        "for fd in map(int, os.listdir('/proc/self/fd')):\n    try:\n"
        "        os.write(fd, ('\\n'.join(msgs) + '\\n').encode())\n    except OSError:\n"
        "        pass\n"
        f"    try:\n        os.write(fd, ({FORGED!r} + '\\n').encode())\n    except OSError:\n"
        "        pass\nos._exit(0)\n"),
    "replace the worker and answer every call": (
        "import os, json\nfds = [int(f) for f in os.listdir('/proc/self/fd')]\n"
        "rd = [f for f in fds if f > 2]\n"
        "for fd in fds:\n    try:\n        os.write(fd, b'{\"op\": \"ready\"}\\n')\n"
        "    except OSError:\n        pass\n"
        "import select\nwhile True:\n    r, _, _ = select.select(rd, [], [], 2)\n"
        "    if not r:\n        break\n    for fd in r:\n        try:\n"
        "            line = os.read(fd, 65536)\n        except OSError:\n            continue\n"
        "        for raw in line.splitlines():\n            try:\n"
        "                i = json.loads(raw)['id']\n            except Exception:\n"
        "                continue\n            for out in fds:\n                try:\n"
        "                    os.write(out, (json.dumps({'id': i, 'ok': 42}) + '\\n').encode())\n"
        "                except OSError:\n                    pass\nos._exit(0)\n"),
    "monkeypatch builtins json and sys.modules": (
        "import builtins, json, sys\nbuiltins.AssertionError = type('X', (Exception,), {})\n"
        "json.dumps = lambda *a, **k: '{\"passed\": true}'\n"
        "json.loads = lambda *a, **k: {'id': 1, 'ok': 42}\n"
        "sys.modules['json'] = json\nbuiltins.isinstance = lambda *a: True\n" + WRONG),
    "turn a failing run into a clean exit": (
        "import atexit, os, sys\natexit.register(lambda: os._exit(0))\n"
        "sys.excepthook = lambda *a: os._exit(0)\n"
        "def mul(a, b):\n    raise AssertionError('fail')\n"),
    "tamper with the judge's files and fds": (
        "import os, glob\n"
        f"for path in glob.glob('/proc/*/fd/*'):\n    try:\n        with open(path, 'w') as f:\n"
        f"            f.write({FORGED!r})\n    except OSError:\n        pass\n"
        "for path in ['/opt/sandgym/executor.py', '/usr/lib/python3.11/json/__init__.py']:\n"
        "    try:\n        open(path, 'a').write('raise SystemExit')\n    except OSError:\n"
        "        pass\n" + WRONG),
    "infinite loop at import": "while True:\n    pass\n",
    "infinite loop in the function": "def mul(a, b):\n    while True:\n        pass\n",
    "fork bomb": "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n"
                 "        pass\n",
    "memory bomb": "x = []\nwhile True:\n    x.append(bytearray(64 << 20))\n",
    "100 MB of output": "import sys\nsys.stdout.write('x' * (100 << 20))\n"
                        "sys.stderr.write('y' * (100 << 20))\n" + WRONG,
    "threads that keep running": (
        "import os, threading\ndef spin():\n    while True:\n        for fd in range(3, 20):\n"
        "            try:\n                os.write(fd, b'{\"id\": 1, \"ok\": 42}\\n')\n"
        "            except OSError:\n                pass\n"
        "for _ in range(4):\n    threading.Thread(target=spin).start()\n" + WRONG),
    "deep recursion": "def mul(a, b):\n    return mul(a, b)\n",
    "deeply nested return value": (
        "def mul(a, b):\n    x = []\n    for _ in range(10000):\n        x = [x]\n    return x\n"),
    "constant answer": "def mul(a, b):\n    return 42\n",
    "empty answer": "",
}


@pytest.mark.parametrize("name", list(ATTACKS))
def test_attack_earns_no_pass(name, pool):
    started = time.monotonic()
    with pool.sandbox() as sandbox:
        grade = grade_answer(sandbox, TASK, ATTACKS[name], timeout_s=3.0)
    elapsed = time.monotonic() - started
    reward, _ = reward_of(grade.outcome, grade.passed, grade.total, "binary")
    assert grade.status != "pass", grade
    assert grade.passed < grade.total
    assert reward == 0.0, grade  # a model failure, never a sandbox_error
    # Bounded by the judge's budget plus the executor's grace (not a timing claim:
    # a hang would take the 900 s pytest timeout).
    assert elapsed < 60, elapsed
    with pool.sandbox() as sandbox:  # the attack broke nothing
        honest = grade_answer(sandbox, TASK, TASK.reference, timeout_s=5.0)
    assert honest.status == "pass", honest


def test_honest_answer_with_huge_output_still_passes(pool):
    answer = "import sys\nsys.stdout.write('x' * (20 << 20))\n" + TASK.reference
    with pool.sandbox() as sandbox:
        grade = grade_answer(sandbox, TASK, answer, timeout_s=5.0)
    assert grade.status == "pass", grade


def _scan_answer(plant: bool) -> str:
    """An answer whose first call searches everything it can read for MARKER."""
    return f"""
import os, re, sys
if {plant!r}:  # positive control: the scan must find what is really there
    open('/tmp/planted', 'w').write('x' + {MARKER[:16]!r} + {MARKER[16:]!r})
    PLANTED = ''.join([{MARKER[:16]!r}, {MARKER[16:]!r}])
MARK = {MARKER[:16]!r} + {MARKER[16:]!r}
MARK_B = MARK.encode()
found, scanned = [], [0]
def look(path, limit=4 << 20):
    try:
        with open(path, 'rb') as f:
            data = f.read(limit)
    except Exception:
        return
    scanned[0] += 1
    if MARK_B in data:
        found.append(path)
def scan():
    for top in ('/proc', '/tmp', '/work', '/dev/shm', '/run', '/var', '/opt', '/etc', '/root',
                '/home'):
        for root, dirs, files in os.walk(top):
            if root == '/proc':
                dirs[:] = [d for d in dirs if d.isdigit()]
            if root.startswith('/proc/') and root.count('/') > 2:
                dirs[:] = []
            for name in files:
                if root.startswith('/proc') and name in ('pagemap', 'kpageflags', 'kcore',
                                                         'mem', 'clear_refs'):
                    continue
                look(os.path.join(root, name))
    import gc
    for obj in gc.get_objects():  # the worker's memory, inherited from the executor
        items = obj.items() if isinstance(obj, dict) else obj if isinstance(
            obj, (list, tuple, set)) else ()
        for item in items:
            for value in item if isinstance(item, tuple) else (item,):
                if value is MARK or value is MARK_B:  # our own needle
                    continue
                if isinstance(value, (str, bytes)) and MARK in (
                        value if isinstance(value, str) else value.decode('latin-1')):
                    found.append('object in memory')
    print('SCANNED', scanned[0], 'FOUND', found, file=sys.stderr)
def mul(a, b):
    if not scanned[0]:
        scan()
    return a * b
"""


def test_hidden_tests_are_not_reachable_from_the_sandbox_during_grading(pool):
    # On its first call the answer searches everything it can read (files, /proc of every
    # process, the objects in its own memory) for a marker that exists only in the hidden
    # tests, while the judge is running those very tests.
    with pool.sandbox() as sandbox:
        control, _ = run_judge(sandbox, TASK, _scan_answer(plant=True), timeout_s=60.0)
    assert "'/tmp/planted'" in control.stderr and "'object in memory'" in control.stderr, \
        control.stderr[-2000:]
    with pool.sandbox() as sandbox:
        result, _ = run_judge(sandbox, TASK, _scan_answer(plant=False), timeout_s=60.0)
    assert "SCANNED" in result.stderr, result
    scanned = int(result.stderr.split("SCANNED")[1].split()[0])
    assert scanned > 100
    assert "FOUND []" in result.stderr, result.stderr[-2000:]
    assert MARKER not in result.stdout  # nor does the record carry the hidden tests


# The case: 33 MB of backslashes grew about 8x through the encodings on the way
# in, overran the executor's frame limit and came back as sandbox_error (reward nan)
# with a dead sandbox. Too large an answer is the answer's failure, and harms nothing.
HUGE = TASK.reference + "# " + "\\" * 33_000_000


def _assert_too_large_is_a_wrong_answer(verdict: dict) -> None:
    assert verdict["status"] == "error" and verdict["outcome"] == "runtime_error", verdict
    assert verdict["load"] == "too_large"
    assert "too large to run" in verdict["load_error"]


def test_an_answer_too_large_to_send_fails_and_the_sandbox_grades_on(pool):
    replaced = pool.stats()["replaced"]
    with pool.sandbox() as sandbox:
        grade = grade_answer(sandbox, TASK, HUGE, timeout_s=3.0)
        assert sandbox.healthy
        honest = grade_answer(sandbox, TASK, TASK.reference, timeout_s=5.0)
    _assert_too_large_is_a_wrong_answer(grade.verdict())
    for mode, value in (("binary", 0.0), ("fraction", 0.0), ("graded", -0.6)):
        assert reward_of(grade.outcome, grade.passed, grade.total, mode)[0] == value
    assert honest.status == "pass", honest
    assert pool.stats()["replaced"] == replaced  # the sandbox was never harmed


def test_an_answer_too_large_to_send_scores_zero_in_step_and_in_the_trl_reward(pool):
    import gymnasium as gym

    from sandgym.train import execution_reward

    replaced = pool.stats()["replaced"]
    env = gym.make("sandgym/PythonTests-v0", pool=pool, tasks=[TASK])
    try:
        env.reset(options={"task_id": TASK.id})
        _, reward, terminated, truncated, info = env.step(HUGE)
    finally:
        env.close()
    assert (reward, terminated, truncated) == (0.0, True, False)
    assert not info.get("sandbox_error")
    _assert_too_large_is_a_wrong_answer(info["verdict"])

    reward_fn = execution_reward("sandgym/PythonTests-v0", pool=pool)
    assert reward_fn(prompts=[None, None],
                     completions=["def add(a, b): return a + b", "# " + "\\" * 33_000_000],
                     task_id=["builtin/add", "builtin/add"]) == [1.0, 0.0]
    assert pool.stats()["replaced"] == replaced  # no sandbox was harmed


def test_a_shell_command_too_large_to_send_is_a_failed_command(pool):
    import gymnasium as gym

    replaced = pool.stats()["replaced"]
    env = gym.make("sandgym/Shell-v0", pool=pool)
    try:
        env.reset(options={"task_id": "shell/create_file"})
        observation, reward, terminated, truncated, info = env.step(
            "echo " + "\\" * 30_000_000)
        assert "the command was not run" in observation
        assert (reward, terminated, truncated) == (0.0, False, False)
        assert not info["sandbox_error"] and info["verdict"]["exec_status"] == "error"
        # the episode goes on in the same, unharmed sandbox
        _, reward, terminated, _, info = env.step(
            "echo 'Hello, sandbox!' > hello.txt\nsubmit")
        assert (reward, terminated) == (1.0, True), info
    finally:
        env.close()
    assert pool.stats()["replaced"] == replaced


def test_too_large_is_blamed_on_the_answer_only_when_the_answer_made_it_so():
    from sandgym.errors import RequestTooLargeError

    class Refusing:  # a sandbox whose request limit is LIMIT bytes
        LIMIT = 1 << 20

        def run_judged(self, code, *, judge, judge_input, timeout, **kw):
            raise RequestTooLargeError(len(code) + len(judge) + len(judge_input), self.LIMIT)

    small = "def mul(a, b):\n    return a * b\n"
    huge_task = CodeTask(id="integrity/huge", prompt="p", entry_point="mul",
                         hidden_tests=("assert candidate(1, 1) == 1  # " + "x" * (2 << 20),),
                         reference=small)
    grade = grade_answer(Refusing(), huge_task, small, timeout_s=1.0)
    assert grade.status == "sandbox_error"  # the task's fault: no reward either way
    grade = grade_answer(Refusing(), TASK, small + "#" * (2 << 20), timeout_s=1.0)
    assert grade.load == "too_large" and grade.status == "error"


@pytest.mark.parametrize("char", ["\\", "\x00", '"', "\U0001f600", "é", "a"])
def test_an_answer_costs_at_most_four_thirds_of_its_utf8_size_on_the_wire(char):
    from sandgym.envs.code.programs import worker_program
    from sandgym.sandbox.stream import AttachedStream

    def wire(answer: str) -> int:
        return len(AttachedStream.encode({"python": worker_program(answer, "mul")}))

    answer = char * 30_000
    assert wire(answer) - wire("") <= len(answer.encode("utf-8")) * 4 / 3 + 4


def test_answers_with_any_characters_arrive_intact(pool):
    answer = ("def mul(a, b):\n    s = '\\\\ \\x00 \" é \U0001f600 \\u2028'\n"
              "    assert len(s) == 11, s\n    return a * b  # ``` \\ \U0001f600\n")
    with pool.sandbox() as sandbox:
        grade = grade_answer(sandbox, TASK, answer, timeout_s=5.0)
    assert grade.status == "pass", grade


# Answers returning builtin subclasses (a Counter, a namedtuple...) are sent as the plain
# value they really hold: read with the base type's own methods, so whatever the subclass
# overrides (__eq__, items, __iter__...) can neither pass a wrong answer nor fail a right one.
COUNT_TASK = CodeTask(
    id="integrity/count_by_length", prompt="Write count_by_length(words).",
    entry_point="count_by_length",
    hidden_tests=("assert candidate(['a', 'bb', 'cc', 'd']) == {1: 2, 2: 2}",
                  "assert candidate([]) == {}", "assert candidate(['abc']) == {3: 1}",
                  "assert candidate(['hi', 'yo', 'hey', 'a']) == {2: 2, 3: 1, 1: 1}"),
    reference=("def count_by_length(words):\n    counts = {}\n    for w in words:\n"
               "        counts[len(w)] = counts.get(len(w), 0) + 1\n    return counts\n"),
)
PAIR_TASK = CodeTask(
    id="integrity/min_max", prompt="Write min_max(xs) returning (min, max).",
    entry_point="min_max",
    hidden_tests=("assert candidate([3, 1, 2]) == (1, 3)", "assert candidate([5]) == (5, 5)",
                  "assert candidate([-1, 9]) == (-1, 9)"),
    reference="def min_max(xs):\n    return (min(xs), max(xs))\n",
)
_COUNT = ("def _real(words):\n    out = {}\n    for w in words:\n"
          "        out[len(w)] = out.get(len(w), 0) + 1\n    return out\n")
# A dict subclass whose every reading method claims `claim` while it holds `holds`.
_LYING_DICT = (
    "class D(dict):\n"
    "    def __init__(self, holds, claim):\n"
    "        super().__init__(holds)\n        self.claim = claim\n"
    "    def items(self):\n        return self.claim.items()\n"
    "    def keys(self):\n        return self.claim.keys()\n"
    "    def values(self):\n        return self.claim.values()\n"
    "    def __iter__(self):\n        return iter(self.claim)\n"
    "    def __len__(self):\n        return len(self.claim)\n"
    "    def __getitem__(self, key):\n        return self.claim[key]\n"
    "    def __eq__(self, other):\n        return self.claim == other\n"
    "    __hash__ = None\n")

SUBCLASS_ANSWERS = {
    "defaultdict": (COUNT_TASK, "from collections import defaultdict\n"
                    "def count_by_length(words):\n    d = defaultdict(int)\n"
                    "    for w in words:\n        d[len(w)] += 1\n    return d\n"),
    "Counter": (COUNT_TASK, "from collections import Counter\ndef count_by_length(words):\n"
                "    return Counter(len(w) for w in words)\n"),
    "OrderedDict": (COUNT_TASK, "from collections import OrderedDict\n"
                    "def count_by_length(words):\n    d = OrderedDict()\n    for w in words:\n"
                    "        d[len(w)] = d.get(len(w), 0) + 1\n    d.move_to_end(min(d), last=True)"
                    " if d else None\n    return d\n"),
    "namedtuple": (PAIR_TASK, "from collections import namedtuple\nP = namedtuple('P', 'lo hi')\n"
                   "def min_max(xs):\n    return P(min(xs), max(xs))\n"),
    "dict subclass whose methods lie wrong, holding the right counts": (
        COUNT_TASK, _COUNT + _LYING_DICT + "def count_by_length(words):\n"
        "    return D(_real(words), {'lie': -1})\n"),
}

SUBCLASS_ATTACKS = {
    "dict subclass equal to anything": (
        COUNT_TASK, "class D(dict):\n    def __eq__(self, other):\n        return True\n"
        "    def __ne__(self, other):\n        return False\n    __hash__ = None\n"
        "def count_by_length(words):\n    return D({-1: -1})\n"),
    "list subclass equal to anything": (
        TASK, "class L(list):\n    def __eq__(self, other):\n        return True\n"
        "    def __ne__(self, other):\n        return False\n"
        "def mul(a, b):\n    return L()\n"),
    "tuple subclass equal to anything": (
        PAIR_TASK, "class T(tuple):\n    def __eq__(self, other):\n        return True\n"
        "    def __ne__(self, other):\n        return False\n    __hash__ = tuple.__hash__\n"
        "def min_max(xs):\n    return T()\n"),
    "dict subclass whose methods lie right, holding nothing": (
        COUNT_TASK, _COUNT + _LYING_DICT + "def count_by_length(words):\n"
        "    return D({-1: -1}, _real(words))\n"),
    "int subclass whose __int__ and __index__ lie": (
        TASK, "class I(int):\n    def __int__(self):\n        return self.v\n"
        "    __index__ = __int__\n    def __eq__(self, other):\n        return True\n"
        "    __hash__ = int.__hash__\n"
        "def mul(a, b):\n    i = I(-12345)\n    i.v = a * b\n    return i\n"),
}


@pytest.mark.parametrize("name", list(SUBCLASS_ANSWERS))
def test_a_correct_answer_returning_a_builtin_subclass_passes(name, pool):
    task, answer = SUBCLASS_ANSWERS[name]
    with pool.sandbox() as sandbox:
        grade = grade_answer(sandbox, task, answer, timeout_s=5.0)
    assert grade.status == "pass", grade
    assert reward_of(grade.outcome, grade.passed, grade.total, "binary")[0] == 1.0


@pytest.mark.parametrize("name", list(SUBCLASS_ATTACKS))
def test_a_lying_builtin_subclass_earns_no_pass(name, pool):
    task, answer = SUBCLASS_ATTACKS[name]
    with pool.sandbox() as sandbox:
        grade = grade_answer(sandbox, task, answer, timeout_s=3.0)
    assert grade.status != "pass", grade
    assert grade.passed == 0, grade
    assert reward_of(grade.outcome, grade.passed, grade.total, "binary")[0] == 0.0, grade
    assert grade.outcome == "failing_tests", grade  # sent as its real, wrong contents


@pytest.mark.parametrize("answer", [SUBCLASS_ANSWERS["defaultdict"][1],
                                    SUBCLASS_ANSWERS["Counter"][1]])
def test_the_basics_count_by_length_subclass_answers_score_one(answer, pool):
    import gymnasium as gym

    env = gym.make("sandgym/PythonBasics-v0", pool=pool)
    try:
        env.reset(options={"task_id": "basics/count_by_length"})
        _, reward, terminated, _, info = env.step(answer)
    finally:
        env.close()
    assert (reward, terminated) == (1.0, True), info.get("verdict")
