"""The README's curl examples, run as pasted against a live server."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.live_server import mint_token, running_server

README = Path(__file__).resolve().parents[1] / "README.md"
README_BASE = "http://127.0.0.1:8585"


def _curl_examples() -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", README.read_text(), flags=re.DOTALL)
    commands = []
    for block in blocks:
        for command in re.split(r"\n(?=curl )", block.strip()):
            if command.startswith("curl "):
                commands.append(command)
    return commands


def test_readme_has_the_seed_examples():
    methods = [re.search(r"-X (\w+)", command) for command in _curl_examples()]

    assert [m.group(1) for m in methods if m][:3] == ["POST", "PUT", "PUT"]


def test_readme_curl_examples_succeed_in_order(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    expected = [
        ("POST", 201),
        ("PUT", 200),
        ("PUT", 200),
        ("GET", 200),
        ("GET", 200),
        ("GET", 200),
        ("POST", 201),
        ("PUT", 201),
        ("GET", 200),
        ("GET", 200),
        ("PATCH", 200),
        ("POST", 204),
        ("POST", 204),
        ("POST", 201),
        ("GET", 503),
        ("GET", 200),
        ("GET", 200),
        ("GET", 200),
        ("DELETE", 204),
        ("DELETE", 204),
        ("POST", 200),
        ("PUT", 200),
        ("PUT", 200),
        ("DELETE", 200),
    ]

    admin_api = {"MLMODEL_EMULATOR_ADMIN_API": "true"}
    with running_server(data_dir, "sqlite", None, extra_env=admin_api) as server:
        token = mint_token("admin", server.env)
        outcomes = []
        for command in _curl_examples():
            pasted = command.replace(README_BASE, server.base_url)
            result = subprocess.run(
                ["bash", "-c", pasted + " -o /dev/null -w '%{http_code}'"],
                capture_output=True,
                text=True,
                env={**server.env, "TOKEN": token},
                timeout=60,
                check=False,
            )
            method = re.search(r"-X (\w+)", command)
            outcomes.append((method.group(1) if method else "GET", int(result.stdout[-3:] or 0)))

    assert outcomes == expected


@pytest.mark.parametrize("command", ["make run", "make test"])
def test_readme_names_the_two_commands(command):
    assert command in README.read_text()
