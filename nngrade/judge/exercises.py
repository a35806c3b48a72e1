"""The exercises of this project: every `graders/test_NN_stem.py`, loaded and checked once.

An exercise is three files: its grader (the spec, nngrade.spec), its reference `reference/NN_stem.py`
and the stub `exercises/NN_stem.py` generated from the reference (python -m nngrade.stubs). Adding
one touches nothing here. What is wrong with an exercise is found when it loads and said in one line
naming the file; the other exercises stay gradable.
"""
from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Mapping
from pathlib import Path

from nngrade.paths import GRADERS, REFERENCE
from nngrade.spec import (_FILE_NAME, ATOL, RTOL, SIDE_EFFECTS, Check, Exercise, Function,  # noqa: F401 - re-exported
                          Mistake, Quantity, SpecError, case_rng)


def grader_file(exercise: Exercise) -> Path:
    return GRADERS / f"test_{exercise.stem}.py"


def reference_file(exercise: Exercise) -> Path:
    return REFERENCE / f"{exercise.stem}.py"


def _import_grader(path: Path) -> types.ModuleType:
    """Import a grader as pytest's default import mode names it (graders/ on sys.path, the file's stem), so
    that pytest takes this module and never executes the file a second time."""
    if str(GRADERS) not in sys.path:
        sys.path.insert(0, str(GRADERS))
    return importlib.import_module(path.stem)


def _load(path: Path) -> Exercise:
    shown = f"graders/{path.name}"
    try:
        module = _import_grader(path)
    except SpecError as exc:
        raise SpecError(str(exc).replace(str(path), shown)) from None
    except Exception as exc:  # noqa: BLE001 - the instructor's grader failed to import: say where and why
        where = _innermost(exc, path)
        raise SpecError(f"{shown}{where}: importing it raised {type(exc).__name__}: {exc}") from None
    exercise = getattr(module, "EXERCISE", None)
    if not isinstance(exercise, Exercise):
        raise SpecError(f"{shown}: defines no EXERCISE = nngrade.spec.Exercise(__file__, ...): a grader without a spec")
    if Path(exercise.file).resolve() != path.resolve():
        raise SpecError(f"{shown}: its Exercise names {exercise.file}, not its own __file__")
    _check(exercise, module)
    return exercise


def _innermost(exc: BaseException, path: Path) -> str:
    import traceback
    lines = [frame.lineno for frame in traceback.extract_tb(exc.__traceback__) if Path(frame.filename) == path]
    return f":{lines[-1]}" if lines else ""


def _check(exercise: Exercise, module: types.ModuleType) -> None:
    """What can be known wrong without running anything, each in one line naming the file."""
    shown = f"graders/{exercise.file.name}"
    if not exercise.functions:
        raise SpecError(f"{shown}: the exercise declares no functions")
    for function in exercise.functions:
        names = [q.name for q in function.quantities]
        if not names:
            raise SpecError(f"{shown}: {function.name}() declares no graded quantity")
        if len(set(names)) != len(names):
            raise SpecError(f"{shown}: {function.name}() declares a quantity twice")
        if not function.cases:
            raise SpecError(f"{shown}: {function.name}() has no case, visible or hidden")
    ids = [m.id for m in exercise.mistakes]
    if len(set(ids)) != len(ids):
        raise SpecError(f"{shown}: a mistake id is declared twice in its mistakes")
    if exercise.prepare is not None and not exercise.needs_data:
        raise SpecError(f"{shown}: prepare is declared without the data it prepares")
    _check_release_safe(exercise, module, shown)
    reference = reference_file(exercise)
    if REFERENCE.is_dir():
        if not reference.is_file():
            raise SpecError(f"{shown}: no reference/{exercise.stem}.py beside it (the grader and its reference "
                            "share the name after test_)")
        from nngrade.judge.derive import source
        _check_against(exercise, source(reference), shown)


def _check_release_safe(exercise: Exercise, module: types.ModuleType, shown: str) -> None:
    """The graders ship in the student release: nothing in them may compute answers from the reference."""
    for name, value in vars(module).items():
        where = getattr(value, "__file__", None) or getattr(getattr(value, "__code__", None), "co_filename", None)
        if where and Path(where).resolve().is_relative_to(REFERENCE.resolve()):
            raise SpecError(f"{shown}: '{name}' comes from reference/: its hidden-case generator would compute the "
                            "answer, and the grader ships in the student release")


