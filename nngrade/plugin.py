"""The pytest plugin that hands the graders what one grading run produced, and collects their outcomes.

The graders in graders/ ask the `judge` fixture for a check's outcome; the plugin attaches
that outcome to pytest-json-report's entry for the test, from which the report is built.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from .checks import PASSED, Outcome, judge
from .exercises import Check
from .runner import RunResult


@dataclass(frozen=True)
class Graded:
    """One exercise's material: the student's run, and per (function, case) its call id and expected values."""
    run: RunResult | None
    problem: str | None                        # the file could not be graded at all (missing, unreadable)
    call_ids: dict[tuple[str, str], int]
    expected: dict[tuple[str, str], dict[str, np.ndarray]]

    def outcome(self, check: Check) -> Outcome:
        if self.problem is not None:
            return Outcome("error", self.problem)
        key = (check.function, check.case)
        return judge(check, self.run, self.call_ids[key], self.expected[key][check.quantity.name])


class GradingPlugin:
    def __init__(self, graded: dict[str, Graded]):
        self.graded = graded
        self.outcomes: dict[str, Outcome] = {}

    @pytest.fixture
    def judge(self, request):
        """Call with a Check: records its outcome and fails the test with the student-facing message."""
        def run_check(check: Check) -> None:
            __tracebackhide__ = True
            outcome = self.graded[check.exercise].outcome(check)
            self.outcomes[request.node.nodeid] = outcome
            if outcome.status != PASSED:
                pytest.fail(outcome.message, pytrace=False)
        return run_check

    def pytest_json_runtest_metadata(self, item, call):
        if call.when != "call" or item.nodeid not in self.outcomes:
            return {}
        outcome = self.outcomes[item.nodeid]
        check = item.callspec.params["check"]
        return {"check": {"exercise": check.exercise, "name": check.name, "status": outcome.status,
                          "message": outcome.message}}
