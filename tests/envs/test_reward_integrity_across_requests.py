"""Reward integrity across requests: what ran before on a sandbox never changes a grade.

A non-solution must not earn a pass whatever ran before it on the same sandbox (it may
try to find an earlier, correct answer in its own memory and run that), and a correct
answer must pass whatever ran before it (an earlier answer may try to leave the sandbox
broken: memory pinned in IPC objects, the work dir locked, processes that stop the
executor's helpers).
"""

from __future__ import annotations

import base64
import math
import textwrap

import pytest

from sandgym.envs.code.grading import grade_answer
from sandgym.envs.code.rewards import reward_of
from sandgym.envs.tasks import CodeTask
from sandgym.sandbox import DockerSandbox

TASK = CodeTask(
    id="integrity/mul2", prompt="Write mul(a, b).", entry_point="mul",
    hidden_tests=("assert candidate(6, 7) == 42", "assert candidate(3, 5) == 15",
                  "assert candidate(-2, 8) == -16", "assert candidate(0, 9) == 0"),
    reference="def mul(a, b):\n    return a * b\n",
)

# Looks through all of its own memory (every readable mapping, freed heap included) for
# an earlier answer as the grader embeds it in the worker program (base64 after
# ``sg_worker_main('``) and runs the first one that is not itself and works. PLANT puts
# a correct answer in its memory first: the positive control that shows the scan finds
# what is really there.
COPYCAT = textwrap.dedent('''
    # COPYCAT
    import base64, binascii, ctypes
    ctypes.CDLL(None).prctl(4, 1, 0, 0, 0)  # PR_SET_DUMPABLE: /proc/self/mem is ours again
    PLANT = {plant!r}
    if PLANT:
        planted = ''.join(['sg_worker_', "main('", {reference_b64!r}, "'"])
    def _answers_in_memory():
        needle = b"sg_worker_main('"
        found = []
        with open('/proc/self/maps') as maps:
            regions = [line.split() for line in maps]
        with open('/proc/self/mem', 'rb', 0) as mem:
            for region in regions:
                if 'r' not in region[1] or (len(region) > 5 and region[5].startswith('[v')):
                    continue
                lo, hi = (int(x, 16) for x in region[0].split('-'))
                try:
                    mem.seek(lo)
                    data = mem.read(hi - lo)
                except (OSError, ValueError, OverflowError):
                    continue
                at = data.find(needle)
                while at != -1:
                    start = at + len(needle)
                    end = data.find(b"'", start, start + 1000000)
                    try:
                        found.append(base64.b64decode(data[start:end], validate=True).decode())
                    except (binascii.Error, ValueError):
                        pass
                    at = data.find(needle, at + 1)
        return found
    def mul(a, b):
        return 0
    def _works(source):
        space = {{}}
        try:
            exec(source, space)
            return space['mul'](6, 7) == 42 and space['mul']
        except BaseException:
            return None
    for _found in _answers_in_memory():
        if 'COPYCAT' not in _found and _works(_found):
            mul = _works(_found)
            break
''')


def _copycat(plant: bool) -> str:
    reference_b64 = base64.b64encode(TASK.reference.encode()).decode()
    return COPYCAT.format(plant=plant, reference_b64=reference_b64)


def _grade(box: DockerSandbox, answer: str):
    grade = grade_answer(box, TASK, answer, timeout_s=10.0)
    reward, _ = reward_of(grade.outcome, grade.passed, grade.total, "binary")
    return grade, reward


@pytest.fixture
def box():
    with DockerSandbox() as sandbox:
        yield sandbox


def test_copycat_scan_finds_what_is_in_its_memory(box):
    grade, reward = _grade(box, _copycat(plant=True))
    assert grade.status == "pass" and reward == 1.0, grade


def test_copycat_cannot_reuse_an_earlier_correct_answer(box):
    first, _ = _grade(box, TASK.reference)
    assert first.status == "pass", first
    grade, reward = _grade(box, _copycat(plant=False))
    assert grade.status != "pass" and reward == 0.0, grade
    box.reset()  # a new episode on the same container: still nothing to copy
    grade, reward = _grade(box, _copycat(plant=False))
    assert grade.status != "pass" and reward == 0.0, grade


PINNERS = {
    # SysV shared memory filled until the OOM killer ends the answer; the segments stay.
    "sysv shm": """
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.shmat.restype = ctypes.c_void_p
        for key in range(1, 400):
            ident = libc.shmget(key, 4 << 20, 0o1666)
            if ident < 0:
                break
            at = libc.shmat(ident, None, 0)
            if at in (None, ctypes.c_void_p(-1).value):
                break
            ctypes.memset(at, 1, 4 << 20)
            libc.shmdt(ctypes.c_void_p(at))
    """,
    # SysV message queues filled until the kernel memory they hold ends the answer.
    "sysv msg": """
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        buf = ctypes.create_string_buffer(b'\\x01' + b'\\x00' * 7 + b'x' * 8000)
        for key in range(1, 40000):
            q = libc.msgget(key, 0o1666)
            if q < 0:
                break
            while libc.msgsnd(q, buf, 8000, 0o4000) == 0:
                pass
    """,
    "sysv sem": """
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        for key in range(1, 4000):
            if libc.semget(key, 32, 0o1666) < 0:
                break
    """,
    "posix mqueue": """
        import ctypes
        rt = ctypes.CDLL('librt.so.1', use_errno=True)
        for i in range(200):
            rt.mq_open(('/q%d' % i).encode(), 0o100 | 2, 0o666, None)
    """,
    "locked work dir": "import os\nos.chmod('/work', 0o000)\n",
}


@pytest.mark.parametrize("name", list(PINNERS))
def test_correct_answer_passes_after_a_hostile_one(name, box):
    hostile = box.run_python(textwrap.dedent(PINNERS[name]), timeout=30)
    assert hostile.status != "sandbox_error", hostile
    box.reset()
    for _ in range(3):
        grade, reward = _grade(box, TASK.reference)
        assert grade.status == "pass" and reward == 1.0, grade
    assert not math.isnan(reward)
