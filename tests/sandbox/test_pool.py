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


def _wait_for(condition, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def _in_thread(call) -> tuple[threading.Thread, list]:
    """Run call() in a thread; the list gets its result or its exception."""
    outcome: list = []

    def run() -> None:
        try:
            outcome.append(call())
        except BaseException as e:  # noqa: BLE001 - inspected by the test
            outcome.append(e)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def test_wait_ready_starts_again_once_the_image_is_built(missing_image):
    # `sandgym eval` calls wait_ready on the long-lived default pool before any acquire:
    # it kept raising the first ImageNotFoundError after the image was built.
    with SandboxPool(size=2, image="nope:latest", client=object()) as pool:
        with pytest.raises(ImageNotFoundError):
            pool.wait_ready(timeout=60)
        # Raised at once; the other start, if still under way, ends without a retry.
        _wait_for(lambda: pool.stats()["starting"] == 0, "the failed starts")
        missing_image.image_built = True  # `sandgym image build` ran meanwhile
        pool.wait_ready(timeout=60)
        stats = pool.stats()
        assert stats["idle"] == 2 and stats["live"] == 2 and stats["starting"] == 0
        box = pool.acquire(timeout=60)
        pool.release(box)
        # Ready again: no start is made beyond the pool's size.
        made = len(missing_image.made)
        pool.wait_ready(timeout=60)
        assert len(missing_image.made) == made == 2


def test_wait_ready_tries_again_after_a_transient_failure(fake_sandboxes, monkeypatch):
    # After an engine restart the pool's last start error was raised again, no retry made.
    import sandgym.sandbox.pool as pool_module

    engine = {"up": False, "attempts": 0}

    def sandbox_or_no_engine(image, limits, *, client, labels):
        engine["attempts"] += 1
        if not engine["up"]:
            raise EngineUnavailableError("the Docker engine does not answer")
        return _FakeSandbox(image, limits, client=client, labels=labels)

    monkeypatch.setattr(pool_module, "DockerSandbox", sandbox_or_no_engine)
    with SandboxPool(size=2, client=object()) as pool:
        with pytest.raises(SandboxError, match="the pool cannot start sandboxes: the Docker"):
            pool.wait_ready(timeout=60)
        assert pool.stats()["starting"] == 0  # a transient failure starts nothing by itself
        engine["up"] = True
        attempts = engine["attempts"]
        pool.wait_ready(timeout=60)
        assert engine["attempts"] == attempts + 2
        assert pool.stats()["idle"] == 2


def test_wait_ready_and_acquire_together_after_the_image_is_built(missing_image):
    with SandboxPool(size=2, image="nope:latest", client=object()) as pool:
        with pytest.raises(ImageNotFoundError):
            pool.acquire(timeout=60)
        missing_image.image_built = True

        def use() -> str:
            box = pool.acquire(timeout=30)
            time.sleep(0.05)
            pool.release(box)
            return "used"

        runs = [_in_thread(call) for call in [lambda: pool.wait_ready(timeout=30), use] * 4]
        for thread, _ in runs:
            thread.join(60)
        assert [got for _, got in runs] == [[None], ["used"]] * 4
        stats = pool.stats()
        assert stats["live"] == stats["created"] == 2 and stats["in_use"] == 0


def test_wait_ready_on_a_closed_pool_says_so(fake_sandboxes):
    pool = SandboxPool(size=1, client=object())
    pool.close()
    with pytest.raises(PoolClosedError):
        pool.wait_ready(timeout=5)


def test_a_waiter_outlasts_a_permanent_failure_while_a_sandbox_is_in_use(missing_image):
    missing_image.image_built = True
    with SandboxPool(size=2, client=object()) as pool:
        first, second = pool.acquire(timeout=60), pool.acquire(timeout=60)
        waiter, got = _in_thread(lambda: pool.acquire(timeout=60))
        time.sleep(0.1)
        missing_image.image_built = False  # the image tag was removed meanwhile
        attempts = missing_image.attempts
        first.healthy = False
        pool.release(first)  # retired: its replacement fails with ImageNotFoundError
        _wait_for(lambda: missing_image.attempts > attempts and pool.stats()["starting"] == 0,
                  "the replacement's failed start")
        time.sleep(0.2)
        # `second` is still in use and may come back healthy: the waiter keeps waiting.
        assert waiter.is_alive() and not got
        pool.release(second)
        waiter.join(10)
        assert got == [second]
        pool.release(second)


def test_a_waiter_gets_the_permanent_error_once_nothing_can_come_back(missing_image):
    missing_image.image_built = True
    with SandboxPool(size=2, client=object()) as pool:
        first, second = pool.acquire(timeout=60), pool.acquire(timeout=60)
        waiters = [_in_thread(lambda: pool.acquire(timeout=60)) for _ in range(2)]
        time.sleep(0.1)
        missing_image.image_built = False
        for box in (first, second):
            box.healthy = False
            pool.release(box)  # the last one out: nothing in use, nothing can start
        for thread, got in waiters:
            thread.join(10)
            assert not thread.is_alive()
            assert len(got) == 1 and isinstance(got[0], ImageNotFoundError), got


def test_a_waiters_timeout_names_the_permanent_error(missing_image):
    missing_image.image_built = True
    with SandboxPool(size=2, client=object()) as pool:
        first, second = pool.acquire(timeout=60), pool.acquire(timeout=60)
        waiter, got = _in_thread(lambda: pool.acquire(timeout=1.0))
        time.sleep(0.1)
        missing_image.image_built = False
        first.healthy = False
        pool.release(first)
        waiter.join(10)
        assert len(got) == 1 and isinstance(got[0], PoolTimeoutError), got
        assert re.search(r"no sandbox became free within 1.0s .*1 in use.* none can start: "
                         r"sandbox image .* not found", str(got[0])), str(got[0])
        # No retries in the background while it waited: one failed replacement only.
        assert missing_image.attempts == 3
        pool.release(second)


def test_close_ends_a_wait_behind_a_permanent_failure(missing_image):
    missing_image.image_built = True
    pool = SandboxPool(size=2, client=object())
    first, second = pool.acquire(timeout=60), pool.acquire(timeout=60)
    waiter, got = _in_thread(lambda: pool.acquire(timeout=60))
    time.sleep(0.1)
    missing_image.image_built = False
    first.healthy = False
    pool.release(first)
    _wait_for(lambda: pool.stats()["starting"] == 0 and pool.stats()["in_use"] == 1,
              "the replacement's failed start")
    pool.close()
    waiter.join(10)
    assert len(got) == 1 and isinstance(got[0], PoolClosedError), got
    pool.release(second)  # handed back after close: removed
    assert first.closed == second.closed == 1
    assert pool.stats()["live"] == 0
