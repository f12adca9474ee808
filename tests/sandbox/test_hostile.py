"""Bad and hostile code gets a clear verdict, the sandbox survives, nothing leaks."""

from __future__ import annotations

import textwrap

import pytest

from sandgym.sandbox import DockerSandbox, SandboxLimits

from .conftest import assert_answers


def run(box: DockerSandbox, code: str, **kw):
    return box.run_python(textwrap.dedent(code), **kw)


def test_infinite_loop_times_out(sandbox):
    result = run(sandbox, "while True: pass", timeout=1)
    assert result.status == "timeout"
    assert 0.9 < result.duration_s < 5
    assert_answers(sandbox)


def test_sleep_past_deadline_times_out(sandbox):
    result = run(sandbox, "import time; print('start', flush=True); time.sleep(60)", timeout=1)
    assert result.status == "timeout"
    assert result.stdout == "start\n"
    assert_answers(sandbox)


def test_child_ignoring_sigterm_is_killed(sandbox):
    code = """
    import os, signal, time
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if os.fork() == 0:
        os.setsid()
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        time.sleep(600)
    time.sleep(600)
    """
    result = run(sandbox, code, timeout=1)
    assert result.status == "timeout"
    assert_no_user_processes(sandbox)


def assert_no_user_processes(box: DockerSandbox) -> None:
    """Only the probe itself runs as the sandbox user."""
    probe = """
    import os
    mine = os.getpid()
    others = []
    for name in os.listdir('/proc'):
        if name.isdigit() and int(name) != mine:
            try:
                if os.stat('/proc/' + name).st_uid == os.getuid():
                    state = open('/proc/%s/stat' % name).read().rpartition(')')[2].split()[0]
                    if state != 'Z':
                        others.append(name)
            except OSError:
                pass
    print(len(others))
    """
    result = run(box, probe)
    assert result.status == "ok", result
    assert result.stdout == "0\n", f"processes of an earlier request survive: {result}"


def test_background_processes_do_not_outlive_the_request(sandbox):
    code = """
    import os, subprocess
    subprocess.Popen(['sleep', '300'], start_new_session=True)
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            import time; time.sleep(300)
        os._exit(0)
    os.system('nohup sleep 300 >/dev/null 2>&1 &')
    print('spawned')
    """
    result = run(sandbox, code)
    assert result.status == "ok" and result.stdout == "spawned\n", result
    assert_no_user_processes(sandbox)


def test_fork_bomb_is_contained(sandbox):
    code = """
    import os
    while True:
        try:
            os.fork()
        except OSError:
            pass
    """
    result = run(sandbox, code, timeout=2)
    assert result.status in ("timeout", "error", "killed"), result
    assert_answers(sandbox)
    assert_no_user_processes(sandbox)


def test_shell_fork_bomb_is_contained(sandbox):
    result = sandbox.run(":(){ :|:& };:", timeout=2)
    assert result.status != "sandbox_error", result
    assert_answers(sandbox)


def test_memory_bomb_is_oom():
    with DockerSandbox(limits=SandboxLimits(memory_mb=160, workdir_mb=32, tmp_mb=32)) as box:
        result = run(box, """
        chunks = []
        while True:
            chunks.append(bytearray(16 * 1024 * 1024))
        """, timeout=20)
        assert result.status == "oom", result
        assert_answers(box)


def test_writing_past_the_disk_cap_fails(sandbox):
    code = """
    import os
    for i in range(10):
        with open(f'/work/f{i}', 'wb') as f:
            for _ in range(15):
                f.write(b'x' * (1 << 20))
    """
    result = run(sandbox, code, timeout=20)
    assert result.status == "error", result
    assert "No space left on device" in result.stderr
    sandbox.reset()
    assert_answers(sandbox)


def test_file_past_size_limit_fails_in_python(sandbox):
    code = """
    with open('/tmp/big', 'wb') as f:
        for _ in range(40):
            f.write(b'x' * (1 << 20))
            f.flush()
    """
    result = run(sandbox, code, timeout=20)
    assert result.status == "error", result
    assert "File too large" in result.stderr
    sandbox.reset()
    assert_answers(sandbox)


