"""Work handed on by task name reaches a task that exists.

Lower apps queue a higher app's task by its name (``aimss_tracker.dispatch``), and beat runs the
sweeps by name: a misspelt or renamed task would fail only when the broker hands it to a worker
("Received unregistered task"), long after the write that asked for it. These tests read every
caller of the dispatch functions in the product's code and every beat entry, and check each
name against the tasks the Celery app registers.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

from django.conf import settings

from aimss_tracker import dispatch
from aimss_tracker.celery import app

ROOT = Path(__file__).resolve().parent.parent
DISPATCH_FUNCTIONS = {"send_on_commit", "send_now", "run_in_transaction"}


def _registered_tasks() -> set[str]:
    app.loader.import_default_modules()  # the apps' tasks modules, as a worker imports them
    return set(app.tasks)


def _product_modules() -> list[tuple[str, Path]]:
    """Every module of the product's own packages (the apps and the project package)."""
    modules = []
    for init in sorted(ROOT.glob("*/__init__.py")):
        package = init.parent
        if package.name in {"tests", "bench"} or package.name.startswith("."):
            continue
        for path in sorted(package.rglob("*.py")):
            if "migrations" in path.parts:
                continue
            relative = path.relative_to(ROOT).with_suffix("")
            name = ".".join(relative.parts).removesuffix(".__init__")
            modules.append((name, path))
    return modules


def _dispatched_names() -> dict[str, list[str]]:
    """{task name: [where it is queued]} for every call of a dispatch function."""
    found: dict[str, list[str]] = {}
    for module_name, path in _product_modules():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if called not in DISPATCH_FUNCTIONS or module_name == dispatch.__name__:
                continue
            name = _resolve(module_name, node.args[0])
            found.setdefault(name, []).append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def _resolve(module_name: str, argument: ast.expr) -> str:
    """The task name a call passes: a string literal, or a constant the module can see."""
    if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
        return argument.value
    module = importlib.import_module(module_name)
    if isinstance(argument, ast.Name):
        value = getattr(module, argument.id)
    elif isinstance(argument, ast.Attribute) and isinstance(argument.value, ast.Name):
        value = getattr(getattr(module, argument.value.id), argument.attr)
    else:
        raise AssertionError(f"{module_name}: a task name the test cannot read: {argument!r}")
    assert isinstance(value, str), f"{module_name}: {ast.unparse(argument)} is not a task name"
    return value


def test_every_task_name_handed_to_dispatch_is_a_registered_task() -> None:
    # given every call of the dispatch functions in the product's code
    dispatched = _dispatched_names()
    # (the scan finds the callers it must: the lower apps' hand-overs and analytics' reports)
    assert dispatch.EVALUATE_RESPONSE in dispatched
    assert dispatch.EVALUATE_CHECK_IN in dispatched
    assert dispatch.EVALUATE_TREATMENT_EVENT in dispatched
    assert dispatch.PATIENT_CLINIC_CHANGED in dispatched
    assert "analytics.tasks.cohort_report_task" in dispatched
    # when the names are looked up among the Celery app's tasks
    registered = _registered_tasks()
    unknown = {name: where for name, where in dispatched.items() if name not in registered}
    # then every one is a task a worker runs
    assert unknown == {}


def test_every_task_name_dispatch_declares_is_a_registered_task() -> None:
    declared = {
        value
        for name, value in vars(dispatch).items()
        if name.isupper() and isinstance(value, str) and "." in value
    }
    assert len(declared) >= 4
    assert declared <= _registered_tasks()


def test_every_beat_entry_runs_a_registered_task() -> None:
    registered = _registered_tasks()
    entries = settings.CELERY_BEAT_SCHEDULE
    assert entries, "beat runs the sweeps"
    unknown = {key: e["task"] for key, e in entries.items() if e["task"] not in registered}
    assert unknown == {}


def test_a_misspelt_name_is_not_registered() -> None:
    # The check above can fail: a name one letter off is not a task.
    assert "followup.tasks.evaluate_responses_task" not in _registered_tasks()


def test_a_hung_broker_holds_one_caller_at_most_half_a_second_and_the_rest_not_at_all() -> None:
    import time
    from unittest import mock

    from aimss_tracker import dispatch

    # given a broker that hangs: each publish takes 1.5 s
    with mock.patch.object(dispatch.app, "send_task", side_effect=lambda *a, **k: time.sleep(1.5)):
        started = time.monotonic()
        # when five requests hand on work one after the other
        for n in range(5):
            dispatch.send_now("followup.tasks.evaluate_response_task", n)
        took = time.monotonic() - started
        # then the first waits its half second and the others see the publisher hang
        assert took < dispatch.PUBLISH_WAIT + 0.3, took
        assert dispatch.publisher_stuck()
        # and once the broker answers again (the five hung publishes done), callers wait again
        deadline = time.monotonic() + 10
        while dispatch.publisher_stuck() or dispatch._publisher._work_queue.qsize():
            assert time.monotonic() < deadline, "the publishes never finished"
            time.sleep(0.1)
        time.sleep(1.6)
