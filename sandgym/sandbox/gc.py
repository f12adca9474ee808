"""Find and remove what sandgym left behind: containers whose owner process is gone,
and images built per package (isolated envs) that no container uses any more."""

from __future__ import annotations

import logging
from typing import Any

from sandgym.sandbox.owner import LABEL_MANAGED, LABEL_OWNER, owner_is_alive

logger = logging.getLogger(__name__)

__all__ = ["ISOLATED_IMAGE_LABEL", "collect_garbage", "collect_images"]

ISOLATED_IMAGE_LABEL = "sandgym.image=isolated-env"
"""Label of the images `sandgym.make_isolated` builds, one per content hash of a package."""


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


def collect_images(client: Any, *, label: str = ISOLATED_IMAGE_LABEL,
                   dry_run: bool = False) -> list[dict[str, str]]:
    """Remove images carrying ``label`` that no container (running or not) uses.

    Isolated-env images are tagged by a hash of their package, so every change of the
    package builds a new one and the old ones stay behind; an image still in use is
    kept (the engine refuses to remove it, and this never forces).

    Returns:
        One dict per image removed (id, tags).
    """
    import docker.errors

    in_use = {c.get("ImageID") for c in client.api.containers(all=True)}
    removed = []
    for image in client.api.images(filters={"label": label}):
        if image["Id"] in in_use:
            continue
        entry = {"id": image["Id"], "tags": ", ".join(image.get("RepoTags") or []) or "<none>"}
        if not dry_run:
            try:
                client.api.remove_image(image["Id"], force=False)
            except docker.errors.NotFound:
                continue
            except docker.errors.APIError as e:
                if e.status_code == 409:  # a container started meanwhile uses it
                    continue
                raise
        logger.info("gc: %s image %s", "would remove" if dry_run else "removed",
                    entry["id"][:19])
        removed.append(entry)
    return removed
