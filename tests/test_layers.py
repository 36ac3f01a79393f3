"""The pipeline's layering (STYLE.md): each stage imports only the stages
before it. grammar → syntax → check → compiler → runtime → store → cli."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "cepengine"
LAYERS = {
    "errors": 0,
    "source": 0,
    "diagnostics": 0,
    "events": 0,
    "syntax": 1,
    "check": 2,
    "compiler": 3,
    "runtime": 4,
    "store": 5,
    "cli": 6,
    "__main__": 6,
    "__init__": 6,
}
# Imports that go up on purpose, each with its reason.
ALLOWED_UPWARD = {
    # Engine(store=URL) and Engine.restore: the store is loaded only when an
    # embedding application asks for durability (a function-level import).
    ("runtime/engine.py", "store"),
}


def _layer(module: str) -> str:
    return module.split(".")[1] if module.startswith("cepengine.") else ""


def _imports(path: Path) -> set[str]:
    return {name for name in _all_imports(path) if name.startswith("cepengine.")}


def test_every_module_imports_only_earlier_stages() -> None:
    violations = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        own = relative.split("/")[0].removesuffix(".py")
        if own not in LAYERS:
            continue
        for module in _imports(path):
            target = _layer(module)
            if LAYERS.get(target, -1) > LAYERS[own] and (relative, target) not in ALLOWED_UPWARD:
                violations.append(f"{relative} imports {module}")
    assert violations == []


def test_lark_stays_in_the_syntax_layer() -> None:
    users = [
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if any(n == "lark" or n.startswith("lark.") for n in _all_imports(path))
    ]
    assert all(user.startswith("syntax/") for user in users), users


def test_sqlalchemy_stays_in_the_store() -> None:
    users = [
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if any(n.split(".")[0] in ("sqlalchemy", "alembic") for n in _all_imports(path))
    ]
    assert all(user.startswith("store/") for user in users), users


def _all_imports(path: Path) -> set[str]:
    """Every absolute import in the module, at any depth (lazy ones too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found