def _check_against(exercise: Exercise, reference, shown: str) -> None:
    ref = f"reference/{exercise.stem}.py"
    for function in exercise.functions:
        found = reference.functions.get(function.name)
        if found is None:
            raise SpecError(f"{shown}: {function.name}() is missing from {ref}")
        solutions = set(found.solutions.values())
        if not solutions and any(q.points for q in function.quantities):
            raise SpecError(f"{shown}: {function.name}() has no # SOLUTION line in {ref}: given code carries no "
                            "points of its own (it only re-measures the student's other functions)")
        for quantity in function.quantities:
            if quantity.name not in solutions:
                raise SpecError(f"{shown}: the quantity '{quantity.name}' of {function.name}() is no "
                                f"'{quantity.name} = ...  # SOLUTION' line in {ref}")
    for mistake in exercise.mistakes:
        for name in mistake.replace or {}:
            if name not in reference.functions:
                raise SpecError(f"{shown}: the mistake '{mistake.id}' replaces {name}(), which {ref} does not define")
    declared = {m.id for m in exercise.mistakes}
    for edit in reference.edits:
        if edit.mistake not in declared:
            raise SpecError(f"{ref}:{edit.line + 1}: the mistake '{edit.mistake}' has no title and hint in the "
                            f"spec's mistakes ({shown})")


class _Registry(Mapping):
    """id -> Exercise for every grader that loads; `problems` says what is wrong with the others.

    A grader is loaded (and checked against its reference) when its exercise is first asked for, so
    that `python grade.py 07` pays for 07 alone; iterating, `len` and `problems` load them all. The
    exercise's id is its file's name, so which file holds an exercise is known without loading any.
    """

    def __init__(self):
        self._files: dict[str, list[Path]] | None = None   # id -> its graders, by name; None: not listed yet
        self._others: list[Path] = []                      # test_*.py not named like an exercise's grader
        self._exercises: dict[str, Exercise] = {}
        self._problems: dict[str, str] = {}
        self._done: set[str | None] = set()                # ids loaded (None: the others)

    def _listed(self) -> dict[str, list[Path]]:
        if self._files is None:
            files: dict[str, list[Path]] = {}
            for path in sorted(GRADERS.glob("test_*.py")):
                match = _FILE_NAME.match(path.name)
                if match:
                    files.setdefault(match["id"], []).append(path)
                else:
                    self._others.append(path)
            self._files = files
        return self._files

    def _load_id(self, key: str | None) -> None:
        """Load the graders of one id (None: the misnamed ones, which only say what is wrong with them)."""
        if key in self._done:
            return
        self._done.add(key)
        paths = self._listed().get(key, []) if key is not None else self._others
        for path in paths:
            try:
                exercise = _load(path)
            except SpecError as exc:
                self._problems[path.name] = str(exc)
                continue
            if exercise.id in self._exercises:
                self._problems[path.name] = (f"graders/{path.name}: exercise {exercise.id} is also "
                                             f"graders/{grader_file(self._exercises[exercise.id]).name}")
                continue
            self._exercises[exercise.id] = exercise

    def _loaded(self) -> dict[str, Exercise]:
        """Every grader loaded, in the order of their file names."""
        for key in [*self._listed(), None]:
            self._load_id(key)
        order = list(self._listed())
        return {key: self._exercises[key] for key in order if key in self._exercises}

    @property
    def problems(self) -> dict[str, str]:
        """The grader's file name -> what is wrong with it, for every grader that does not load."""
        self._loaded()
        return dict(sorted(self._problems.items()))

    def __getitem__(self, key: str) -> Exercise:
        if isinstance(key, str):
            self._load_id(key)
        return self._exercises[key]

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        self._load_id(key)
        return key in self._exercises

    def __iter__(self):
        return iter(self._loaded())

    def __len__(self) -> int:
        return len(self._loaded())

    def declared(self) -> list[str]:
        """The ids graders/ has files for, by name alone (none is loaded: some may not load)."""
        return list(self._listed())

    # A test may stand an exercise in for another (pytest's monkeypatch.setitem); nothing else writes here.
    def __setitem__(self, key: str, exercise: Exercise) -> None:
        self._load_id(key)
        self._exercises[key] = exercise

    def __delitem__(self, key: str) -> None:
        self._load_id(key)
        del self._exercises[key]

    def problem(self, exercise_id: str) -> str | None:
        """What is wrong with the grader of `exercise_id`, where one of that number failed to load."""
        self._load_id(exercise_id)
        return next((text for name, text in sorted(self._problems.items()) if name.startswith(f"test_{exercise_id}_")),
                    None)


EXERCISES = _Registry()


def exercise_of(file_name: str) -> Exercise | None:
    """The exercise a file is named after (`07_backpropagation.py`, `07_mine.py`), or None; raises SpecError
    when that exercise's grader is broken. Only that exercise's grader is loaded."""
    for exercise_id in EXERCISES.declared():
        if file_name.startswith(exercise_id):
            if exercise_id in EXERCISES:
                return EXERCISES[exercise_id]
            problem = EXERCISES.problem(exercise_id)
            if problem:
                raise SpecError(problem)
    return None
