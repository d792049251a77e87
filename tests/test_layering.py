"""The layers stay apart: services, storage and models know nothing of Flask or the web layer,
and models know nothing of services. Checked on the source (``ast``), so nothing is imported
and an import inside a function or under ``TYPE_CHECKING`` counts too."""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
BELOW_THE_WEB = ("app/services", "app/storage", "app/models")


def imported_modules(path: Path) -> Iterator[tuple[int, str]]:
    """Each module the file at ``path`` imports, as an absolute dotted name, with its line.

    ``from package import name`` yields both ``package`` and ``package.name`` (``name`` may be a
    submodule); relative imports are resolved against the file's own package, and
    ``importlib.import_module("...")`` / ``__import__("...")`` with a literal name count too.
    """
    module_parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    package_parts = module_parts[:-1]  # an __init__.py's package is its own directory
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base_parts = package_parts[: len(package_parts) - node.level + 1] if node.level else []
            base = ".".join([*base_parts, *([node.module] if node.module else [])])
            if base:
                yield node.lineno, base
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}" if base else alias.name
        elif isinstance(node, ast.Call) and _is_dynamic_import(node.func) and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                yield node.lineno, first.value


def _is_dynamic_import(func: ast.expr) -> bool:
    if isinstance(func, ast.Attribute):
        return func.attr == "import_module"
    return isinstance(func, ast.Name) and func.id in {"import_module", "__import__"}


def is_web(name: str) -> bool:
    root = name.split(".")[0]
    return (
        root in {"flask", "werkzeug"}
        or root.startswith("flask_")
        or name == "app.web"
        or name.startswith("app.web.")
    )


def is_services(name: str) -> bool:
    return name == "app.services" or name.startswith("app.services.")


def violations(layers: tuple[str, ...], forbidden: Callable[[str], bool]) -> list[str]:
    found = []
    for layer in layers:
        modules = sorted((REPO_ROOT / layer).rglob("*.py"))
        assert modules, f"no modules under {layer}: has the layer moved?"
        for path in modules:
            reported_lines = set()  # `from flask import g` names flask and flask.g: say it once
            for line, name in imported_modules(path):
                if forbidden(name) and line not in reported_lines:
                    reported_lines.add(line)
                    found.append(f"{path.relative_to(REPO_ROOT)}:{line} imports {name}")
    return found


def test_services_storage_and_models_import_neither_flask_nor_werkzeug_nor_the_web() -> None:
    found = violations(BELOW_THE_WEB, is_web)
    assert not found, "below the web layer:\n" + "\n".join(found)


def test_models_import_nothing_from_services() -> None:
    found = violations(("app/models",), is_services)
    assert not found, "models must not depend on services:\n" + "\n".join(found)
