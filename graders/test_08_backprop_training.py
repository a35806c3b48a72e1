"""Grader for exercise 08: one test per graded quantity and case, declared in nngrade.exercises."""
import pytest

from nngrade.exercises import EXERCISES

EXERCISE = EXERCISES["08"]


@pytest.mark.parametrize("check", EXERCISE.checks, ids=lambda check: check.name)
def test_quantity(check, judge):
    judge(check)