def test_file_past_size_limit_kills_a_program(sandbox):
    result = sandbox.run("exec head -c 40000000 /dev/zero > /tmp/big", timeout=20)
    assert result.status == "killed" and result.signal == "SIGXFSZ", result
    sandbox.reset()
    assert_answers(sandbox)


def test_huge_stdout_is_truncated_and_bounded(sandbox):
    result = run(sandbox, "import sys; sys.stdout.write('x' * 100_000_000)", timeout=30)
    assert result.status == "ok", result.status
    assert result.truncated
    limit = sandbox.limits.output_bytes
    assert len(result.stdout) < limit + 100
    assert result.stdout.endswith(f"... [truncated {100_000_000 - limit} bytes]")
    assert_answers(sandbox)


def test_invalid_utf8_output_is_replaced(sandbox):
    result = run(sandbox, r"import sys; sys.stdout.buffer.write(b'ok \xff\xfe\x80 end')")
    assert result.status == "ok"
    assert result.stdout.startswith("ok ") and result.stdout.endswith(" end")
    assert "\ufffd" in result.stdout


def test_reading_stdin_with_none_given_gets_eof(sandbox):
    result = run(sandbox, "import sys; data = sys.stdin.read(); print(repr(data))", timeout=5)
    assert result.status == "ok" and result.stdout == "''\n", result


def test_stdin_is_delivered(sandbox):
    big = "line\n" * 200_000  # 1 MB: more than a pipe buffer
    result = run(sandbox, "import sys; print(len(sys.stdin.read()))", stdin=big)
    assert result.stdout == f"{len(big)}\n", result


def test_five_megabyte_code_runs(sandbox):
    code = "x = '" + "a" * (5 * 1024 * 1024) + "'\nprint(len(x))\n"
    result = sandbox.run_python(code, timeout=30)
    assert result.status == "ok", result.stderr[-500:]
    assert result.stdout == f"{5 * 1024 * 1024}\n"


def test_network_is_unreachable(sandbox):
    code = """
    import os, socket
    print(sorted(os.listdir('/sys/class/net')))
    for target in [('1.1.1.1', 53), ('172.17.0.1', 2375), ('8.8.8.8', 443)]:
        try:
            socket.create_connection(target, timeout=2)
            print('CONNECTED', target)
        except OSError as e:
            print('blocked', type(e).__name__)
    """
    result = run(sandbox, code, timeout=15)
    assert result.status == "ok", result
    assert result.stdout.splitlines()[0] == "['lo']"
    assert "CONNECTED" not in result.stdout
    assert result.stdout.count("blocked") == 3


def test_root_filesystem_is_read_only(sandbox):
    code = """
    for path in ['/etc/passwd', '/opt/sandgym/executor.py', '/usr/bin/evil', '/root/x']:
        try:
            open(path, 'a').write('pwned')
            print('WROTE', path)
        except OSError as e:
            print('denied', e.errno)
    """
    result = run(sandbox, code)
    assert "WROTE" not in result.stdout, result
    assert result.stdout.count("denied") == 4


def test_kill_everything_from_inside(sandbox):
    result = sandbox.run("sleep 30 & kill -9 -1; echo alive", timeout=10)
    assert result.status == "ok" and result.stdout == "alive\n", result
    python = run(sandbox, "import os, subprocess\nsubprocess.Popen(['sleep', '30'])\n"
                          "os.kill(-1, 9)\nprint('alive')")
    assert python.status == "ok" and python.stdout == "alive\n", python
    assert_answers(sandbox)
    assert_no_user_processes(sandbox)


def test_cannot_signal_the_executor(sandbox):
    code = """
    import os, signal
    for pid in [1] + [int(p) for p in os.listdir('/proc') if p.isdigit()]:
        if pid != os.getpid():
            try:
                os.kill(pid, signal.SIGKILL)
                if os.stat(f'/proc/{pid}').st_uid != os.getuid():
                    print('KILLED', pid)
            except (PermissionError, ProcessLookupError, FileNotFoundError):
                pass
    print('done')
    """
    result = run(sandbox, code)
    assert result.stdout.strip().endswith("done"), result
    assert "KILLED" not in result.stdout
    assert_answers(sandbox)


