"""Build (once per content hash) the image an isolated env runs in.

The image is the sandbox image plus three things under ``/opt/sandgym-env``:

* ``server.py`` and ``codec.py`` (this package's in-container half);
* ``deps/``: gymnasium and its runtime dependencies (numpy, cloudpickle,
  typing_extensions, farama-notifications), copied from the host's own installation.
  The sandbox image has python3 but no pip and no network, so nothing is downloaded;
  numpy's compiled parts are reused as they are, which works because the host and the
  image are both CPython 3.11 on glibc (the build fails with a clear message otherwise);
* ``pkg/``: the env's package. A wheel is unpacked (it is a zip; no code of it runs);
  a source directory is copied as it is (its ``src/`` if it has one) and put on
  ``sys.path``. A symlink (or any file that is not a regular file or directory) in a
  source directory is refused, so a package cannot pull host files (``creds ->
  ~/.aws/credentials``) into the image; a wheel member whose name is absolute, has a
  ``..`` part or is a symlink is refused too (zip-slip). An sdist or a project that
  needs a build step is refused: building runs the package's own code, on the host.
  Build its wheel inside a sandbox first.

The tag is ``sandgym/isolated-env:<hash>`` where the hash covers the package's bytes,
the server, the dependency versions and the base image's id, so an unchanged package
reuses its image and any change rebuilds.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
import os
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

from sandgym.errors import SandboxError
from sandgym.sandbox.image import DEFAULT_IMAGE

logger = logging.getLogger(__name__)

__all__ = ["ENV_ROOT", "IMAGE_REPO", "build_isolated_image"]

IMAGE_REPO = "sandgym/isolated-env"
ENV_ROOT = "/opt/sandgym-env"
RECIPE = "1"
_DEPS = ("gymnasium", "numpy", "cloudpickle", "typing_extensions", "farama-notifications")
_HERE = Path(__file__).resolve().parent
_DIGESTS: dict[tuple, Any] = {}  # memo of package digests, see build_isolated_image
_IGNORE = shutil.ignore_patterns(".git", "__pycache__", "*.pyc", "build", "dist", "*.egg-info",
                                 ".venv", ".pytest_cache")

_DOCKERFILE = """FROM {base}
COPY opt {root}
RUN python3 -c "import glob, zipfile; [zipfile.ZipFile(w).extractall('{root}/pkg') \\
for w in sorted(glob.glob('{root}/wheels/*.whl'))]" \\
 && rm -rf {root}/wheels && chmod -R a+rX,go-w {root} \\
 && python3 -I -c "import sys; sys.path[:0] = ['{root}/deps']; import gymnasium, numpy" \\
 || (echo 'gymnasium/numpy copied from the host do not import in the image: the host \
and the image must both be CPython 3.11 on glibc' >&2; exit 1)
LABEL sandgym.image="isolated-env" sandgym.isolated-hash="{digest}"
WORKDIR /tmp
ENTRYPOINT ["python3", "-I", "{root}/server.py"]
"""


def _package_files(package: Path) -> tuple[str, Path]:
    """What kind of package this is ("wheel" or "dir") and the path to copy."""
    if package.is_file() and package.suffix == ".whl":
        return "wheel", package
    if package.is_dir():
        if (package / "src").is_symlink():
            raise ValueError(f"package {str(package)!r} holds a symlink, "
                             f"{str(package / 'src')!r}; symlinks in a source-directory "
                             f"package are refused (they could copy host files into the image)")
        return "dir", package / "src" if (package / "src").is_dir() else package
    raise ValueError(
        f"package {str(package)!r} must be a wheel (.whl) or a directory of importable "
        f"Python code; an sdist is refused because building it runs its code on the host")


def _tree_files(root: Path) -> list[str]:
    """The relative paths (sorted, POSIX) of the regular files a source package ships.

    Walks without following links, skips what `_IGNORE` skips, and refuses a symlink,
    a FIFO, a device or a socket anywhere in the rest: the hash and the copy both cover
    exactly this list, and nothing outside ``root`` can get into the image.
    """
    files = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        ignored = _IGNORE(dirpath, dirnames + filenames)
        dirnames[:] = sorted(d for d in dirnames if d not in ignored)
        for name in dirnames + [f for f in filenames if f not in ignored]:
            path = Path(dirpath, name)
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                raise ValueError(
                    f"package {str(root)!r} holds a symlink, {str(path)!r} -> "
                    f"{os.readlink(path)!r}; symlinks in a source-directory package are "
                    f"refused (they could copy host files into the image)")
            if stat.S_ISDIR(mode):
                continue
            if not stat.S_ISREG(mode):
                raise ValueError(f"package {str(root)!r} holds {str(path)!r}, which is not a "
                                 f"regular file; refused")
            files.append(path.relative_to(root).as_posix())
    return sorted(files)


def _hash_tree(digest: Any, root: Path, files: list[str]) -> None:
    for rel in files:
        digest.update(rel.encode() + b"\0")
        digest.update((root / rel).read_bytes() + b"\0")


def _copy_tree(root: Path, files: list[str], target: Path) -> None:
    target.mkdir()
    for rel in files:
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / rel, target / rel, follow_symlinks=False)


def _check_wheel(wheel: Path) -> None:
    """Refuse a wheel whose unpacking could write outside its folder or make a link."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError) as e:
        raise ValueError(f"package {str(wheel)!r} is not a readable wheel: {e}") from None
    for info in members:
        name = info.filename
        parts = PurePosixPath(name.replace("\\", "/")).parts
        if (not name or name.startswith(("/", "\\")) or ".." in parts
                or (parts and ":" in parts[0]) or "\0" in name):
            raise ValueError(f"wheel {str(wheel)!r} has a member {name!r:.200} that would "
                             f"unpack outside its folder; refused")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise ValueError(f"wheel {str(wheel)!r} has a member {name!r:.200} that is a "
                             f"symlink; refused")


