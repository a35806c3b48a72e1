"""Everything the judge knows of an exercise's answers, derived from its reference solution.

A reference is the lesson's code with `# SOLUTION` at the end of each line the student writes
(`error = target - output  # SOLUTION`), and the mistakes students make declared beside the
line they change, as comments that the stub leaves out:

    output_error_term = error * output * (1 - output)  # SOLUTION
    # MISTAKE missing_sigmoid_derivative: error
    # MISTAKE update_inside_loop@first: del_w = del_w + step; weights = weights + learnrate * del_w / n

The text after the colon is either an expression (it replaces the right-hand side) or statements
(they replace the whole line: a block edit, such as an update moved into a loop). One mistake may be
declared on several lines: its variant changes them all, and, where they belong to different parts
(the quantity an expression's line assigns, the one block of a mistake's statements, or the
`@part` a declaration names), each part alone is a variant too (`learnrate_missing@delta_w_i_h`),
since students often get one of two updates wrong. Parts that change the same line are
alternatives (`wrong_split_seed@42`, `wrong_split_seed@21`), never applied together.

From that one file come:
- the expected values (the reference run on a case);
- each mistake's variant (the reference with that edit, run on the case);
- follow-through within a function: the reference run with the student's own values substituted
  for the quantities it has already computed (each `# SOLUTION` assignment takes the student's
  value where one is given);
- follow-through across functions: the reference run with the student's own results substituted
  for its calls to the exercise's other graded functions (`trace` records those calls, the child
  makes them on the student's functions, `call(..., others=...)` replays the student's results).
"""
from __future__ import annotations

import ast
import hashlib
import inspect
import re
import threading
import types
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np

from nngrade.spec import SpecError

MARKER = "# SOLUTION"
_ASSIGNMENT = re.compile(r"^(?P<indent>\s*)(?P<name>[A-Za-z_]\w*)\s*=\s*\S.*?\s+" + re.escape(MARKER) + r"\s*$")
_MISTAKE = re.compile(r"^\s*# MISTAKE\b(?P<rest>.*)$")
_MISTAKE_BODY = re.compile(r"^\s+(?P<id>[A-Za-z_]\w*)(?:@(?P<part>[\w.-]+))?:\s*(?P<text>\S.*?)\s*$")
_GIVEN = "__nngrade_given__"
# A case whose function calls the exercise's other functions more often than this gets no follow-through
# across functions: the child would make every one of those calls again on the student's functions.
MAX_TRACED_CALLS = 2000


class Diverged(Exception):
    """Replaying the student's results: the reference called another function with other arguments than
    it did when traced, so the student's results for those calls are not to be had."""


@dataclass(frozen=True)
class Edit:
    mistake: str
    part: str           # the quantity the line assigns, unless the declaration names its part
    line: int           # the `# SOLUTION` line it changes (1-based)
    text: str
    statement: bool     # replaces the whole line, not only its right-hand side


@dataclass(frozen=True)
class FunctionSource:
    name: str
    parameters: tuple[str, ...]
    solutions: dict[int, str]        # line -> the name its `# SOLUTION` assignment sets


@dataclass(frozen=True)
class Source:
    """A reference file, parsed: its functions, their `# SOLUTION` lines, the mistakes declared on them."""
    path: Path
    lines: tuple[str, ...]
    functions: dict[str, FunctionSource]
    edits: tuple[Edit, ...]

    @cached_property
    def flavours(self) -> dict[str, tuple[Edit, ...]]:
        """Each variant to try: mistake id (all its edits), and `id@part` for each part alone where there are
        several. Edits of parts that change the same line are alternatives, never applied together."""
        grouped: dict[str, dict[str, list[Edit]]] = {}
        for edit in self.edits:
            grouped.setdefault(edit.mistake, {}).setdefault(edit.part, []).append(edit)
        flavours: dict[str, tuple[Edit, ...]] = {}
        for mistake, parts in grouped.items():
            every = [edit for edits in parts.values() for edit in edits]
            if len(parts) == 1 or len({edit.line for edit in every}) == len(every):
                flavours[mistake] = tuple(every)
            if len(parts) > 1:
                flavours.update({f"{mistake}@{part}": tuple(edits) for part, edits in parts.items()})
        return flavours


