"""Judging one check with what a teaching assistant would add: follow-through credit and the likely mistake.

A failed value is looked at twice more. Follow-through: is it right when the reference is
applied to the student's own (wrong) upstream values, those of the same call or the results
of the student's own other functions it calls? Then one early slip costs that step only.
Diagnosis: does it match a variant of the reference with one known mistake (nngrade.judge.derive),
where that variant differs from the reference? Neither is
granted to values that carry no information: zero on the case's scale (all zeros, or
values near 1e-14 where the real ones are near 0.1), or the same value whatever the inputs,
so that a chain of placeholders cannot farm credit; and follow-through only where the
student's upstream values made a difference to the one judged.

Whose fault: what is computed on the student's own values (converting them, comparing them,
the follow-through and the diagnosis from them) can only fail that student's check. What is
the grader's (the expected values, the oracle's variants of the case, the exercise's spec)
raises, and the plugin reports it as a grader error, never as a grade.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from nngrade.judge.checks import (ERROR, FAILED, LOW_PRECISION, NOT_IMPLEMENTED, PASSED, TIMEOUT, Outcome, aligned, as_numbers,
                     compare, grader_fault, matches, numbers, scale, tolerance)
from nngrade.judge.exercises import RTOL, SIDE_EFFECTS, Check, Exercise
from nngrade.judge.oracle import Expectations
from nngrade.run.runner import CallResult, RunResult


@dataclass
class Graded:
    """One exercise's material: the student's run, per (function, case) graded its call id, and the expectations."""
    exercise: Exercise
    run: RunResult | None
    problem: str | None                        # the file could not be graded at all (missing, unreadable)
    call_ids: dict[tuple[str, str], int]       # only the cases graded in this run (no hidden ones in a release)
    expectations: Expectations | None
    key: bytes = b""                           # the grader's secret for hidden messages' words (nngrade.judge.checks)
    fault: str | None = None                   # the grader could not prepare this exercise (its own error)
    # (function, case) -> [(another function, call id)]: the student's functions run on the reference's calls
    derived: dict = field(default_factory=dict)
    parameters: dict = field(default_factory=dict)   # function -> the stub's parameters, in their order
    _values: dict = field(default_factory=dict, repr=False)
    _precision: list = field(default_factory=list, repr=False)   # the run's coarsest float dtype, once found

    @property
    def graded_calls_complete(self) -> bool:
        """Every graded call came back: what stopped the run afterwards (a time limit met in the judge's own
        calls for follow-through) is no problem of the file's."""
        return self.run is not None and all(i in self.run.calls for i in self.call_ids.values())

    @property
    def expected(self) -> dict[tuple[str, str], dict[str, np.ndarray]]:
        return self.expectations.expected

    def wants_others(self) -> bool:
        """Whether a value of a function that calls the exercise's others fails: only then is follow-through across
        functions looked for, and the student's results on the reference's calls to those others (the judge's
        own calls, hundreds for a training epoch) of any use. Errs towards yes: a grader's fault here is judged
        later, where it is said."""
        if self.run is None or not self.derived:
            return False
        try:
            for function, case in self.derived:
                call = self.run.calls.get(self.call_ids.get((function, case)))
                for quantity in self.exercise.function(function).quantities if call is not None else ():
                    if quantity.name == SIDE_EFFECTS or quantity.name not in call.values:
                        continue
                    value, _, outcome = self._compared(function, case, quantity, call, visible=False)
                    if outcome.status == FAILED and as_numbers(value) is not None:
                        return True
        except Exception:  # noqa: BLE001 - see above
            return True
        return False

    def grades(self, check: Check) -> bool:
        """Whether this run grades the check (a student release leaves the hidden cases for submission);
        after a fault of the grader's every check is there, as that fault."""
        return check.case == "all" or (check.function, check.case) in self.call_ids or self.fault is not None

    def _cases(self, function: str) -> list[str]:
        return [case for case in self.exercise.function(function).cases if (function, case) in self.call_ids]

    def outcome(self, check: Check) -> Outcome:
        """The check's outcome for this student; raises only for a fault of the grader's own."""
        if self.fault is not None:
            return grader_fault(self.fault)
        if self.problem is not None:
            return Outcome(ERROR, self.problem)
        # The student's values arrive converted (checks.numbers never raises), and numpy's overflows on them are
        # values, not errors: whatever still raises here is the grader's own fault, a grader error (never a 0).
        with np.errstate(all="ignore"):
            if check.quantity.name == SIDE_EFFECTS:
                return self._side_effects(check.function)
            call = self.run.calls.get(self.call_ids[(check.function, check.case)])
            if call is not None and check.quantity.name in call.values:
                # Graded even when the function raised later on: a slip in the last line costs only that line.
                # But a value the exception left half-finished (a sum after one record, weights not updated yet,
                # an argument of the same name) is no answer: when the function raised, a value counts only if
                # it passes; otherwise the check says what stopped it.
                outcome = self._judge_value(check, call)
                if call.error is None or outcome.passed:
                    return outcome
            return self._not_graded(check, call)

    # --- a value came back -----------------------------------------------------------------

    @property
    def precision(self) -> str | None:
        """"float32" when the student's file computed in a coarser dtype than float64 (float32 or float16), else None.

        Taken over every value of the file: a float64 sum of float32 terms carries float32's error. Never
        coarser than float32 for the whole file: one float16 value must not widen every other value's
        tolerance to float16's (a 0.3% mistake elsewhere would pass); that value alone is judged at it.
        """
        if not self._precision:   # of the graded calls: the judge's own (follow-through only) widen nothing
            graded = [self.run.calls.get(i) for i in self.call_ids.values()] if self.run else []
            seen = {dtype for call in graded if call is not None for dtype in call.dtypes.values()}
            self._precision.append("float32" if seen & set(LOW_PRECISION) else None)
        return self._precision[0]

    def _tolerance(self, quantity, call: CallResult | None = None) -> tuple[float, float]:
        """The check's tolerance at the precision the student computed in: the file's, or the value's own
        where it is coarser (a float16 value)."""
        own = call.dtypes.get(quantity.name) if call is not None else None
        dtype = own if LOW_PRECISION.get(own or "", 0) > LOW_PRECISION.get(self.precision or "", 0) else self.precision
        return tolerance(quantity.rtol, quantity.atol, dtype)

    def _value(self, call: CallResult, name: str):
        """The student's value converted once (float64 array, None or Invalid), never raising."""
        key = (id(call), name)
        if key not in self._values:
            self._values[key] = numbers(call.values.get(name))
        return self._values[key]

    def _expected(self, function: str, case: str, name: str) -> np.ndarray:
        """The reference's value: the grader's; one that is not finite numbers is the grader's fault."""
        expected = np.asarray(self.expected[(function, case)][name], dtype=np.float64)
        if not np.all(np.isfinite(expected)):
            raise ValueError(f"the expected '{name}' of {function}() on case {case} is not finite")
        return expected

    def _compared(self, function: str, case: str, quantity, call: CallResult, visible: bool):
        """(the student's value, the reference's, their comparison), before any follow-through or diagnosis."""
        value, expected = self._value(call, quantity.name), self._expected(function, case, quantity.name)
        return value, expected, compare(quantity.name, value, expected, *self._tolerance(quantity, call), visible,
                                        self.key)

    def _judge_value(self, check: Check, call: CallResult) -> Outcome:
        quantity = check.quantity
        value, expected, outcome = self._compared(check.function, check.case, quantity, call,
                                                  check.visibility == "visible")
        if outcome.status != FAILED or as_numbers(value) is None:
            return outcome
        if self._uninformative(check, value):
            # No follow-through and, mostly, no diagnosis. But the same value on every case that is the answer on a
            # visible one is that answer written in: a declared mistake whose variant gives it here too (a count of
            # the lesson's records can meet the lesson's accuracy again on another case), else one declared for a
            # function that ignores its arguments.
            mistake = None
            if self._written_in(check, value):
                mistake = self._diagnose(check, value, expected, {}) or self._declared(quantity.name, "", lambda m: m.constant)
            return outcome if mistake is None else Outcome(FAILED, f"{self._advice(mistake)} {outcome.message}",
                                                           misconception=mistake)
        upstream = self._wrong_upstream(check, call)
        others = self._others(check)
        for given, other, what in self._follow_through_ways(upstream, others):
            followed = self._given(check, value, None, given, other)
            if followed is not None and matches(value, followed.get(quantity.name), *self._tolerance(quantity, call)):
                return Outcome(PASSED, f"right given your own {what} (follow-through)", follow_through=True)
        if not self.expectations.follows_through and (upstream or check.function in self.expectations.calling):
            # The same value may earn follow-through once submitted: say so, rather than score it differently.
            outcome = Outcome(outcome.status, f"{outcome.message} (it may be right given your own earlier values: "
                                              "that follow-through credit is decided when you submit, as this copy "
                                              "has no reference to compute it)")
        mistake = self._diagnose(check, value, expected, upstream)
        if mistake is None:
            return outcome
        return Outcome(FAILED, f"{self._advice(mistake)} {outcome.message}", misconception=mistake)

    @staticmethod
    def _follow_through_ways(upstream: dict, others: dict | None) -> list[tuple[dict, dict | None, str]]:
        """What a value may be right given: the student's own earlier quantities of the call, the student's
        own functions it calls, or both."""
        ways = []
        functions = ", ".join(f"{name}()" for name in others or {})
        if upstream:
            ways.append((upstream, None, ", ".join(upstream)))
        if others:
            ways.append(({}, others, functions))
        if upstream and others:
            ways.append((upstream, others, f"{', '.join(upstream)} and {functions}"))
        return ways

    def _others(self, check: Check) -> dict | None:
        """The student's results for the reference's calls to the exercise's other functions on this case:
        name -> (the calls' arguments, the student's results); None where any of them is not numbers."""
        derived = self.derived.get((check.function, check.case))
        if not derived:
            return None
        traced = self.expectations.traced[(check.function, check.case)]
        others: dict = {}
        for (name, kwargs, returned), (_, call_id) in zip(traced, derived):
            call = self.run.calls.get(call_id)
            if call is None or call.error is not None:
                return None
            result = {}
            for quantity in self.exercise.function(name).quantities:
                # In the reference's own result's shape only: another shape follows through to nothing sensible,
                # and could make the reference broadcast to huge arrays.
                array = as_numbers(self._value(call, quantity.name))
                shaped = None if array is None or quantity.name not in returned else aligned(array, returned[quantity.name])
                if shaped is None:
                    return None
                result[quantity.name] = shaped
            calls, results = others.setdefault(name, ([], []))
            calls.append(kwargs)
            results.append(result)
        return others

    def _uninformative(self, check: Check, value) -> bool:
        """Zero on the case's scale (nothing above the tolerance of its largest expected value), or identical
        on every case although the expected values differ: it ignores the inputs."""
        array = as_numbers(value)
        return array is None or self._negligible(check, array) or self._same_everywhere(check)

    def _negligible(self, check: Check, array: np.ndarray) -> bool:
        size = scale(self._expected(check.function, check.case, check.quantity.name))
        return not np.any(np.abs(array) > self._tolerance(check.quantity)[0] * size)

    def _written_in(self, check: Check, value) -> bool:
        """Not negligible, the same on every case although the expected values differ, and right on a visible one.
        Only a visible one: a diagnosis that said a constant was right on a hidden case would give its answer away."""
        array = as_numbers(value)
        if array is None or self._negligible(check, array) or not self._same_everywhere(check):
            return False
        function = self.exercise.function(check.function)
        return any(matches(array, self._expected(check.function, case, check.quantity.name), *self._tolerance(check.quantity))
                   for case in self._cases(check.function) if function.is_visible(case))

    def _same_everywhere(self, check: Check) -> bool:
        """The student's value is identical on every case graded although the expected values differ."""
        name = check.quantity.name
        seen, expected = [], []
        for case in self._cases(check.function):
            call = self.run.calls.get(self.call_ids[(check.function, case)])
            other = as_numbers(self._value(call, name)) if call is not None else None
            if other is not None:
                seen.append(other)
                expected.append(self._expected(check.function, case, name))
        if len(seen) < 2:
            return False
        same_answer = all(s.shape == seen[0].shape and np.array_equal(s, seen[0]) for s in seen[1:])
        same_question = all(e.shape == expected[0].shape and np.allclose(e, expected[0]) for e in expected[1:])
        return same_answer and not same_question

    def _wrong_upstream(self, check: Check, call: CallResult) -> dict:
        """The student's own values of the quantities before this one that differ from the reference, where
        they are informative and of the expected shape (a wrong shape follows through to nothing sensible,
        and could make the lesson's formulas broadcast to huge arrays)."""
        upstream = {}
        for quantity in self.exercise.function(check.function).quantities:
            if quantity.name == check.quantity.name:
                break
            value, expected = self._value(call, quantity.name), self._expected(check.function, check.case, quantity.name)
            array = as_numbers(value)
            shaped = None if array is None else aligned(array, expected)
            if (shaped is not None
                    and not self._uninformative(Check(check.exercise, check.function, quantity, check.case), value)
                    and not matches(shaped, expected, *self._tolerance(quantity, call))):
                upstream[quantity.name] = shaped
        return upstream

    def _given(self, check: Check, value: np.ndarray, mistake: str | None, upstream: dict,
               others: dict | None = None) -> dict | None:
        """The call's quantities with `mistake` (None: right) computed from the student's own upstream values
        (and results of other functions); None where the value judged would come out the same from zeros in
        their place: then matching says nothing about what the student did with them (weights handed back
        unchanged beside a negligible step would otherwise "follow" from that step)."""
        quantity = check.quantity
        tolerance_here = self._tolerance(quantity, self.run.calls.get(self.call_ids[(check.function, check.case)]))
        variant = self.expectations.variant(check.function, check.case, mistake, upstream, others)
        if variant is None or not matches(value, variant.get(quantity.name), *tolerance_here):
            return variant
        zeros = {name: np.zeros_like(given) for name, given in upstream.items()}
        zeroed = None if others is None else {
            name: (calls, [{q: np.zeros_like(v) for q, v in result.items()} for result in results])
            for name, (calls, results) in others.items()}
        without = self.expectations.variant(check.function, check.case, mistake, zeros, zeroed)
        if without is None or matches(value, without.get(quantity.name), *tolerance_here):
            return None   # no evidence that the student's values were used (or none to be had)
        return variant

    def _diagnose(self, check: Check, value, expected: np.ndarray, upstream: dict) -> str | None:
        """The known mistake whose variant gives this value (and agrees with the student's other values)."""
        quantity = check.quantity
        call = self.run.calls[self.call_ids[(check.function, check.case)]]
        for given in ({}, upstream) if upstream else ({},):
            for flavour, mistake in self.expectations.flavours.items():
                if given:   # computed from the student's own values: if that fails, it diagnoses nothing
                    variant = self._given(check, value, flavour, given)
                else:       # the oracle's own variant of the case: a failure there is the grader's
                    variant = self.expectations.variant(check.function, check.case, flavour, given)
                candidate = None if variant is None else variant.get(quantity.name)
                if candidate is None or matches(candidate, expected, *self._tolerance(quantity, call)):
                    continue   # a variant that coincides with the reference here diagnoses nothing
                if matches(value, candidate, *self._tolerance(quantity, call)) and self._explains(check, call, variant):
                    return mistake
        array = as_numbers(value)
        if array.ndim == 2 and array.shape != expected.shape and matches(array.T, expected, *self._tolerance(quantity, call)):
            return self._declared(quantity.name, "", lambda m: m.transposed)
        return None

    def _declared(self, quantity: str, source: str, shows) -> str | None:
        """The declared mistake with this symptom (`shows`), one narrowed to this quantity (or to a line that
        assigns one of its quantities), or whose `line` the student's line matched, first; else one declared
        for any quantity."""
        found = [m for m in self.exercise.mistakes if shows(m)]
        narrowed = [m for m in found if m.line or (m.at and (quantity in m.at or any(name in source for name in m.at)))]
        anywhere = [m for m in found if not m.at and not m.line]
        chosen = narrowed or anywhere
        return chosen[0].id if chosen else None

    def _advice(self, mistake: str) -> str:
        found = self.exercise.mistake(mistake)
        return f"Likely mistake: {found.title}. Hint: {found.hint}."

    def _explains(self, check: Check, call: CallResult, variant: dict) -> bool:
        """A variant is the diagnosis only if it also gives the student's earlier quantities of this call:
        `w - eta * step` and a flipped error make the same weights, but only one keeps the right step."""
        for quantity in self.exercise.function(check.function).quantities:
            if quantity.name == check.quantity.name:
                return True
            value = self._value(call, quantity.name)
            if as_numbers(value) is not None and not matches(value, variant.get(quantity.name), *self._tolerance(quantity, call)):
                return False
        return True

    # --- no value came back ------------------------------------------------------------------

    def _not_graded(self, check: Check, call: CallResult | None) -> Outcome:
        run, function, quantity = self.run, check.function, check.quantity.name
        if run.import_error is not None:
            return Outcome(ERROR, "the file could not be imported: " + _error_text(run.import_error))
        if call is None:
            if run.timed_out:
                limit = f" ({run.time_limit:g} s)" if run.time_limit else ""
                return Outcome(TIMEOUT, f"{function}() did not finish in time{limit} (an endless loop?)")
            reason = run.protocol_error or f"its process ended (exit code {run.exit_code})"
            return Outcome(ERROR, f"{function}() was not graded: {reason}")
        if call.missing:
            return Outcome(ERROR, f"function {function}() is not defined in the file")
        if call.error is not None:
            # The same message for every quantity the exception prevented (half-finished or never assigned).
            # On a hidden case the exception's own text is left out: the student's code writes it, and could
            # write the hidden inputs into it. Its type and line still say what went wrong.
            message = f"{function}() raised " + _error_text(call.error, with_message=check.visibility == "visible")
            text = call.error.get("message", "")
            line = call.error.get("source", "")
            mistake = self._declared(quantity, line, lambda m: m.raises is not None and re.search(m.raises, text) is not None
                                     and (m.line is None or re.search(m.line, line) is not None))
            if mistake:
                return Outcome(ERROR, f"{self._advice(mistake)} {message}", misconception=mistake)
            return Outcome(ERROR, message)
        return Outcome(ERROR, f"{function}() did not return '{quantity}' in its dict")

    def _side_effects(self, function: str) -> Outcome:
        """Inputs changed in place, or values that change with the global random seed, over all cases."""
        cases = self._cases(function)
        calls = [self.run.calls.get(self.call_ids[(function, case)]) for case in cases]
        ran = [c for c in calls if c is not None and c.ok and any(v is not None for v in c.values.values())]
        if not ran:
            failed = [(case, c) for case, c in zip(cases, calls) if c is None or not c.ok]
            if failed:
                # Nothing ran to look at: the same reason as the values' checks give.
                case, call = failed[0]
                quantity = self.exercise.function(function).quantities[0]
                reason = self._not_graded(Check(self.exercise.id, function, quantity, case), call)
                return Outcome(reason.status, reason.message)
            return Outcome(NOT_IMPLEMENTED, f"{function}() is checked for side effects once it returns values")
        problems, notes = [], self._notes(function, calls)
        mutated = sorted({name for c in ran for name in c.mutated})
        if mutated:
            problems.append(f"{function}() changed its input {', '.join(repr(m) for m in mutated)} in place "
                            "(x += ... on an argument changes the caller's array: write x = x + ... or copy it first)")
        if any(c.random_dependent for c in ran):
            problems.append(f"{function}()'s results change with the global random seed: everything it needs "
                            "comes in as its arguments, so it should draw no random numbers")
        if problems:
            return Outcome(FAILED, "; ".join(problems + notes))
        return Outcome(PASSED, "; ".join(notes))

    def _notes(self, function: str, calls: list[CallResult | None]) -> list[str]:
        """What a student should know about how their function was judged, though it costs nothing."""
        notes = []
        renamed = next((c.renamed for c in calls if c is not None and c.renamed is not None), None)
        if renamed is not None:
            stub = self.parameters.get(function, ())
            theirs = f"({', '.join(renamed)})" if renamed else "(*args)"
            notes.append(f"{function}{theirs}: the parameter names differ from the stub's ({', '.join(stub)}), "
                         "so it was called with the arguments by position, in the stub's order")
        coarse = sorted({d for c in calls if c is not None for d in c.dtypes.values() if d in LOW_PRECISION})
        if coarse:
            judged = ", ".join(f"{dtype} at {tolerance(0.0, 0.0, max(dtype, self.precision, key=LOW_PRECISION.get))[0]:.1g}"
                               for dtype in coarse)
            notes.append(f"{function}() returned {' and '.join(coarse)} values: judged at that precision "
                         f"({judged} relative instead of {RTOL:g}); the lesson computes in float64")
        return notes


def _error_text(error: dict, with_message: bool = True) -> str:
    line = f" at line {error['line']}" if error.get("line") else ""
    source = f" ({error['source']})" if error.get("source") else ""
    said = f": {error['message']}" if with_message else " (its message is not shown on a hidden case)"
    return f"{error['type']}{line}{said}{source}"
