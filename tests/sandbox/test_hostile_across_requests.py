"""What a request leaves behind is the attack surface (issue #10).

Each test plays an attacker through the public API and checks that nothing of one
request reaches, harms or stalls the next: memory of forked children, IPC objects,
the work dir's mode, times and extended attributes, FIFOs, stopped helpers, host logs,
the owner's death and the OOM killer.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from sandgym.errors import SandboxError
from sandgym.sandbox import DockerSandbox, SandboxPool, docker_client

from .conftest import assert_answers


def run(box: DockerSandbox, code: str, **kw):
    return box.run_python(textwrap.dedent(code), **kw)


# Reads every readable mapping of its own memory (freed heap included) and counts where
# HEAD is directly followed by TAIL. The two halves are never joined in this program.
MEMORY_SCAN = """
    import ctypes, sys
    ctypes.CDLL(None).prctl(4, 1, 0, 0, 0)  # PR_SET_DUMPABLE: read our own /proc/self/mem
    HEAD, TAIL = sys.argv_head, sys.argv_tail
    hits = 0
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
            at = data.find(HEAD)
            while at != -1:
                if data[at + len(HEAD):at + len(HEAD) + len(TAIL)] == TAIL:
                    hits += 1
                at = data.find(HEAD, at + 1)
    print(hits)
