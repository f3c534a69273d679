"""One error hierarchy: every exception class lives in errors.py under exactly one kind;
the window runner says how a partition ended as a value, not as a side effect."""

from __future__ import annotations

import ast
import importlib
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tap_tailscale import errors
from tap_tailscale.client import RetryLoop, RetryPolicy
from tap_tailscale.errors import KINDS, RetriableError, SkipPartitionError
from tap_tailscale.logs.runner import Outcome, WindowJob, run_windows
from tap_tailscale.logs.windows import SyncRange, Window, WindowPlanner
from tap_tailscale.report import RunReport

if TYPE_CHECKING:
    from collections.abc import Iterator

PACKAGE = Path(errors.__file__).parent
START = datetime(2025, 3, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _defined_exception_classes() -> dict[str, type[BaseException]]:
    """Every exception class defined in tap_tailscale outside policy/, by qualified name."""
    found: dict[str, type[BaseException]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] == "policy":
            continue
        tree = ast.parse(path.read_text())
        if relative.name == "__main__.py":  # importing it runs the tap
            assert not any(isinstance(node, ast.ClassDef) for node in ast.walk(tree))
            continue
        module_name = ".".join(("tap_tailscale", *relative.with_suffix("").parts))
        module_name = module_name.removesuffix(".__init__")
        module = importlib.import_module(module_name)
        for node in ast.walk(tree):
            if not isinstance(node, ast.ClassDef):
                continue
            # Classes are looked up at module level; one nested elsewhere fails loudly.
            cls = getattr(module, node.name, None)
            assert isinstance(cls, type), f"{module_name}.{node.name} is not at module level"
            if issubclass(cls, BaseException) and cls.__module__ == module_name:
                found[f"{module_name}.{node.name}"] = cls
    return found


def test_every_exception_class_is_in_errors_under_exactly_one_kind() -> None:
    classes = _defined_exception_classes()
    assert len(classes) >= 20  # the walk found the hierarchy, not an empty package
    outside = sorted(name for name in classes if not name.startswith("tap_tailscale.errors."))
    assert outside == []
    for name, cls in classes.items():
        if cls in KINDS:
            continue
        kinds = [kind.__name__ for kind in KINDS if issubclass(cls, kind)]
        assert len(kinds) == 1, f"{name} falls under {kinds}"


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("RetriableError", "RetryableError"),
        ("ResponseTooLargeError", "RetryableError"),
        ("WindowTooLargeError", "ShrinkableError"),
        ("DeadlineExceededError", "ShrinkableError"),
        ("SkipPartitionError", "SkipError"),
        ("RejectedEntryError", "SkipError"),
        ("ConfigError", "FatalError"),
        ("MissingRecordingError", "FatalError"),
    ],
)
def test_kind_of_each_error(name: str, kind: str) -> None:
    assert issubclass(getattr(errors, name), getattr(errors, kind))


def _job(read: Any, report: RunReport, windows: int = 2) -> WindowJob:
    return WindowJob(
        stream="network_flow",
        tailnet="-",
        label="network_flow",
        planner=WindowPlanner(SyncRange(START, START + windows * HOUR), size=HOUR, min_size=HOUR),
        retry=RetryLoop(
            RetryPolicy(max_attempts=2, initial=1, ceiling=1, sleep=lambda _seconds: None)
        ),
        report=report,
        logger=logging.getLogger("test_error_kinds"),
        read=read,
        commit=lambda window: window.end.isoformat(),
        key=lambda record: str(record["key"]),
        on_end_bound=lambda _record, _window: False,
        is_reread=lambda _record: False,
    )


def _one_record(window: Window) -> Iterator[dict[str, Any]]:
    yield {"key": window.start.isoformat()}


def test_a_partition_read_to_the_end_is_finished() -> None:
    report = RunReport()
    run = run_windows(_job(_one_record, report))
    assert run.outcome is None  # nothing is known before the records are read
    assert len(list(run)) == 2
    assert run.outcome is Outcome.FINISHED
    assert report.halted == []


def test_a_window_failing_every_attempt_halts() -> None:
    def failing(window: Window) -> Iterator[dict[str, Any]]:
        if window.start > START:
            raise RetriableError("HTTP 503")
        yield from _one_record(window)

    report = RunReport()
    run = run_windows(_job(failing, report))
    assert len(list(run)) == 1
    assert run.outcome is Outcome.HALTED
    assert len(report.halted) == 1


def test_a_skipped_partition_is_an_outcome_with_its_reason() -> None:
    def skipping(_window: Window) -> Iterator[dict[str, Any]]:
        raise SkipPartitionError("network flow logs are off")
        yield {}  # pragma: no cover - makes this a generator

    report = RunReport()
    run = run_windows(_job(skipping, report))
    assert list(run) == []
    assert run.outcome is Outcome.SKIPPED
    assert run.reason == "network flow logs are off"
    assert report.halted == []
