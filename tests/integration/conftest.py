"""Fixtures shared by the integration tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.test_registry_server_support import RegistryProcess, running_registry


@pytest.fixture(autouse=True)
def private_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Credentials and settings of this test only (never the real ~/.docker)."""
    monkeypatch.setenv("HULL_CONFIG", str(tmp_path / "hull-config.json"))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))
    return tmp_path / "hull-config.json"


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[RegistryProcess]:
    """hull's registry server on 127.0.0.1, stopped after the test."""
    with running_registry(tmp_path / "registry") as server:
        yield server
