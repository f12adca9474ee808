"""The sandbox image for MCP servers: ``sandgym/python`` plus the ``mcp`` package.

The sandbox has no network, so the pinned ``mcp`` and its dependencies are downloaded
on the host as CPython 3.11 manylinux wheels (``pip download``) and unpacked into
``/opt/sandgym-mcp`` of an image derived from the sandbox image (its executor and
labels are inherited, so the usual protocol check applies). Built once; rebuilt when the
base image or the pin changes (``sandgym tools build-image``; scripts/setup.sh runs it).
"""

from __future__ import annotations

import logging
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

__all__ = ["MCP_IMAGE", "MCP_SITE", "MCP_VERSION", "build_mcp_image", "mcp_image_current"]

MCP_VERSION = "2.3.0"
MCP_IMAGE = "sandgym/python-mcp:latest"
MCP_SITE = "/opt/sandgym-mcp"
_PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64")

_DOCKERFILE = f"""FROM {{base}}
COPY wheels /tmp/wheels
RUN python3 -c "import glob, zipfile; [zipfile.ZipFile(w).extractall('{MCP_SITE}') \\
for w in glob.glob('/tmp/wheels/*.whl')]" \\
 && rm -rf /tmp/wheels && python3 -m compileall -q {MCP_SITE} >/dev/null \\
 && chmod -R a+rX {MCP_SITE} \\
 && PYTHONPATH={MCP_SITE} python3 -c "import mcp.client.stdio, mcp.server.mcpserver"
LABEL sandgym.mcp="{MCP_VERSION}" sandgym.mcp-recipe="2" sandgym.mcp-base-id="{{base_id}}"
"""


def mcp_image_current(client: Any, base: str) -> bool:
    """Whether the MCP image exists, with this pin, on the current base image."""
    try:
        labels = client.images.get(MCP_IMAGE).labels or {}
        base_id = client.images.get(base).id
    except Exception:  # noqa: BLE001 - docker's NotFound or any lookup failure
        return False
    return (labels.get("sandgym.mcp") == MCP_VERSION and labels.get("sandgym.mcp-recipe") == "2"
            and labels.get("sandgym.mcp-base-id") == base_id)


def build_mcp_image(client: Any, *, base: str | None = None, force: bool = False) -> str:
    """Build `MCP_IMAGE` unless current; returns its name.

    Raises:
        RuntimeError: the wheels could not be downloaded or the build failed.
    """
    from sandgym.sandbox.image import DEFAULT_IMAGE

    base = base or DEFAULT_IMAGE
    if not force and mcp_image_current(client, base):
        return MCP_IMAGE
    with tempfile.TemporaryDirectory(prefix="sandgym-mcp-") as tmp:
        wheels = Path(tmp) / "wheels"
        command = [sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check",
                   f"mcp=={MCP_VERSION}", "--python-version", "3.11", "--implementation",
                   "cp", "--abi", "cp311", "--only-binary=:all:", "-d", str(wheels)]
        for platform in _PLATFORMS:
            command += ["--platform", platform]
        logger.info("downloading mcp==%s wheels for the sandbox", MCP_VERSION)
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"pip download of mcp=={MCP_VERSION} failed: {done.stderr[-800:]}")
        base_id = client.images.get(base).id
        (Path(tmp) / "Dockerfile").write_text(_DOCKERFILE.format(base=base, base_id=base_id))
        logger.info("building %s", MCP_IMAGE)
        try:
            client.images.build(path=tmp, tag=MCP_IMAGE, rm=True, forcerm=True,
                                network_mode="none")
        except Exception as e:
            raise RuntimeError(f"building {MCP_IMAGE} failed: {e}") from e
    return MCP_IMAGE
