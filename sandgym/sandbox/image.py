"""Build and check the sandbox image, offline when no registry is reachable.

The image is ``docker/python/Dockerfile`` on top of a base with python3. The base is,
in order: the ``--base`` image given, ``sandgym/base:bookworm`` if it exists, a common
local Debian/Python image, or one bootstrapped here with ``debootstrap`` and imported
with ``docker import`` (no registry needed; root and debootstrap needed).

The image is labelled with the executor's protocol version and the hash of the
executor file, so a stale image is detected at sandbox start and rebuilt by
``sandgym image build`` (which does nothing when the image is current).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from sandgym.errors import ImageMismatchError, ImageNotFoundError, SandboxError

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_IMAGE", "DEFAULT_BASE", "build_image", "check_image", "image_status",
           "executor_sha"]

DEFAULT_IMAGE = os.environ.get("SANDGYM_IMAGE") or "sandgym/python:latest"
"""The sandbox image: ``$SANDGYM_IMAGE`` if set, else ``sandgym/python:latest``."""
DEFAULT_BASE = "sandgym/base:bookworm"
_LOCAL_BASE_CANDIDATES = ("python:3.11-slim", "python:3.12-slim", "debian:bookworm-slim",
                          "debian:bookworm", "debian:12")
_EXECUTOR_PATH = Path(__file__).with_name("executor.py")


def executor_sha() -> str:
    """Hash of the executor this sandgym ships (labels the image it is built into)."""
    return hashlib.sha256(_EXECUTOR_PATH.read_bytes()).hexdigest()[:16]


def recipe_dir() -> Path:
    """Where docker/python/Dockerfile lives: the source checkout or the installed wheel."""
    package = Path(__file__).resolve().parents[1]
    for candidate in (package / "_resources" / "docker" / "python",
                      package.parent / "docker" / "python"):
        if (candidate / "Dockerfile").exists():
            return candidate
    raise SandboxError("docker/python/Dockerfile is missing from this sandgym installation")


def image_status(client: Any, image: str = DEFAULT_IMAGE) -> dict[str, Any]:
    """Whether image exists and matches this sandgym's executor."""
    import docker.errors

    from sandgym.sandbox.executor import PROTOCOL_VERSION

    try:
        labels = client.images.get(image).labels or {}
    except docker.errors.ImageNotFound:
        return {"image": image, "exists": False, "current": False}
    sha = labels.get("sandgym.executor-sha")
    return {
        "image": image,
        "exists": True,
        "protocol": labels.get("sandgym.protocol"),
        "executor_sha": sha,
        "current": sha == executor_sha()
        and labels.get("sandgym.protocol") == str(PROTOCOL_VERSION),
    }


def check_image(client: Any, image: str, protocol: int) -> None:
    """Raise a clear error unless image exists and speaks this protocol."""
    import docker.errors

    try:
        labels = client.images.get(image).labels or {}
    except docker.errors.ImageNotFound as e:
        raise ImageNotFoundError(
            f"sandbox image {image!r} not found on this Docker engine; run "
            f"`sandgym image build`"
        ) from e
    found = labels.get("sandgym.protocol")
    if found != str(protocol):
        raise ImageMismatchError(
            f"sandbox image {image!r} carries executor protocol {found!r}, this sandgym "
            f"needs {protocol}; run `sandgym image build --force`"
        )
    if labels.get("sandgym.executor-sha") != executor_sha():
        logger.warning("sandbox image %s was built from another executor version; "
                       "run `sandgym image build` to refresh it", image)


def build_image(client: Any, image: str = DEFAULT_IMAGE, base: str | None = None,
                force: bool = False) -> str:
    """Build the sandbox image unless it is current; returns the image name."""
    status = image_status(client, image)
    if status["current"] and not force:
        logger.info("sandbox image %s is current (executor %s)", image, status["executor_sha"])
        return image
    base_image = resolve_base(client, base)
    from sandgym.sandbox.executor import PROTOCOL_VERSION

    with tempfile.TemporaryDirectory(prefix="sandgym-build-") as ctx:
        shutil.copy(recipe_dir() / "Dockerfile", Path(ctx) / "Dockerfile")
        shutil.copy(_EXECUTOR_PATH, Path(ctx) / "executor.py")
        logger.info("building sandbox image %s from base %s", image, base_image)
        import docker.errors

        try:
            client.images.build(
                path=ctx, tag=image, rm=True, forcerm=True, pull=False, network_mode="none",
                buildargs={"BASE": base_image, "PROTOCOL": str(PROTOCOL_VERSION),
                           "EXECUTOR_SHA": executor_sha()},
            )
        except docker.errors.BuildError as e:
            log = "".join(str(chunk.get("stream", chunk)) for chunk in e.build_log)
            raise SandboxError(f"building {image} failed: {e}\n{log[-3000:]}") from e
    # The image this build replaced is now untagged; drop such leftovers of ours only.
    client.images.prune(filters={"dangling": True, "label": "sandgym.image"})
    logger.info("built sandbox image %s", image)
    return image


def resolve_base(client: Any, base: str | None) -> str:
    """The base image to build on, bootstrapping one when none is available."""
    import docker.errors

    def exists(name: str) -> bool:
        try:
            client.images.get(name)
            return True
        except docker.errors.ImageNotFound:
            return False

    if base is not None:
        if not exists(base):
            raise ImageNotFoundError(
                f"base image {base!r} not found locally (no registry is used); build or "
                f"load it first, or omit --base to bootstrap one with debootstrap"
            )
        return base
    for candidate in (DEFAULT_BASE, *_LOCAL_BASE_CANDIDATES):
        if exists(candidate):
            return candidate
    bootstrap_base(client, DEFAULT_BASE)
    return DEFAULT_BASE


def bootstrap_base(client: Any, name: str = DEFAULT_BASE, suite: str = "bookworm") -> None:
    """Make a minimal Debian base with python3 via debootstrap and import it (~1 min)."""
    if shutil.which("debootstrap") is None:
        raise SandboxError(
            "no base image with python3 exists locally and `debootstrap` is not installed; "
            "install it (apt-get install debootstrap) or pass --base IMAGE"
        )
    if os.geteuid() != 0:
        raise SandboxError("bootstrapping a base image with debootstrap needs root; run "
                           "`sudo sandgym image build` once, or pass --base IMAGE")
    with tempfile.TemporaryDirectory(prefix="sandgym-rootfs-", dir="/var/tmp") as tmp:
        root = Path(tmp) / "rootfs"
        logger.info("bootstrapping Debian %s with python3 into %s (about a minute)", suite, root)
        _run(["debootstrap", "--variant=minbase", "--include=python3", suite, str(root)])
        # Trim what a sandbox never needs (apt lists, docs) to keep the image small.
        for junk in ("var/lib/apt/lists", "usr/share/doc", "usr/share/man", "var/cache/apt"):
            shutil.rmtree(root / junk, ignore_errors=True)
        tarball = Path(tmp) / "rootfs.tar"
        _run(["tar", "-C", str(root), "-cf", str(tarball), "."])
        repository, _, tag = name.partition(":")
        logger.info("importing %s into Docker as %s", tarball, name)
        for _line in client.api.import_image_from_file(str(tarball), repository=repository,
                                                       tag=tag or "latest"):
            pass


def _run(argv: list[str]) -> None:
    proc = subprocess.run(argv, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SandboxError(f"{argv[0]} failed ({proc.returncode}): {proc.stderr[-2000:]}")
