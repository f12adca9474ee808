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
    # The low-level listing does not inspect each container, so it cannot race with a
    # container being auto-removed meanwhile.
    for container in client.api.containers(all=True, filters={"label": LABEL_MANAGED}):
        labels = container.get("Labels") or {}
        if not everything and owner_is_alive(labels) is not False:
            continue
        names = container.get("Names") or ["?"]
        entry = {"id": container["Id"], "name": names[0].lstrip("/"),
                 "owner": labels.get(LABEL_OWNER, "?"), "status": container.get("State", "?")}
        if not dry_run:
            try:
                client.api.remove_container(container["Id"], force=True)
            except docker.errors.NotFound:
                continue
            except docker.errors.APIError as e:
                if e.status_code != 409:
                    raise
        logger.info("gc: %s %s", "would remove" if dry_run else "removed", entry["id"][:12])
        removed.append(entry)
    return removed
