"""Runs the official openmetadata-ingestion client against a live emulator server."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.compat.harness import CLIENT_VERSION
from tests.live_server import RunningServer, mint_token

DRIVER = Path(__file__).with_name("client_driver.py")
DRIVER_TIMEOUT_S = 180.0
# Variables of the test interpreter's environment that must not leak into the client venv.
CLIENT_ENV_EXCLUDE = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")


def _describe_failures(summary: dict[str, Any]) -> str:
    lines: list[str] = []
    for step in summary["steps"]:
        if step["status"] == "ok":
            continue
        lines.append(f"[{step['status']}] {step['name']}: {step.get('error', '')}")
        for exchange in step.get("http", []):
            lines.append(
                f"    {exchange['method']} {exchange['url']} -> {exchange['status']}"
                f"\n      request:  {exchange['request_body']}"
                f"\n      response: {exchange['response_body']}"
            )
    return "\n".join(lines)


def run_driver(
    driver: Path, client_python: Path, server: RunningServer, tmp_path: Path
) -> dict[str, Any]:
    """Run ``driver`` in the client's interpreter against ``server``; fail unless every one of
    its steps passed. Answers the driver's summary."""
    summary_path = tmp_path / f"{driver.stem}-summary.json"
    env = {key: value for key, value in os.environ.items() if key not in CLIENT_ENV_EXCLUDE}
    env["MLMODEL_EMULATOR_TOKEN"] = mint_token("admin", server.env)
    env["MLMODEL_EMULATOR_BOT_TOKEN"] = mint_token("ingestion-bot", server.env)
    completed = subprocess.run(
        [
            str(client_python),
            str(driver),
            "--host-port",
            server.host_port,
            "--summary",
            str(summary_path),
        ],
        capture_output=True,
        text=True,
        timeout=DRIVER_TIMEOUT_S,
        env=env,
        check=False,
    )
    logs = (
        f"--- driver stderr ---\n{completed.stderr[-8000:]}\n"
        f"--- server log ({server.database}) ---\n{server.log_tail()}"
    )
    assert summary_path.is_file(), (
        f"the driver wrote no summary (exit code {completed.returncode})\n"
        f"--- driver stdout ---\n{completed.stdout[-20000:]}\n{logs}"
    )
    summary: dict[str, Any] = json.loads(summary_path.read_text())
    assert summary["client_version"] == CLIENT_VERSION, summary["client_version"]
    failed = [step["name"] for step in summary["steps"] if step["status"] != "ok"]
    assert not failed, f"failed steps: {failed}\n{_describe_failures(summary)}\n\n{logs}"
    assert completed.returncode == 0, f"driver exit code {completed.returncode}\n{logs}"
    return summary


@pytest.mark.compat
def test_official_client(
    client_python: Path, emulator_server: RunningServer, tmp_path: Path
) -> None:
    """Every step of client_driver.py passes against the server."""
    run_driver(DRIVER, client_python, emulator_server, tmp_path)
