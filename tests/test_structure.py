"""The codebase keeps its shape: small modules, and one owner of each transaction.

STYLE.md §4 and §12: one place owns the session and transaction (the request in
app/context.py, the command in app/cli/common.py), and a module that passes ~400 lines is split.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MAX_MODULE_LINES = 400
# Batch jobs that commit each item on its own, so one failure does not undo the others and
# a crypto-shredding is durable before the blobs go (their docstrings say so).
BATCH_JOBS = {"app/services/retention.py", "app/services/draft_purge.py"}


def _modules(*folders: str) -> list[Path]:
    return sorted(path for folder in folders for path in (REPO / folder).rglob("*.py"))


def test_no_module_is_longer_than_400_lines() -> None:
    long = [
        f"{path.relative_to(REPO)}: {count} lines"
        for path in _modules("app", "crypto")
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    ]
    assert long == []


def test_only_the_transaction_owners_commit_or_roll_back() -> None:
    found = []
    for path in _modules("app/web", "app/services"):
        name = str(path.relative_to(REPO))
        if name in BATCH_JOBS:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), name)):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("commit", "rollback")
            ):
                found.append(f"{name}:{node.lineno} calls {node.func.attr}()")
    assert found == []
