"""SandboxPool: bounded, thread-safe, asyncio-friendly, self-healing, clean on close."""

from __future__ import annotations

import asyncio
import re
import subprocess
import threading

import pytest

from sandgym.errors import PoolClosedError, PoolTimeoutError
from sandgym.sandbox import SandboxPool, docker_client


def test_threads_share_a_bounded_pool(pool):
    results: list[str] = []
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            for j in range(5):
                with pool.sandbox() as box:
                    results.append(box.run_python(f"print({i} * 100 + {j})").stdout.strip())
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(results) == sorted(str(i * 100 + j) for i in range(4) for j in range(5))
    stats = pool.stats()
    assert stats["idle"] + stats["in_use"] + stats["starting"] <= 2


def test_release_resets_the_sandbox(pool):
    with pool.sandbox() as box:
        box.run("echo secret > left.txt; sleep 300 &")
        first = box
    with pool.sandbox() as box:
        if box is first:
            assert box.run("ls -A /work").stdout == ""
    # whichever we got, no sandbox in the pool holds the file any more
    for _ in range(2):
        with pool.sandbox() as box:
            assert "left.txt" not in box.run("ls -A /work").stdout


def test_asyncio_acquire(pool):
    async def main() -> list[str]:
        async def one(i: int) -> str:
            async with pool.asandbox() as box:
                return (await asyncio.to_thread(box.run_python, f"print({i})")).stdout

        return await asyncio.gather(*(one(i) for i in range(6)))

    assert asyncio.run(main()) == [f"{i}\n" for i in range(6)]


def test_acquire_times_out_when_all_are_busy(pool):
    held = [pool.acquire(), pool.acquire()]
    try:
        with pytest.raises(PoolTimeoutError, match="no sandbox became free within 0.3s"):
            pool.acquire(timeout=0.3)
    finally:
        for box in held:
            pool.release(box)


def test_dead_sandbox_is_replaced(pool):
    box = pool.acquire()
    subprocess.run(["docker", "kill", box.container_id], capture_output=True)
    result = box.run_python("print(1)")
    assert result.status == "sandbox_error"
    before = pool.stats()["replaced"]
    pool.release(box)
    assert pool.stats()["replaced"] == before + 1
    for _ in range(3):
        with pool.sandbox() as fresh:
            assert fresh.run_python("print('fine')").stdout == "fine\n"


def test_sandbox_killed_while_idle_is_not_handed_out():
    with SandboxPool(size=1) as small:
        box = small.acquire()
        small.release(box)
        subprocess.run(["docker", "rm", "-f", box.container_id], capture_output=True)
        with small.sandbox() as fresh:
            assert fresh is not box
            assert fresh.run_python("print(2)").stdout == "2\n"


def test_close_removes_everything_and_refuses_use():
    small = SandboxPool(size=2)
    small.wait_ready()
    ids = []
    for _ in range(2):
        box = small.acquire()
        ids.append(box.container_id)
    small.close()
    small.close()  # harmless twice
    remaining = {c["Id"] for c in docker_client().api.containers(all=True)}
    assert not remaining.intersection(ids)
    with pytest.raises(PoolClosedError, match=re.escape("the sandbox pool is closed")):
        small.acquire()


def test_pool_size_is_validated():
    with pytest.raises(ValueError, match="SandboxPool size must be >= 1, got 0"):
        SandboxPool(size=0)


def test_pool_survives_deepcopy_as_the_same_object(pool):
    import copy

    assert copy.deepcopy({"pool": pool})["pool"] is pool
    assert copy.copy(pool) is pool
    assert not pool.closed
