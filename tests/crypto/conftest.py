"""Fixtures for the crypto tests: cheap Argon2 where the protocol allows, fixed inputs."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

import pytest
from crypto_testdata import REPO_ROOT

from crypto.wrapping import MIN_MEMLIMIT, MIN_OPSLIMIT


@pytest.fixture(scope="session")
def cheap_kdf() -> dict[str, int]:
    """Argon2id limits for staff wrapping in tests (the tipster's stay fixed by the protocol)."""
    return {"opslimit": MIN_OPSLIMIT, "memlimit": MIN_MEMLIMIT}


@pytest.fixture(scope="session")
def offline_cli() -> ModuleType:
    """``app/cli/offline.py`` loaded by path, without importing the ``app`` package.

    The offline commands must work with only click and crypto installed; loading the
    file directly proves it does not need Flask or the database.
    """
    spec = importlib.util.spec_from_file_location(
        "tipline_offline_cli", REPO_ROOT / "app" / "cli" / "offline.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("tipline_offline_cli", module)
    spec.loader.exec_module(module)
    return module
