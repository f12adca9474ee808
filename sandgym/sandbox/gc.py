"""Find and remove sandgym containers whose owner process is gone."""

from __future__ import annotations

import logging
from typing import Any

from sandgym.sandbox.owner import LABEL_MANAGED, LABEL_OWNER, owner_is_alive

logger = logging.getLogger(__name__)

__all__ = ["collect_garbage"]


def collect_garbage(client: Any, *, everything: bool = False,
                    dry_run: bool = False) -> list[dict[str, str]]:
    """Remove orphaned sandgym containers (all of them with everything=True).

    A container is orphaned when its owner label names a process on this host that no
    longer exists (pid gone, or reused by a process with another start time). Owners
    on other hosts are left alone unless everything=True.

    Returns:
        One dict per container removed (id, name, owner, status).
    """
    import docker.errors

    removed = []
    for container in client.containers.list(all=True, filters={"label": LABEL_MANAGED}):
        labels = container.labels or {}
        if not everything and owner_is_alive(labels) is not False:
            continue
        entry = {"id": container.id, "name": container.name,
                 "owner": labels.get(LABEL_OWNER, "?"), "status": container.status}
        if not dry_run:
            try:
                container.remove(force=True)
            except docker.errors.NotFound:
                continue
            except docker.errors.APIError as e:
                if e.status_code != 409:
                    raise
        logger.info("gc: %s %s", "would remove" if dry_run else "removed", entry["id"][:12])
        removed.append(entry)
    return removed