@lru_cache(maxsize=None)
def source(path: Path) -> Source:
    """The reference file parsed (once per run: a grading run never sees its reference change)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{_shown(path)}: cannot be read ({exc})") from None
    return parse(text, path)


def model(exercise) -> "Model":
    """The exercise's reference, compiled per variant: its declared line edits and its mistakes' functions."""
    from .exercises import reference_file
    replaced = tuple((m.id, tuple(sorted(m.replace.items()))) for m in exercise.mistakes if m.replace)
    return _model(reference_file(exercise), exercise.id, replaced)


@lru_cache(maxsize=None)
def _model(path: Path, exercise_id: str, replaced: tuple) -> "Model":
    return Model(source(path), exercise_id, dict(replaced))


def parse(text: str, path: Path) -> Source:
    """Parse a reference; raises SpecError naming the file and line of a marker or declaration it cannot use."""
    shown = _shown(path)
    try:
        tree = ast.parse(text, filename=str(path))
    except SyntaxError as exc:
        raise SpecError(f"{shown}:{exc.lineno}: not valid Python ({exc.msg})") from None
    lines = tuple(text.splitlines(keepends=True))
    solutions: dict[int, str] = {}
    edits: list[Edit] = []
    last_solution = None
    for number, line in enumerate(lines, start=1):
        mistake = _MISTAKE.match(line)
        if MARKER in line:
            match = _ASSIGNMENT.match(line.rstrip("\n"))
            if not match:
                raise SpecError(f"{shown}:{number}: {MARKER} must end a line like 'name = expression'")
            solutions[number] = last_solution = match["name"]
            last_line = number
        elif mistake:
            body = _MISTAKE_BODY.match(mistake["rest"])
            if body is None:
                raise SpecError(f"{shown}:{number}: a mistake is declared as '# MISTAKE id: expression' "
                                "(or '# MISTAKE id@part: statements')")
            if last_solution is None:
                raise SpecError(f"{shown}:{number}: # MISTAKE {body['id']} follows no {MARKER} line")
            statement = not _parses(body["text"], "eval")
            if statement and not _parses(body["text"], "exec"):
                raise SpecError(f"{shown}:{number}: # MISTAKE {body['id']}: {body['text']!r} is neither an "
                                "expression nor statements")
            # A block edit's lines belong together; an alternative expression is its own part.
            part = body["part"] or ("block" if statement else last_solution)
            edits.append(Edit(body["id"], part, last_line, body["text"], statement))
        elif line.strip() and not line.strip().startswith("#"):
            last_solution = None   # declarations belong to the `# SOLUTION` line right above them
    functions = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            arguments = node.args
            parameters = tuple(a.arg for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs))
            inside = {n: name for n, name in solutions.items() if node.lineno <= n <= node.end_lineno}
            functions[node.name] = FunctionSource(node.name, parameters, inside)
    outside = sorted(set(solutions) - {n for f in functions.values() for n in f.solutions})
    if outside:
        raise SpecError(f"{shown}:{outside[0]}: a {MARKER} line outside any top-level function")
    return Source(path, lines, functions, tuple(edits))


def _parses(text: str, mode: str) -> bool:
    """Whether `text` is Python of this kind: "eval" an expression, "exec" statements."""
    try:
        ast.parse(text, mode=mode)
        return True
    except SyntaxError:
        return False


def _shown(path: Path) -> str:
    parts = Path(path).parts
    return "/".join(parts[-2:]) if len(parts) >= 2 else str(path)


class Model:
    """The reference compiled once per variant, with follow-through substitution built in."""

    def __init__(self, source: Source, exercise_id: str, replaced: dict | None = None):
        self.source = source
        self.exercise_id = exercise_id
        self.replaced = replaced or {}   # mistake id -> ((function name, the function with the mistake), ...)
        self._modules: dict[str | None, types.ModuleType] = {}
        self._lock = threading.RLock()   # substitution changes module globals for the duration of a call

    @property
    def flavours(self) -> dict[str, str]:
        """flavour -> the mistake it shows"""
        return {**{flavour: edits[0].mistake for flavour, edits in self.source.flavours.items()},
                **{mistake: mistake for mistake in self.replaced}}

    def module(self, flavour: str | None) -> types.ModuleType:
        with self._lock:
            if flavour not in self._modules:
                if flavour in self.replaced:
                    module = self._compile(())
                    module.__dict__.update(dict(self.replaced[flavour]))
                    self._modules[flavour] = module
                else:
                    self._modules[flavour] = self._compile(self.source.flavours[flavour] if flavour else ())
            return self._modules[flavour]

    def _compile(self, edits: tuple[Edit, ...]) -> types.ModuleType:
        lines = list(self.source.lines)
        for edit in edits:
            original = lines[edit.line - 1]
            indent = original[:len(original) - len(original.lstrip())]
            name = _ASSIGNMENT.match(original.rstrip("\n"))["name"]
            # One line for one line (statements joined by "; "), so line numbers stay the reference's.
            lines[edit.line - 1] = indent + (edit.text if edit.statement else f"{name} = {edit.text}") + "\n"
        text = "".join(lines)
        tree = _Substitute(self.source).visit(ast.parse(text, filename=str(self.source.path)))
        ast.fix_missing_locations(tree)
        suffix = hashlib.sha256(repr(edits).encode()).hexdigest()[:8]
        module = types.ModuleType(f"nngrade_reference_{self.exercise_id}_{suffix}")
        module.__file__ = str(self.source.path)
        setattr(module, _GIVEN, {})
        exec(compile(tree, str(self.source.path), "exec"), module.__dict__)   # noqa: S102 - the instructor's reference
        return module

    def call(self, flavour: str | None, function: str, kwargs: dict, given: dict | None = None,
             others: dict | None = None) -> dict:
        """The quantities `function` returns on `kwargs`, with the mistake `flavour` (None: right), the
        student's `given` values of its quantities, and `others`: function name -> (the traced calls'
        arguments, the student's results for them) replayed in place of those functions."""
        module = self.module(flavour)
        with self._lock:
            saved = {name: module.__dict__[name] for name in (others or {})}
            setattr(module, _GIVEN, {(function, name): value for name, value in (given or {}).items()})
            try:
                for name, (calls, results) in (others or {}).items():
                    module.__dict__[name] = _replay(saved[name], calls, results)
                return dict(getattr(module, function)(**_copied(kwargs)))
            finally:
                setattr(module, _GIVEN, {})
                module.__dict__.update(saved)

    def traced(self, function: str, kwargs: dict, graded: tuple[str, ...]) -> tuple[dict, list[tuple[str, dict, dict]]]:
        """The right quantities of `function` on `kwargs`, and, from the same run, the reference's own calls from it
        to the other graded functions: each one's name, its arguments (in its parameter order) and the numbers it
        returned, in the order made ([] where there are none, or too many)."""
        module = self.module(None)
        calls: list[tuple[str, dict, dict]] = []
        depth = [0]

        def recording(name, real):
            signature = inspect.signature(real)
            # A training epoch makes hundreds of calls, by position: those need no binding (inspect's is dear).
            plain = tuple(p.name for p in signature.parameters.values() if p.kind == p.POSITIONAL_OR_KEYWORD)
            if len(plain) != len(signature.parameters):
                plain = None

            def wrapper(*args, **kw):
                outermost = depth[0] == 0
                if outermost and plain is not None and not kw and len(args) == len(plain):
                    arguments = _copied(dict(zip(plain, args)))
                elif outermost:
                    bound = signature.bind(*args, **kw)
                    bound.apply_defaults()
                    arguments = _copied(dict(bound.arguments))
                depth[0] += 1
                try:
                    returned = real(*args, **kw)
                finally:
                    depth[0] -= 1
                if outermost:
                    calls.append((name, arguments, _numbers(returned)))
                return returned
            return wrapper
        with self._lock:
            names = [name for name in graded if name != function and callable(module.__dict__.get(name))]
            saved = {name: module.__dict__[name] for name in names}
            try:
                module.__dict__.update({name: recording(name, real) for name, real in saved.items()})
                returned = dict(getattr(module, function)(**_copied(kwargs)))
            finally:
                module.__dict__.update(saved)
        return returned, (calls if len(calls) <= MAX_TRACED_CALLS else [])


