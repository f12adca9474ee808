"""Isolation only: hardened Docker sandboxes that run code in milliseconds.

This package imports nothing of sandgym's higher layers (only the leaf `sandgym.errors`).
"""

from sandgym.sandbox.docker_sandbox import DockerSandbox, docker_client
from sandgym.sandbox.image import DEFAULT_IMAGE, build_image
from sandgym.sandbox.limits import SandboxLimits
from sandgym.sandbox.pool import SandboxPool
from sandgym.sandbox.result import ExecResult, ExecStatus

__all__ = [
    "DEFAULT_IMAGE",
    "DockerSandbox",
    "ExecResult",
    "ExecStatus",
    "SandboxLimits",
    "SandboxPool",
    "build_image",
    "docker_client",
]
