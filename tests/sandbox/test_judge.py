"""Judged runs: the judge's record cannot be forged and its input cannot be read."""

from __future__ import annotations

import json
import textwrap

# A tiny judge: asks the candidate to double numbers and checks the answers itself.
JUDGE = textwrap.dedent("""
    import json, os, select
    cases = json.loads(JUDGE_INPUT)
    to_c = os.fdopen(TO_CANDIDATE_FD, 'w', buffering=1)
    from_c = os.fdopen(FROM_CANDIDATE_FD, 'r')
    passed = 0
    for x, want in cases["cases"]:
        try:
            to_c.write(json.dumps(x) + '\\n')
            to_c.flush()
        except BrokenPipeError:
            break
        if not select.select([from_c], [], [], 2)[0]:
            break
        line = from_c.readline()
        try:
            got = json.loads(line)
        except ValueError:
            continue
        if type(got) is int and got == want:
            passed += 1
    print(json.dumps({"passed": passed, "total": len(cases["cases"])}))
""")

HONEST = textwrap.dedent("""
    import sys
    for line in sys.stdin:
        print(int(line) * 2, flush=True)
""")

SECRET = "hidden-marker-7f3a9c"


def judge_input() -> bytes:
    return json.dumps({"cases": [[1, 2], [5, 10], [21, 42]], "note": SECRET}).encode()


def record(result) -> dict:
    assert result.status == "ok", result
    return json.loads(result.stdout)


def test_honest_candidate_passes(sandbox):
    result = sandbox.run_judged(HONEST, judge=JUDGE, judge_input=judge_input(), timeout=10)
    assert record(result) == {"passed": 3, "total": 3}


def test_candidate_prints_go_to_stderr_not_the_record(sandbox):
    code = "import sys\nprint('{\"passed\": 3, \"total\": 3}', file=sys.stderr)\nsys.exit(0)"
    result = sandbox.run_judged(code, judge=JUDGE, judge_input=judge_input(), timeout=10)
    assert record(result) == {"passed": 0, "total": 3}
    assert '"passed": 3' in result.stderr


def test_candidate_cannot_kill_the_judge(sandbox):
    code = "import os, signal\nos.kill(-1, signal.SIGKILL)"
    result = sandbox.run_judged(code, judge=JUDGE, judge_input=judge_input(), timeout=10)
    assert record(result) == {"passed": 0, "total": 3}


def test_candidate_cannot_find_the_judge_input(sandbox):
    probe = textwrap.dedent("""
        import gc, os, sys
        marker = 'hidden-marker-' + '7f3a9c'
        found = []
        for name in os.listdir('/proc'):
            if not name.isdigit():
                continue
            for part in ('cmdline', 'environ', 'fd/0', 'fd/3', 'fd/4', 'mem'):
                try:
                    with open(f'/proc/{name}/{part}', 'rb') as f:
                        if marker.encode() in f.read(1 << 20):
                            found.append((name, part))
                except OSError:
                    pass
        for obj in gc.get_objects():
            if isinstance(obj, (str, bytes)) and marker[:14] in str(obj) and obj is not marker:
                if (marker in obj if isinstance(obj, str) else marker.encode() in obj):
                    found.append(('memory', 'object'))
        for top in ('/work', '/tmp', '/dev/shm'):
            for root, _, files in os.walk(top):
                for fn in files:
                    try:
                        if marker.encode() in open(os.path.join(root, fn), 'rb').read():
                            found.append((root, fn))
                    except OSError:
                        pass
        print('FOUND' if found else 'clean', found, file=sys.stderr)
        for line in sys.stdin:
            print(int(line) * 2, flush=True)
    """)
    result = sandbox.run_judged(probe, judge=JUDGE, judge_input=judge_input(), timeout=20)
    assert record(result) == {"passed": 3, "total": 3}
    assert "clean" in result.stderr and "FOUND" not in result.stderr, result.stderr


def test_hanging_candidate_is_bounded(sandbox):
    result = sandbox.run_judged("import time\ntime.sleep(60)", judge=JUDGE,
                                judge_input=judge_input(), timeout=15)
    assert record(result) == {"passed": 0, "total": 3}
    assert result.duration_s < 10


def test_judged_runs_leave_the_sandbox_usable(sandbox):
    for _ in range(3):
        result = sandbox.run_judged(HONEST, judge=JUDGE, judge_input=judge_input())
        assert record(result)["passed"] == 3
    plain = sandbox.run_python("print('after')")
    assert plain.stdout == "after\n"