"""


def _scan(box: DockerSandbox, secret: str) -> int:
    half = len(secret) // 2
    code = (f"import sys\nsys.argv_head = {secret[:half].encode()!r}\n"
            f"sys.argv_tail = {secret[half:].encode()!r}\n" + textwrap.dedent(MEMORY_SCAN))
    result = box.run_python(code, timeout=30)
    assert result.status == "ok", result
    return int(result.stdout)


def test_memory_scan_finds_what_is_really_there(sandbox):
    secret = "sg" + secrets.token_hex(16)
    half = len(secret) // 2
    planted = (f"planted = ''.join([{secret[:half]!r}, {secret[half:]!r}]).encode()\n")
    code = (planted + f"import sys\nsys.argv_head = {secret[:half].encode()!r}\n"
            f"sys.argv_tail = {secret[half:].encode()!r}\n" + textwrap.dedent(MEMORY_SCAN))
    result = sandbox.run_python(code, timeout=30)
    assert result.status == "ok", result
    assert int(result.stdout) >= 1


def test_no_trace_of_an_earlier_request_in_a_childs_memory(sandbox):
    secret = "sg" + secrets.token_hex(16)
    # the secret travels in the request (code, stdin, a file) and in the reply (stdout)
    first = sandbox.run_python(f"x = {secret!r}\nprint(x, input())", stdin=secret + "\n",
                               files={"s.txt": secret})
    assert first.stdout.startswith(secret)
    assert _scan(sandbox, secret) == 0
    sandbox.write_file("t.txt", secret)
    assert sandbox.read_file("t.txt") == secret.encode()
    assert _scan(sandbox, secret) == 0  # nor through the file operations
    sandbox.reset()


def test_no_ipc_object_survives_a_request(sandbox):
    leave = """
        import ctypes, os
        libc = ctypes.CDLL(None, use_errno=True)
        rt = ctypes.CDLL('librt.so.1', use_errno=True)
        made = [libc.shmget(0x5347, 4096, 0o1666) >= 0, libc.msgget(0x5347, 0o1666) >= 0,
                libc.semget(0x5347, 1, 0o1666) >= 0,
                rt.mq_open(b'/sandgym-left', 0o100 | 2, 0o666, None) >= 0]
        print(made, sorted(os.listdir('/dev/mqueue')))
    """
    first = run(sandbox, leave)
    assert first.stdout.startswith("[True, True, True, True]"), first
    look = run(sandbox, """
        import os
        for kind in ('shm', 'msg', 'sem'):
            print(kind, len(open('/proc/sysvipc/' + kind).read().splitlines()) - 1)
        print('mq', len(os.listdir('/dev/mqueue')))
    """)
    assert look.stdout.split() == ["shm", "0", "msg", "0", "sem", "0", "mq", "0"], look


def test_ipc_cannot_pin_much_memory(sandbox):
    result = run(sandbox, """
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        print(libc.shmget(0x5348, 600 << 20, 0o1666) >= 0,
              sum(libc.msgget(k, 0o1666) >= 0 for k in range(1, 1000)))
    """)
    made_big_segment, queues = result.stdout.split()
    assert made_big_segment == "False"
    assert int(queues) <= 64


def test_reset_restores_the_work_dir_itself(sandbox):
    sandbox.reset()
    fresh = run(sandbox, "import os; s = os.stat('/work'); print(oct(s.st_mode), s.st_mtime)")
    run(sandbox, """
        import os
        open('/work/planted', 'w').write('from the last episode')
        os.setxattr('/work', 'user.channel', b'x' * 2000)
        os.utime('/work', (123456789, 123456789))
        os.mkfifo('/work/names.txt')
        os.chmod('/work', 0o300)   # writable, not listable: hides the plant from a wipe
    """)
    sandbox.reset()
    after = run(sandbox, """
        import os
        s = os.stat('/work')
        print(oct(s.st_mode), s.st_mtime)
        print(sorted(os.listdir('/work')), os.listxattr('/work'))
    """)
    assert after.stdout.splitlines()[0] == fresh.stdout.strip(), (fresh, after)
    assert after.stdout.splitlines()[1] == "[] []", after


def test_work_dir_locked_by_the_code_is_unlocked_for_the_next_episode(sandbox):
    run(sandbox, "import os; os.chmod('/work', 0)")
    sandbox.reset()
    assert_answers(sandbox)
    assert run(sandbox, "open('x', 'w').write('1'); print(open('x').read())").stdout == "1\n"
    sandbox.reset()


def test_a_tree_deeper_than_path_max_is_wiped(sandbox):
    container = sandbox.container_id
    result = run(sandbox, """
        import os
        os.chdir('/work')
        for _ in range(1500):
            os.mkdir('dd')
            os.chdir('dd')
        open('leaf', 'w').write('x')
        print(len(os.getcwd()))
    """, timeout=30)
    assert int(result.stdout) > 4096, result
    sandbox.reset()
    assert sandbox.healthy and sandbox.container_id == container
    assert run(sandbox, "import os; print(os.listdir('/work'))").stdout == "[]\n"


def test_file_calls_do_not_block_on_a_fifo(sandbox):
    run(sandbox, "import os; os.mkfifo('/work/names.txt'); os.mkfifo('/work/out.txt')")
    with pytest.raises(FileNotFoundError, match="not a regular file"):
        sandbox.read_file("names.txt")
    with pytest.raises(SandboxError, match="names.txt"):
        sandbox.write_file("names.txt", "hello")
    assert sandbox.healthy
    sandbox.reset()
    assert_answers(sandbox)


def test_stopping_every_process_of_the_user_cannot_stall_the_executor(sandbox):
    container = sandbox.container_id
    result = run(sandbox, """
        import os, signal
        print('left a stopper behind', flush=True)  # in the pipe before the stopper runs
        if os.fork() == 0:
            os.setsid()
            while True:
                try:
                    os.kill(-1, signal.SIGSTOP)
                except OSError:
                    pass
    """, timeout=5)
    # the stopper may stop its own parent before it exits (then: timeout); never a
    # sandbox error, and what was written before it ran is still returned
    assert result.status in ("ok", "timeout"), result
    assert result.stdout == "left a stopper behind\n", result
    assert_answers(sandbox)  # the stopper is gone; the same container answers
    assert sandbox.container_id == container and sandbox.healthy
    judged = sandbox.run_judged(
        "import os, signal\nwhile True:\n    os.kill(-1, signal.SIGSTOP)\n",
        judge="import time\ntime.sleep(0.5)\nprint('judged')", timeout=5)
    assert judged.status == "ok" and judged.stdout == "judged\n", judged
    assert_answers(sandbox)


def test_replies_are_not_written_to_the_hosts_disk(sandbox):
    sandbox.run_python("print('x' * 200000)")
    client = docker_client()
    attrs = client.api.inspect_container(sandbox.container_id)
    assert attrs["HostConfig"]["LogConfig"]["Type"] == "none"
    assert not attrs.get("LogPath")


_OWNER = """
import sys, time
from sandgym.sandbox import DockerSandbox
box = DockerSandbox()
print(box.container_id, flush=True)
box.run_python({code!r}, timeout=600)
"""


@pytest.mark.parametrize("code", [
    "import time\ntime.sleep(600)",
    # the executor's helpers stopped, as an attacker would try
    "import os, signal\nwhile True:\n    os.kill(-1, signal.SIGSTOP)\n",
])
def test_owner_killed_mid_request_removes_the_container(code):
    proc = subprocess.Popen([sys.executable, "-c", _OWNER.format(code=code)],
                            stdout=subprocess.PIPE, text=True)
    container = proc.stdout.readline().strip()
    assert container
    time.sleep(1.0)  # the request is running
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    client = docker_client()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not client.api.containers(all=True, filters={"id": container}):
            break
        time.sleep(0.5)
    assert not client.api.containers(all=True, filters={"id": container})


def test_oom_steered_at_the_executor_is_still_a_failing_verdict():
    # Lower our oom_score_adj (dumpable again), then turn into small programs (sleep, dd)
    # that fill a memfd: the pages count against the container but against no process,
    # so the biggest process left for the OOM killer is the executor. Where the engine
    # grants CAP_SYS_RESOURCE the code cannot lower its score and is killed itself;
    # where it cannot, the container dies. Either way the answer is scored `oom`,
    # never `sandbox_error` (no reward at all), and the pool goes on serving.
    code = """
        import ctypes, os
        ctypes.CDLL(None).prctl(4, 1, 0, 0, 0)
        try:
            open('/proc/self/oom_score_adj', 'w').write('0')
        except OSError:
            pass
        fds = ' '.join(str(os.memfd_create('pin%d' % i, 0)) for i in range(48))
        os.execv('/bin/sh', ['sh', '-c', 'for fd in %s; do dd if=/dev/zero bs=1M count=16 '
                             'of=/proc/self/fd/$fd 2>/dev/null; done; sleep 60' % fds])
    """
    with SandboxPool(size=1) as pool:
        with pool.sandbox() as box:
            result = run(box, code, timeout=30)
            assert result.status == "oom", result
        with pool.sandbox() as box:  # the pool still serves a correct answer
            assert_answers(box)


def test_code_cannot_lower_its_oom_score_where_the_engine_grants_the_floor(sandbox):
    lowered = run(sandbox, """
        import ctypes
        ctypes.CDLL(None).prctl(4, 1, 0, 0, 0)
        try:
            open('/proc/self/oom_score_adj', 'w').write('0')
        except OSError:
            pass
        print(open('/proc/self/oom_score_adj').read().strip())
    """).stdout.strip()
    if sandbox.oom_floor:
        assert lowered == "1000"
    else:
        # This engine cannot grant CAP_SYS_RESOURCE: the code can lower its score, and
        # test_oom_steered_at_the_executor_is_still_a_failing_verdict shows that doing
        # so still earns `oom`, never `sandbox_error`.
        assert lowered == "0"


def test_a_process_whose_main_thread_exited_does_not_survive_the_request(sandbox):
    # The leader of the thread group exits (SYS_exit, not exit_group), so /proc shows
    # the process as a zombie while its second thread runs on. It must be killed with
    # the rest: after the request no thread of it writes again.
    run(sandbox, r"""
        import ctypes, os, threading, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                def tick():
                    while True:
                        try:
                            open('/work/tick', 'a').write('.')
                        except OSError:
                            pass
                        time.sleep(0.01)
                threading.Thread(target=tick).start()
                time.sleep(0.05)
                ctypes.CDLL(None).syscall(60, 0)  # SYS_exit on x86_64: this thread only
            os._exit(0)
        os.wait()
        time.sleep(0.3)
    """)
    size = run(sandbox, "import os; print(os.path.getsize('/work/tick'))").stdout
    again = run(sandbox, "import os, time; time.sleep(0.3); print(os.path.getsize('/work/tick'))")
    assert int(size) > 0 and again.stdout == size, (size, again)
    sandbox.reset()


def test_children_handed_to_the_executor_are_reaped(sandbox):
    # clone(CLONE_PARENT) makes the executor their parent; unreaped, their zombies
    # would use up the sandbox user's process limit for every later request.
    planted = run(sandbox, r"""
        import ctypes, platform
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        number = {'x86_64': 56, 'aarch64': 220}[platform.machine()]
        n = 0
        while n < 400:
            pid = libc.syscall(number, 0x00008000 | 17, 0, 0, 0, 0)  # CLONE_PARENT|SIGCHLD
            if pid == 0:
                libc._exit(0)
            if pid < 0:
                break
            n += 1
        print(n)
    """)
    assert int(planted.stdout) > 50, planted
    sandbox.reset()
    after = run(sandbox, """
        import os, threading
        pids = []
        for _ in range(40):
            pid = os.fork()
            if pid == 0:
                os._exit(0)
            pids.append(pid)
        for pid in pids:
            os.waitpid(pid, 0)
        t = threading.Thread(target=print, args=('forks and threads work',))
        t.start()
        t.join()
    """)
    assert after.status == "ok" and after.stdout == "forks and threads work\n", after


def test_inode_flags_of_the_work_dir_are_restored_on_reset(sandbox):
    flags = """
        import fcntl, os, struct
        fd = os.open('/work', os.O_RDONLY | os.O_DIRECTORY)
        if os.environ.get('SET'):
            fcntl.ioctl(fd, 0x40086602, struct.pack('i', 0x80 | 0x40))  # NOATIME|NODUMP
        print(hex(struct.unpack('i', fcntl.ioctl(fd, 0x80086601, b'\\0' * 4))[0]))
    """
    fresh = run(sandbox, flags).stdout
    assert run(sandbox, flags, env={"SET": "1"}).stdout != fresh  # the flags took
    sandbox.reset()
    assert run(sandbox, flags).stdout == fresh