def _copy_deps(target: Path) -> list[str]:
    """Copy every installed file of the runtime dependencies; returns name==version pins."""
    pins = []
    for name in _DEPS:
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            if name == "farama-notifications":
                continue
            raise
        pins.append(f"{name}=={dist.version}")
        for file in dist.files or ():
            if file.parts[0] == ".." or "__pycache__" in file.parts:
                continue  # console scripts outside site-packages; bytecode
            source = Path(dist.locate_file(file))
            if source.is_file():
                (target / file).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target / file)
    return pins


def _dep_pins() -> list[str]:
    pins = []
    for name in _DEPS:
        try:
            pins.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            pass
    return pins


def build_isolated_image(package: str | Path, *, client: Any, base: str = DEFAULT_IMAGE,
                         force: bool = False) -> str:
    """The image running ``package``'s envs, built unless one with its hash exists."""
    import docker.errors

    kind, source = _package_files(Path(package).resolve())
    if kind == "wheel":
        _check_wheel(source)
        files: list[str] = []
    else:
        files = _tree_files(source)
    try:
        base_id = client.images.get(base).id
    except docker.errors.ImageNotFound as e:
        raise SandboxError(f"base image {base!r} not found; run `sandgym image build`") from e
    # Hashing reads every byte of the package; within one process an unchanged package
    # (same paths, sizes and mtimes, same base image) reuses the digest it hashed before.
    memo_key = (str(source), kind, base_id, tuple(
        (rel, st.st_size, st.st_mtime_ns)
        for rel, st in ((rel, (source / rel).lstat()) for rel in (files or [""]))))
    digest = _DIGESTS.get(memo_key)
    if digest is None:
        digest = hashlib.sha256(f"{RECIPE}\0{base_id}\0{kind}\0".encode())
        digest.update("\0".join(_dep_pins()).encode() + b"\0")
        for name in ("server.py", "codec.py"):
            digest.update((_HERE / name).read_bytes() + b"\0")
        if kind == "wheel":
            digest.update(source.read_bytes())
        else:
            _hash_tree(digest, source, files)
        _DIGESTS[memo_key] = digest
    tag = f"{IMAGE_REPO}:{digest.hexdigest()[:16]}"
    if not force:
        try:
            client.images.get(tag)
            logger.debug("isolated env image %s is cached", tag)
            return tag
        except docker.errors.ImageNotFound:
            pass
    with tempfile.TemporaryDirectory(prefix="sandgym-isolated-") as tmp:
        opt = Path(tmp) / "opt"
        (opt / "deps").mkdir(parents=True)
        for name in ("server.py", "codec.py"):
            shutil.copy2(_HERE / name, opt / name)
        _copy_deps(opt / "deps")
        if kind == "wheel":
            (opt / "wheels").mkdir()
            shutil.copy2(source, opt / "wheels" / source.name)
            (opt / "pkg").mkdir()
        else:
            _copy_tree(source, files, opt / "pkg")
        (Path(tmp) / "Dockerfile").write_text(
            _DOCKERFILE.format(base=base, root=ENV_ROOT, digest=digest.hexdigest()))
        logger.info("building isolated env image %s for %s", tag, package)
        try:
            client.images.build(path=tmp, tag=tag, rm=True, forcerm=True, pull=False,
                                network_mode="none")
        except docker.errors.BuildError as e:
            log = "".join(str(chunk.get("stream", chunk)) for chunk in e.build_log)
            raise SandboxError(f"building {tag} failed: {e}\n{log[-3000:]}") from e
    return tag
