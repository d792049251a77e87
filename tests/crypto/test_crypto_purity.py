"""The crypto package stays pure: stdlib, PyNaCl, argon2-cffi and mnemonic only; never the app."""

from __future__ import annotations

import ast
import subprocess
import sys

from crypto_testdata import REPO_ROOT

ALLOWED_THIRD_PARTY = {"nacl", "argon2", "mnemonic"}


def imported_roots(source: str) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_crypto_modules_import_only_allowed_packages() -> None:
    allowed = set(sys.stdlib_module_names) | ALLOWED_THIRD_PARTY | {"crypto"}
    for path in sorted((REPO_ROOT / "crypto").rglob("*.py")):
        unexpected = imported_roots(path.read_text(encoding="utf-8")) - allowed
        assert not unexpected, f"{path.relative_to(REPO_ROOT)} imports {unexpected}"


def test_offline_cli_imports_only_click_and_crypto() -> None:
    source = (REPO_ROOT / "app" / "cli" / "offline.py").read_text(encoding="utf-8")
    assert imported_roots(source) - set(sys.stdlib_module_names) == {"click", "crypto"}


def test_importing_crypto_loads_neither_flask_nor_sqlalchemy() -> None:
    code = (
        "import sys, crypto, crypto.bundle, crypto.codes, crypto.keyfile, crypto.wrapping\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'app', 'flask', 'sqlalchemy'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, check=True
    )
    assert result.stdout.strip() == "[]"
