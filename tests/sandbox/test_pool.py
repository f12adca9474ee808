"""SandboxPool: bounded, thread-safe, asyncio-friendly, self-healing, clean on close."""

from __future__ import annotations

import asyncio
import re
import subprocess
import threading
import time
import uuid

import pytest

from sandgym.errors import (
    EngineUnavailableError,
    ImageNotFoundError,
    PoolClosedError,
    PoolTimeoutError,
    SandboxError,
)
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


# ------------------------------------------------------------------ every container removed
#
# The pool's bookkeeping is checked against a stand-in for DockerSandbox whose starts
# and removals can be held at a gate, so the orders that leaked (issue #10: a removal
# still queued when close() ran was cancelled) happen every time, not one try in two.


class _Gate:
    """Holds starts and removals until opened; opened from a timer so close() is under way."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.waiting = 0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            self.waiting += 1
        assert self.event.wait(60), "the gate was never opened"

    def until_waiting(self, count: int) -> None:
        """Block until count threads are held here (so they are under way, not queued)."""
        deadline = time.monotonic() + 30
        while self.waiting < count and time.monotonic() < deadline:
            time.sleep(0.01)
        assert self.waiting >= count, f"only {self.waiting} of {count} reached the gate"

    def open_soon(self) -> threading.Timer:
        timer = threading.Timer(0.5, self.event.set)
        timer.start()
        return timer


class _FakeSandbox:
    """What the pool uses of DockerSandbox: healthy, is_alive, reset, close, container_id."""

    made: list[_FakeSandbox] = []
    start_gate: _Gate | None = None
    close_gate: _Gate | None = None

    def __init__(self, image, limits, *, client, labels) -> None:
        number = len(_FakeSandbox.made)
        if number >= 2 and _FakeSandbox.start_gate is not None:  # the first two start at once
            _FakeSandbox.start_gate.wait()
        self.container_id = f"fake{number:02d}" + "0" * 56
        self.healthy = True
        self.closed = 0
        self.reset_error: Exception | None = None
        self.unhealthy_after_reset = False
        self.slow_close = False
        _FakeSandbox.made.append(self)

    def is_alive(self) -> bool:
        return self.healthy and not self.closed

    def reset(self) -> None:
        if self.reset_error is not None:
            self.healthy = False
            raise self.reset_error
        if self.unhealthy_after_reset:
            self.healthy = False

    def close(self) -> None:
        if self.slow_close and _FakeSandbox.close_gate is not None:
            _FakeSandbox.close_gate.wait()  # a slow removal (a hung container)
        self.healthy = False
        self.closed += 1


@pytest.fixture
def fake_sandboxes(monkeypatch):
    import sandgym.sandbox.pool as pool_module

    _FakeSandbox.made = []
    _FakeSandbox.start_gate = _FakeSandbox.close_gate = None
    monkeypatch.setattr(pool_module, "DockerSandbox", _FakeSandbox)
    yield _FakeSandbox
    for gate in (_FakeSandbox.start_gate, _FakeSandbox.close_gate):
        if gate is not None:
            gate.event.set()


def test_close_removes_retired_sandboxes_whose_removal_was_still_queued(fake_sandboxes):
    pool = SandboxPool(size=2, client=object())
    pool.wait_ready()
    first, second = pool.acquire(), pool.acquire()
    fake_sandboxes.start_gate = _Gate()  # replacements hang in their start
    fake_sandboxes.close_gate = _Gate()
    first.slow_close = True  # the first removal takes long
    for box in (first, second):  # both found broken after use (e.g. hung executors)
        box.healthy = False
        pool.release(box)
    assert pool.stats()["replaced"] == 2
    fake_sandboxes.start_gate.until_waiting(2)  # both replacements are starting
    timers = [fake_sandboxes.start_gate.open_soon(), fake_sandboxes.close_gate.open_soon()]
    pool.close()
    for timer in timers:
        timer.join()
    made = fake_sandboxes.made
    assert len(made) == 4  # two, and the two replacements that were starting at close()
    assert [box.closed for box in made] == [1, 1, 1, 1]
    stats = pool.stats()
    assert stats["live"] == 0
    assert stats["created"] == stats["removed"] == 4


def test_close_waits_for_a_start_under_way_and_removes_its_container(fake_sandboxes):
    fake_sandboxes.start_gate = _Gate()
    pool = SandboxPool(size=3, client=object())  # the third start hangs
    timer = fake_sandboxes.start_gate.open_soon()
    pool.close()
    timer.join()
    assert len(fake_sandboxes.made) == 3
    assert all(box.closed == 1 for box in fake_sandboxes.made)
    assert pool.stats()["removed"] == 3


def test_a_sandbox_whose_reset_fails_is_replaced_before_reuse(fake_sandboxes, caplog):
    with SandboxPool(size=1, client=object()) as pool:
        box = pool.acquire()
        box.reset_error = SandboxError("reset failed: leftovers in /work")
        with caplog.at_level("WARNING", logger="sandgym.sandbox.pool"):
            pool.release(box)
        assert pool.stats()["replaced"] == 1
        assert any("reset failed: leftovers in /work" in r.getMessage()
                   for r in caplog.records if r.levelname == "WARNING")
        fresh = pool.acquire()
        assert fresh is not box and fresh.healthy
        pool.release(fresh)
    assert box.closed == 1


def test_a_sandbox_unhealthy_after_its_reset_never_goes_back_to_idle(fake_sandboxes):
    with SandboxPool(size=1, client=object()) as pool:
        box = pool.acquire()
        box.unhealthy_after_reset = True  # reset answered, but the sandbox is not sound
        pool.release(box)
        assert pool.stats()["replaced"] == 1  # at release, not when someone asks for it
        assert pool.acquire() is not box
    assert box.closed == 1


def test_hung_sandbox_retired_right_before_close_is_removed():
    """On the real engine: a frozen container, retired, then close() at once."""
    label = {"sandgym.test": f"pool-close-{uuid.uuid4().hex}"}
    pool = SandboxPool(size=1, labels=label)
    box = pool.acquire()
    subprocess.run(["docker", "pause", box.container_id], capture_output=True, check=True)
    assert box.ping(timeout=0.5) is False  # the executor cannot answer: unhealthy
    pool.release(box)
    assert pool.stats()["replaced"] == 1
    pool.close()
    left = docker_client().api.containers(
        all=True, filters={"label": f"sandgym.test={label['sandgym.test']}"})
    assert left == []
    assert pool.stats()["live"] == 0


# ------------------------------------------------------------------ permanent start errors


class _MissingImageSandbox(_FakeSandbox):
    """A start that fails as a missing image does, until ``image_built`` is set."""

    image_built = False
    attempts = 0

    def __init__(self, image, limits, *, client, labels) -> None:
        type(self).attempts += 1
        if not type(self).image_built:
            raise ImageNotFoundError(f"sandbox image {image!r} not found on this Docker "
                                     "engine; run `sandgym image build`")
        super().__init__(image, limits, client=client, labels=labels)


@pytest.fixture
def missing_image(fake_sandboxes, monkeypatch):
    import sandgym.sandbox.pool as pool_module

    _MissingImageSandbox.image_built = False
    _MissingImageSandbox.attempts = 0
    monkeypatch.setattr(pool_module, "DockerSandbox", _MissingImageSandbox)
    return _MissingImageSandbox


def test_a_missing_image_fails_acquire_at_once_not_after_the_timeout(missing_image):
    # It used to retry in the background until the acquire timeout (120 s per episode
    # group in `sandgym eval`), then surface as a sandbox error.
    with SandboxPool(size=2, image="nope:latest", client=object()) as pool:
        with pytest.raises(ImageNotFoundError, match="'nope:latest' not found.*image build"):
            pool.acquire(timeout=60)
        with pytest.raises(ImageNotFoundError):
            pool.wait_ready(timeout=60)
        # No background retries: a missing image does not appear by waiting.
        attempts = missing_image.attempts
        time.sleep(0.5)
        assert missing_image.attempts == attempts
        assert pool.stats()["starting"] == 0


def test_a_pool_recovers_once_the_image_is_built(missing_image):
    with SandboxPool(size=1, image="nope:latest", client=object()) as pool:
        with pytest.raises(ImageNotFoundError):
            pool.acquire(timeout=60)
        missing_image.image_built = True  # `sandgym image build` ran meanwhile
        box = pool.acquire(timeout=60)
        assert box.healthy
        pool.release(box)


def test_a_transient_start_error_is_still_retried(fake_sandboxes, monkeypatch):
    import sandgym.sandbox.pool as pool_module

    failures = [EngineUnavailableError("the Docker engine does not answer")]

    def flaky(image, limits, *, client, labels):
        if failures:
            raise failures.pop()
        return _FakeSandbox(image, limits, client=client, labels=labels)

    monkeypatch.setattr(pool_module, "DockerSandbox", flaky)
    with SandboxPool(size=1, prewarm=False, client=object()) as pool:
        box = pool.acquire(timeout=60)  # the engine came back: the retry started one
        assert box.healthy
        pool.release(box)


def test_a_missing_image_on_the_real_engine_is_an_image_not_found_error():
    with SandboxPool(size=2, image=f"sandgym-missing-{uuid.uuid4().hex[:12]}:latest") as pool:
        with pytest.raises(ImageNotFoundError, match="not found"):
            pool.wait_ready(timeout=60)
        with pytest.raises(ImageNotFoundError, match="sandgym image build"):
            pool.acquire(timeout=60)
        assert pool.stats()["live"] == 0
