"""Runs the official openmetadata-ingestion client's event subscription calls (and the
webhook delivery they set up) against a live emulator server."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.compat.test_official_client import run_driver
from tests.live_server import RunningServer

DRIVER = Path(__file__).with_name("subscription_driver.py")


@pytest.mark.compat
def test_official_client_event_subscriptions(
    client_python: Path, emulator_server: RunningServer, tmp_path: Path
) -> None:
    """Every step of subscription_driver.py passes against the server."""
    run_driver(DRIVER, client_python, emulator_server, tmp_path)
