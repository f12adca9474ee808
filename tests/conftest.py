"""Suite-wide checks: no skipped tests under CI, no sandbox containers left behind."""

from __future__ import annotations

import os

import pytest


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when, under CI=true, any test was skipped (a skip hides a missing part)."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    skipped = reporter.stats.get("skipped", [])
    if os.environ.get("CI") == "true" and skipped and session.exitstatus == 0:
        reporter.write_line(f"CI=true: {len(skipped)} test(s) were skipped; failing the run.",
                            red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _leaked_containers() -> list[str]:
    """Sandgym containers owned by this test process or by a process that no longer exists."""
    from sandgym.sandbox import docker_client
    from sandgym.sandbox.owner import LABEL_MANAGED, owner_is_alive, owner_labels

    mine = owner_labels()["sandgym.owner"]
    leaked = []
    # The low-level listing does not inspect each container, so it cannot race with a
    # container being auto-removed while we look.
    for container in docker_client().api.containers(all=True,
                                                    filters={"label": LABEL_MANAGED}):
        labels = container.get("Labels") or {}
        if labels.get("sandgym.owner") == mine or owner_is_alive(labels) is False:
            leaked.append(f"{container['Id'][:12]} ({labels.get('sandgym.owner')})")
    return leaked


@pytest.fixture(scope="session", autouse=True)
def no_leaked_sandboxes():
    """At the end of the session no container of ours (or of a dead owner) may remain."""
    yield
    import gc
    import time

    from sandgym.sandbox import cleanup

    gc.collect()
    cleanup.close_all()
    deadline = time.monotonic() + 30
    leaked = _leaked_containers()
    while leaked and time.monotonic() < deadline:
        time.sleep(0.5)
        leaked = _leaked_containers()
    assert not leaked, f"sandbox containers leaked by the test session: {leaked}"