def _numbers(returned) -> dict[str, np.ndarray]:
    """The values of a returned dict that are numbers, as float64 arrays."""
    numbers = {}
    for name, value in dict(returned).items():
        try:
            numbers[name] = np.array(value, dtype=np.float64)
        except (TypeError, ValueError):
            pass
    return numbers


def _replay(real, calls: list[dict], results: list[dict]):
    """A stand-in for one function that answers the k-th call with the student's k-th result, provided the
    arguments are those traced for it."""
    signature = inspect.signature(real)
    position = [0]

    def replayed(*args, **kw):
        k = position[0]
        position[0] += 1
        if k >= len(calls):
            raise Diverged()
        bound = signature.bind(*args, **kw)
        bound.apply_defaults()
        if not _same(dict(bound.arguments), calls[k]):
            raise Diverged()
        return dict(results[k])
    return replayed


def _same(a: dict, b: dict) -> bool:
    if a.keys() != b.keys():
        return False
    for name in a:
        x, y = a[name], b[name]
        if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            if np.shape(x) != np.shape(y) or not np.array_equal(x, y):
                return False
        elif x != y:
            return False
    return True


def _copied(kwargs: dict) -> dict:
    # The same inputs also go to the student; the reference must not be able to change them.
    return {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}


class _Substitute(ast.NodeTransformer):
    """`name = expression` on a `# SOLUTION` line becomes `name = given[(f, name)] if (f, name) in given else
    (expression)`: the reference takes the student's value of a quantity it has computed where one is given."""

    def __init__(self, source: Source):
        self.source = source
        self.function: str | None = None

    def visit_FunctionDef(self, node: ast.FunctionDef):
        if self.function is None and node.name in self.source.functions:
            self.function = node.name
            self.generic_visit(node)
            self.function = None
            return node
        return self.generic_visit(node)

    def _key(self, name: str) -> ast.expr:
        return ast.Tuple([ast.Constant(self.function), ast.Constant(name)], ast.Load())

    def _substituted(self, name: str, value: ast.expr) -> ast.expr:
        given = ast.Name(_GIVEN, ast.Load())
        return ast.IfExp(test=ast.Compare(self._key(name), [ast.In()], [given]),
                         body=ast.Subscript(given, self._key(name), ast.Load()), orelse=value)

    def _solution_line(self, node: ast.stmt) -> bool:
        return self.function is not None and node.lineno in self.source.functions[self.function].solutions

    def visit_Assign(self, node: ast.Assign):
        if self._solution_line(node) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            node.value = self._substituted(node.targets[0].id, node.value)
        return node

    def visit_AugAssign(self, node: ast.AugAssign):
        if self._solution_line(node) and isinstance(node.target, ast.Name):
            name = node.target.id
            value = ast.BinOp(ast.Name(name, ast.Load()), node.op, node.value)
            return ast.copy_location(ast.Assign([ast.Name(name, ast.Store())], self._substituted(name, value)), node)
        return node