def test_no_capabilities_and_unprivileged_user(sandbox):
    code = """
    import os
    status = open('/proc/self/status').read()
    caps = {l.split(':')[0]: l.split()[1] for l in status.splitlines() if l.startswith('Cap')}
    print(os.getuid(), os.getgid(), caps['CapEff'], caps['CapPrm'], caps['CapBnd'] != '', caps)
    nnp = [l for l in status.splitlines() if l.startswith('NoNewPrivs')][0].split()[1]
    print('nnp', nnp)
    """
    result = run(sandbox, code)
    first, second = result.stdout.splitlines()
    uid, gid, eff, prm = first.split()[:4]
    assert (uid, gid) == (str(sandbox.uid), str(sandbox.uid))
    assert int(uid) >= 1_000_000
    assert eff == "0000000000000000" and prm == "0000000000000000"
    assert second == "nnp 1"


def test_segfault_is_killed(sandbox):
    result = run(sandbox, "import ctypes; ctypes.string_at(0)")
    assert result.status == "killed" and result.signal == "SIGSEGV", result
    assert result.exit_code == -11
    assert_answers(sandbox)


def test_os_exit_code_is_reported(sandbox):
    result = run(sandbox, "import os; print('bye', flush=True); os._exit(3)")
    assert result.status == "error" and result.exit_code == 3 and result.stdout == "bye\n"


def test_exception_is_an_error_with_traceback(sandbox):
    result = run(sandbox, "def f():\n    raise ValueError('boom')\nf()")
    assert result.status == "error" and result.exit_code == 1
    assert "ValueError: boom" in result.stderr and "Traceback" in result.stderr


def test_sys_exit_semantics_match_the_interpreter(sandbox):
    assert run(sandbox, "import sys; sys.exit(0)").status == "ok"
    assert run(sandbox, "import sys; sys.exit(4)").exit_code == 4
    message = run(sandbox, "import sys; sys.exit('nope')")
    assert message.exit_code == 1 and "nope" in message.stderr


def test_scripts_written_to_the_workdir_can_run(sandbox):
    result = sandbox.run("printf '#!/bin/sh\\necho ran\\n' > run.sh && chmod +x run.sh && ./run.sh")
    assert result.status == "ok" and result.stdout == "ran\n", result
    sandbox.reset()


def test_request_over_the_limit_once_encoded_is_refused_before_sending(sandbox):
    from sandgym.errors import RequestTooLargeError

    limit = sandbox.limits.request_mb << 20
    # Under the limit as text, twice the limit on the wire: JSON escapes every backslash.
    code = "#" + "\\" * (limit * 3 // 4)
    assert len(code) < limit
    served = sandbox.requests_served
    with pytest.raises(RequestTooLargeError, match="nothing was sent") as caught:
        sandbox.run_python(code)
    assert caught.value.limit == limit
    assert caught.value.size > 2 * len(code) - 10 > limit
    assert f"{caught.value.size} bytes once encoded" in str(caught.value)
    assert sandbox.requests_served == served  # no round trip happened
    assert sandbox.healthy
    assert_answers(sandbox)


def test_request_limit_counts_the_judge_input_too(sandbox):
    from sandgym.errors import RequestTooLargeError

    limit = sandbox.limits.request_mb << 20
    half = "x = " + repr("a" * (limit * 6 // 10)) + "\n"  # each part alone fits
    with pytest.raises(RequestTooLargeError):
        sandbox.run_judged(half, judge="print('judged')", judge_input=b"j" * (limit * 6 // 10))
    assert sandbox.healthy
    assert_answers(sandbox)
    ok = sandbox.run_judged("pass", judge="import os\nprint(len(JUDGE_INPUT))",
                            judge_input=b"j" * (limit // 2))
    assert ok.stdout.strip() == str(limit // 2), ok
