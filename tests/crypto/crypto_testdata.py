"""Paths and loaders shared by the crypto tests (a module, since conftest is not importable)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

VECTORS = Path(__file__).parent / "vectors"
REPO_ROOT = Path(__file__).resolve().parents[2]
NODE_DIR = Path(__file__).parent / "node"


def load_vectors(name: str) -> Any:
    return json.loads((VECTORS / name).read_text(encoding="utf-8"))
