"""A project outside this repo, with its own pyproject.toml naming the built wheel, runs the
README's pytest suite: the plugin's fixtures, the official client against the live server.

Its venv is new each run but sees the cached client venv's packages (a .pth file adds that
site-packages after its own), so openmetadata-ingestion is not installed again and the
cached venv is left as it was; everything else comes from the wheelhouse, without an index.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.compat.harness import CLIENT_VERSION
from tests.live_server import run_checked
from tests.packaging import (
    PIP_TIMEOUT_S,
    REPO_ROOT,
    build_wheel,
    fresh_venv,
    offline_pip_env,
    wheelhouse,
)

pytestmark = pytest.mark.compat

SECTION = "## Using it in your pytest suite"
README_WHEEL = re.compile(r"file:///path/to/dist/mlmodel_emulator-[^\"]+\.whl")
SUITE_TIMEOUT_S = 600.0
# The README's suite: 4 tests with the in-process client, 2 with the official client.
EXPECTED_PASSED = 6


def readme_project_files() -> dict[str, str]:
    """The README section's code blocks that start with a ``# <path>`` line, by path."""
    section = (REPO_ROOT / "README.md").read_text().split(SECTION, 1)[1].split("\n## ", 1)[0]
    files = {}
    for body in re.findall(r"```(?:python|toml)\n(.*?)```", section, flags=re.DOTALL):
        first_line = body.partition("\n")[0]
        named = re.fullmatch(r"# (\S+)", first_line)
        if named:
            files[named.group(1)] = body
    return files


def site_packages(python: Path) -> Path:
    probe = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    return Path(run_checked([str(python), "-c", probe], timeout=60).stdout.strip())


def clean_env() -> dict[str, str]:
    """This run's environment without what would point the project's Python elsewhere."""
    dropped = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP", "DATABASE_URL")
    return {
        name: value
        for name, value in os.environ.items()
        if name not in dropped and not name.startswith(("MLMODEL_EMULATOR_", "PIP_"))
    }


def test_readme_names_the_project_files() -> None:
    assert sorted(readme_project_files()) == [
        "pyproject.toml",
        "tests/conftest.py",
        "tests/test_official_client.py",
        "tests/test_services.py",
    ]
    assert f"openmetadata-ingestion=={CLIENT_VERSION}" in readme_project_files()["pyproject.toml"]


def test_external_project_runs_the_readme_suite(client_python: Path, tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path / "wheel")
    project = tmp_path / "project"
    for name, body in readme_project_files().items():
        path = project / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(README_WHEEL.sub(wheel.as_uri(), body))
    assert wheel.as_uri() in (project / "pyproject.toml").read_text()

    python = fresh_venv(tmp_path / "venv") / "python"
    layered = f"import site; site.addsitedir({str(site_packages(client_python))!r})\n"
    (site_packages(python) / "openmetadata-client.pth").write_text(layered)
    env = clean_env()
    run_checked(
        [str(python), "-m", "pip", "install", str(project)],
        timeout=PIP_TIMEOUT_S,
        env={**env, **offline_pip_env(wheelhouse())},
    )
    probe = "import mlmodel_emulator; print(mlmodel_emulator.__file__)"
    imported = run_checked([str(python), "-c", probe], timeout=60, env=env).stdout.strip()
    assert Path(imported).is_relative_to(site_packages(python))

    suite = subprocess.run(
        [str(python), "-m", "pytest", "-p", "no:cacheprovider"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=SUITE_TIMEOUT_S,
        check=False,
    )

    report = f"{suite.stdout[-6000:]}\n{suite.stderr[-3000:]}"
    assert suite.returncode == 0, report
    summary = suite.stdout.strip().splitlines()[-1]
    assert re.search(rf"\b{EXPECTED_PASSED} passed\b", summary), report
    assert not re.search(r"failed|error|skipped", summary), report
