"""The built wheel and fresh virtual environments to install it in, as a user's would."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import sys
import tomllib
from pathlib import Path
from typing import Any

from tests.live_server import run_checked

REPO_ROOT = Path(__file__).resolve().parents[1]
CACHE_DIR = Path.home() / ".cache" / "mlmodel-emulator"
PIP_TIMEOUT_S = 900.0
# What the wheel's build needs besides the project's files.
SOURCE_FILES = ("pyproject.toml", "README.md", "src")


def pyproject() -> dict[str, Any]:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())


def runtime_requirements() -> list[str]:
    """What an install resolves: the dependencies, the pytest extra, the build backend."""
    project: dict[str, Any] = pyproject()
    return sorted(
        [
            *project["project"]["dependencies"],
            *project["project"]["optional-dependencies"]["pytest"],
            *project["build-system"]["requires"],
        ]
    )


def copy_sources(destination: Path) -> Path:
    """The files a build reads, copied without caches and build leftovers."""
    destination.mkdir(parents=True, exist_ok=True)
    ignored = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in SOURCE_FILES:
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, destination / name, ignore=ignored)
        else:
            shutil.copy2(source, destination / name)
    return destination


def build_wheel(directory: Path) -> Path:
    """Build the project's wheel from a clean copy of its sources; the wheel's path.

    The build backend comes from the wheelhouse, so no index is asked."""
    sources = copy_sources(directory / "sources")
    out = directory / "dist"
    run_checked(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", str(out), str(sources)],
        timeout=PIP_TIMEOUT_S,
        env={**os.environ, **offline_pip_env(wheelhouse())},
    )
    (wheel,) = out.glob("mlmodel_emulator-*.whl")
    return wheel


def wheelhouse() -> Path:
    """A folder of wheels for every runtime requirement, made once (from the registry) and
    kept, so that installs from it need no network: ``pip install --no-index --find-links``."""
    requirements = runtime_requirements()
    key = hashlib.sha256("\n".join([sys.version, *requirements]).encode()).hexdigest()[:16]
    house = CACHE_DIR / f"wheelhouse-{key}"
    if house.is_dir():
        return house
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with (CACHE_DIR / f"wheelhouse-{key}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not house.is_dir():
            filling = CACHE_DIR / f"wheelhouse-{key}.partial"
            shutil.rmtree(filling, ignore_errors=True)
            run_checked(
                [sys.executable, "-m", "pip", "wheel", "--wheel-dir", str(filling), *requirements],
                timeout=PIP_TIMEOUT_S,
            )
            filling.rename(house)
    return house


def fresh_venv(directory: Path) -> Path:
    """A new virtual environment with nothing but pip; its bin folder."""
    run_checked([sys.executable, "-m", "venv", str(directory)], timeout=300)
    return directory / "bin"


def offline_pip_env(house: Path) -> dict[str, str]:
    """pip settings that take every package from `house` and none from an index."""
    return {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(house), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
