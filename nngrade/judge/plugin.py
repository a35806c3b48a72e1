"""The pytest plugin that hands the graders what one grading run produced, and collects their outcomes.

The graders in graders/ ask the `judge` fixture for a check's outcome; the plugin attaches
that outcome to pytest-json-report's entry for the test, from which the report is built.
One pytest test judges a check for every submission of a batch, each on its own: nothing one
submission sent can change another's outcome, and a fault of the grader's own while judging
one submission is that submission's grader error (nngrade.judge.checks.grader_fault), never a 0.
"""
from __future__ import annotations

import pytest

from nngrade.judge.checks import PASSED, Outcome, grader_fault
from nngrade.judge.exercises import Check
from nngrade.judge.feedback import Graded


class GradingPlugin:
    """Judges each check for every submission of the batch: one pytest test per check, whatever the class size."""

    def __init__(self, graded: dict[tuple[int, str], Graded]):
        self.graded = graded
        self.outcomes: dict[str, list[tuple[int, Outcome]]] = {}

    @pytest.fixture
    def judge(self, request):
        """Call with a Check: records its outcome per submission and fails the test with the message."""
        def run_check(check: Check) -> None:
            __tracebackhide__ = True
            # Only this exercise's runs are waited for (the others may still be running).
            mine = [(index, self.graded[(index, exercise)]) for index, exercise in self.graded
                    if exercise == check.exercise]
            outcomes = [(index, _judged(graded, check)) for index, graded in mine if graded.grades(check)]
            if not outcomes:
                pytest.skip("hidden case: graded when the work is submitted")
            self.outcomes[request.node.nodeid] = outcomes
            failed = [outcome for _, outcome in outcomes if outcome.status != PASSED]
            if failed:
                pytest.fail(failed[0].message if len(outcomes) == 1 else
                            f"{len(failed)} of {len(outcomes)} submissions: {failed[0].message}", pytrace=False)
        return run_check

    def pytest_json_runtest_metadata(self, item, call):
        if call.when != "call" or item.nodeid not in self.outcomes:
            return {}
        check = item.callspec.params["check"]
        return {"checks": [{"submission": index, "exercise": check.exercise, "name": check.name,
                            "status": outcome.status, "message": outcome.message,
                            "follow_through": outcome.follow_through, "misconception": outcome.misconception,
                            "internal": outcome.internal}
                           for index, outcome in self.outcomes[item.nodeid]]}


def _judged(graded: Graded, check: Check) -> Outcome:
    """One submission's outcome. Graded.outcome turns what the student's data causes into that student's
    failure; whatever still raises is the grader's own fault, and stays this submission's."""
    try:
        return graded.outcome(check)
    except Exception as exc:  # noqa: BLE001 - reported in the report, loudly, as the grader's
        return grader_fault(f"{type(exc).__name__} while judging {check.name}: {exc}")
