"""The tests' own structure (issue 22): shared states come from tests/builders.py, shared fixtures
are defined once in a conftest, and no test module borrows from another one.

A test module that imports a helper or a fixture from another test module runs that module's
fixtures in its own namespace and breaks when the other file is renamed or split; put what two
modules share in tests/builders.py (states built through the services), tests/support/ (helpers)
or a conftest.py (fixtures).
"""

from __future__ import annotations

import ast
import importlib
from collections import defaultdict
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent

# Fixture names a conftest deliberately defines again, with a different meaning for its folder.
INTENTIONAL_OVERRIDES = {
    # tests/bids: a supplier whose profile is complete, so bids can be started;
    # tests/marketplace: a bare supplier account, whose profile the tests fill in.
    "supplier": {"tests/bids/conftest.py", "tests/marketplace/conftest.py"},
    # tests/marketplace: limits the approval tests change through the two-person rule and read
    # back; elsewhere, limits a micro-acquisition fits in.
    "card_holder": {"tests/conftest.py", "tests/marketplace/conftest.py"},
}

BUILDERS = [
    "published_opportunity",
    "draft_bid",
    "sealed_bids",
    "evaluation_with_panel",
    "consensus_reached",
    "locked_evaluation",
    "awarded_contract",
    "contract_in_progress",
    "payment_due",
]


def _python_files() -> list[Path]:
    return sorted(p for p in TESTS.rglob("*.py") if "__pycache__" not in p.parts)


def _relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def _is_test_module(module: str) -> bool:
    last = module.rsplit(".", 1)[-1]
    return last.startswith("test_") or last == "conftest"


def _imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every module `path` imports (at any depth), with relative imports made absolute; for
    `from package import name`, both the package and package.name (which may be a module)."""
    package = _module_name(path).rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
    return found


def _borrowing() -> list[tuple[str, int, str]]:
    return sorted(
        (_relative(path), line, module)
        for path in _python_files()
        for line, module in _imported_modules(path)
        if module.startswith("tests.") and _is_test_module(module)
    )


def test_no_test_module_imports_another_test_module():
    assert _borrowing() == [], (
        "move what is shared to tests/builders.py, tests/support/ or a conftest.py"
    )


def _fixtures(path: Path) -> list[str]:
    names = []
    for node in ast.parse(path.read_text(), filename=str(path)).body:
        if isinstance(node, ast.FunctionDef) and any(
            "fixture" in ast.unparse(decorator) for decorator in node.decorator_list
        ):
            names.append(node.name)
    return names


def test_each_shared_fixture_is_defined_once_across_the_conftest_files():
    where = defaultdict(set)
    for path in TESTS.rglob("conftest.py"):
        for name in _fixtures(path):
            where[name].add(_relative(path))
    twice = {
        name: sorted(paths)
        for name, paths in where.items()
        if len(paths) > 1 and paths != INTENTIONAL_OVERRIDES.get(name)
    }
    assert twice == {}, "define each fixture once (or list the override, with its reason)"


def test_the_intentional_overrides_are_still_there():
    """An override that disappeared leaves a stale entry that would hide a new duplicate."""
    for name, paths in INTENTIONAL_OVERRIDES.items():
        for path in paths:
            assert name in _fixtures(ROOT / path), (name, path)


@pytest.mark.parametrize("name", BUILDERS)
def test_the_builders_are_importable(name):
    builders = importlib.import_module("tests.builders")
    assert callable(getattr(builders, name))
