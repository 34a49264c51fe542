"""The shape of the code (docs/DESIGN.md, "Layers" and "Lifecycles"), checked on every run.

`make lint` runs the same import contracts; these tests keep them in the suite too, with the
rules import-linter cannot see: no imports hidden inside functions, no status written beside
`marketplace.transitions`, and every task enqueued by name really registered.
"""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import pytest
from celery import current_app
from django.apps import apps

from bids.models import Bid
from evaluation.models import Evaluation
from marketplace.transitions import LifecycleModel
from opportunities.models import Opportunity
from payments.models import Contract, Payment

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGES = (
    "marketplace",
    "opportunities",
    "bids",
    "evaluation",
    "payments",
    "lifecycle",
    "reports",
    "demo",
)
LIFECYCLES = (Opportunity, Bid, Evaluation, Contract, Payment)

# Imports inside a function that are not there to dodge a cycle, each with its reason.
LAZY_IMPORTS_ALLOWED = {
    # The fork server (`python -m bids.pdf_worker`) starts before Django is set up, and the web
    # process that starts it must not load the PDF libraries: only the children import them.
    "bids/pdf_worker.py": "the PDF libraries load in the checking child only",
}


def _sources():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            yield path.relative_to(ROOT).as_posix(), ast.parse(path.read_text(), str(path))


def _function_imports(tree: ast.AST):
    """(function name, line) of every import inside a function, except in AppConfig.ready()."""
    found = []

    def visit(node: ast.AST, function: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                visit(child, child.name if function is None else function)
            elif isinstance(child, (ast.Import, ast.ImportFrom)):
                if function is not None and function != "ready":
                    found.append((function, child.lineno))
            else:
                visit(child, function)

    visit(tree, None)
    return found


def test_no_imports_inside_functions():
    hidden = [
        f"{path}:{line} in {function}()"
        for path, tree in _sources()
        if path not in LAZY_IMPORTS_ALLOWED
        for function, line in _function_imports(tree)
    ]
    assert hidden == [], "imports inside functions (move them to the top, or fix the layer)"


def test_the_import_contracts_hold():
    """The same contracts as `make lint` (pyproject.toml, [tool.importlinter])."""
    command = [str(pathlib.Path(sys.executable).with_name("lint-imports")), "--no-cache"]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]


def test_every_lifecycle_model_uses_the_one_helper():
    for model in LIFECYCLES:
        assert issubclass(model, LifecycleModel), model
        statuses = {value for value, _label in model.Status.choices}
        assert set(model.TRANSITIONS) == statuses, model
        for targets in model.TRANSITIONS.values():
            assert targets <= statuses, model
        assert str(model.transition_refused)


def _status_writes(tree: ast.AST):
    """Lines that write a `status` beside the helper: `x.status = …` and `.update(status=…)`."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for leaf in ast.walk(target):
                    if isinstance(leaf, ast.Attribute) and leaf.attr == "status":
                        yield node.lineno
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in {"update", "bulk_update"}
            and any(k.arg == "status" for k in node.keywords)
        ):
            yield node.lineno


# Status fields that are not one of the five lifecycles, each with its reason.
STATUS_WRITES_ALLOWED = {
    "marketplace/transitions.py": "the helper itself",
    # A notification's delivery is claimed by a conditional UPDATE so that two workers never
    # send the same email.
    "marketplace/services.py": "notification deliveries are claimed, not transitioned",
    # A two-person approval is pending, then decided; its "approval.approved" event is written
    # when the approved change is carried out, which is what marks the approval used.
    "marketplace/approvals.py": "approvals record their event when they are used",
    # The demo's past quarters are unsaved rows built in their final states and inserted in
    # bulk, with back-dated events; every move it records is checked against the models'
    # TRANSITIONS by tests/test_demo_data.py.
    "demo/history.py": "back-dated history, checked against the tables by its own test",
}


def test_no_status_is_written_beside_the_transition_helper():
    writes = [
        f"{path}:{line}"
        for path, tree in _sources()
        if path not in STATUS_WRITES_ALLOWED
        for line in _status_writes(tree)
    ]
    assert writes == []


def _enqueued_names(tree: ast.AST):
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", getattr(node.func, "attr", None)) == "enqueue_on_commit"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            yield node.args[0].value


def test_every_task_enqueued_by_name_is_registered():
    apps.get_app_configs()  # the registry is complete once every app's tasks module is loaded
    registered = set(current_app.tasks)
    names = {name for _path, tree in _sources() for name in _enqueued_names(tree)}
    assert names, "the domain enqueues its tasks by name"
    assert sorted(names - registered) == []


@pytest.mark.parametrize("package", PACKAGES)
def test_each_package_is_a_layer_in_the_contract(package):
    text = (ROOT / "pyproject.toml").read_text()
    assert f'"{package}"' in text.split("[tool.importlinter]")[1]
