"""The pytest plugin that hands the graders what one grading run produced, and collects their outcomes.

The graders in graders/ ask the `judge` fixture for a check's outcome; the plugin attaches
that outcome to pytest-json-report's entry for the test, from which the report is built.
"""
from __future__ import annotations

import pytest

from .checks import PASSED, Outcome
from .exercises import Check
from .feedback import Graded


class GradingPlugin:
    def __init__(self, graded: dict[str, Graded]):
        self.graded = graded
        self.outcomes: dict[str, Outcome] = {}

    @pytest.fixture
    def judge(self, request):
        """Call with a Check: records its outcome and fails the test with the student-facing message."""
        def run_check(check: Check) -> None:
            __tracebackhide__ = True
            graded = self.graded[check.exercise]
            if not graded.grades(check):
                pytest.skip("hidden case: graded when the work is submitted")
            outcome = graded.outcome(check)
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
                          "message": outcome.message, "follow_through": outcome.follow_through,
                          "misconception": outcome.misconception}}
