"""`nngrade.check("07")` in a running notebook (Jupyter, Colab): grade the functions its cells defined.

The source comes from the kernel: the code cells run so far (IPython's history, each distinct cell at its
last run, in the order they ran), converted as a submitted notebook's cells are (nngrade.run.notebooks:
magics and `!` lines left out, and the grader's own lines). Of those, only what *defines* is graded:
imports, functions, classes and constants, as a `.py` file's `if __name__ == "__main__":` block is not
run either. The grader calls the functions itself, so the cells that train, plot or read files are not
run again (they would cost the time limit, or fail without the data file); a cell that did not compile
defined nothing in the kernel and defines nothing here. The kernel only reads its own history: the source
is written to a temporary folder and graded by `grade.py` in a process of its own, whose children run it,
exactly as `python grade.py 07 FILE` would; what the student's code did to the kernel cannot reach it.
The result shows as the terminal's table, drawn as HTML in the cell's output (text elsewhere).
"""
from __future__ import annotations

import ast
import builtins
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from nngrade.paths import EXERCISE_STUBS, REPO
from nngrade.run import notebooks

THIS_NOTEBOOK = "this notebook"   # how the graded file is named in the table
GRADE_SECONDS = 600               # for the whole grade.py run (its own limit per exercise file is --timeout)


@dataclass
class Session:
    """What the cells run so far define, as one Python file."""
    source: str
    notices: list[str] = field(default_factory=list)
    functions: dict[str, ast.FunctionDef] = field(default_factory=dict)   # the last definition of each function
    defined: set[str] = field(default_factory=set)                          # names the source binds


def session_cells() -> list[tuple[int, str]]:
    """The kernel's code cells run so far, as (execution count, raw source): each distinct cell at its last
    run. Outside IPython (a script calling check), the script's own file as one cell."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    history = getattr(getattr(shell, "history_manager", None), "input_hist_raw", None)
    if history is not None:
        seen, cells = set(), []
        for count in range(len(history) - 1, 0, -1):   # entry 0 is IPython's empty placeholder
            source = history[count]
            if isinstance(source, str) and source.strip() and source not in seen:
                seen.add(source)
                cells.append((count, source))
        return cells[::-1]
    script = getattr(sys.modules.get("__main__"), "__file__", None)
    if script and os.path.isfile(script) and script.endswith(".py"):
        with open(script, encoding="utf-8", errors="surrogateescape") as handle:
            return [(0, handle.read())]   # 0: not a cell of a notebook, the script itself
    raise CheckError("nngrade.check() grades the notebook (or script) it runs in; here there is none: "
                     "grade a file with python grade.py 07 FILE")


class CheckError(Exception):
    """What the student asked for cannot be checked: shown as one line in the cell's output."""


def definitions(cells: list[tuple[int, str]]) -> Session:
    """The definitions of `cells`, in order, as one Python file that imports without running anything else."""
    converter = notebooks.Cells()
    session = Session("", defined=set(dir(builtins)))
    lines, broken, needing = [], [], []
    for count, raw in cells:
        text = "\n".join(converter.python(raw, count))
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError) as exc:
            where = f" line {exc.lineno}" if isinstance(exc, SyntaxError) and exc.lineno else ""
            broken.append(f"In[{count}]{where}")
            continue
        kept = []
        for statement in tree.body:
            if not _defines(statement):
                continue
            missing = _eager_names(statement) - session.defined
            if missing:   # it needs what a cell computed (not run here): importing it would fail
                needing.append(f"In[{count}] line {statement.lineno} (needs {', '.join(sorted(missing))})")
                continue
            session.defined |= _bound(statement)
            if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
                session.functions[statement.name] = statement
            kept.append(_segment(text, statement))
        if kept:
            lines += [f"# In[{count}]", *kept]
    session.source = "\n".join(lines) + "\n"
    what = ("this script" if [count for count, _ in cells] == [0] else
            f"this notebook's {len(cells)} cell{'s' if len(cells) != 1 else ''} run so far")
    session.notices = [f"graded the definitions (imports, functions, classes, constants) of {what}; the grader calls your "
                       "functions itself, so the rest of the cells is not run again",
                       *converter.notices(THIS_NOTEBOOK)]
    if broken:
        session.notices.append("left out the cells that did not compile (they defined nothing in the kernel "
                               f"either): {notebooks._listed(broken)}")
    if needing:
        session.notices.append("left out definitions that need what a cell computed: "
                               + notebooks._listed(needing))
    return session


def _defines(statement: ast.stmt) -> bool:
    """Imports, functions, classes, constants (and `if`/`try` blocks made of them only)."""
    if isinstance(statement, ast.ImportFrom):
        return statement.module != "__future__"   # only at a file's top; annotations are not graded
    if isinstance(statement, ast.Import | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return True
    if isinstance(statement, ast.Assign | ast.AnnAssign) and statement.value is not None:
        targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
        return all(_plain_target(t) for t in targets) and _constant(statement.value)
    if isinstance(statement, ast.If | ast.Try):
        blocks = [statement.body, statement.orelse] + (
            [h.body for h in statement.handlers] + [statement.finalbody] if isinstance(statement, ast.Try) else [])
        return all(_defines(inner) for block in blocks for inner in block)
    return False


def _plain_target(target: ast.expr) -> bool:
    if isinstance(target, ast.Tuple | ast.List):
        return all(_plain_target(t) for t in target.elts)
    return isinstance(target, ast.Name)


def _constant(value: ast.expr) -> bool:
    """A value that costs nothing and cannot fail: a literal, a lambda, or another name (`dot = np.dot`)."""
    if isinstance(value, ast.Lambda | ast.Name):
        return True
    if isinstance(value, ast.Attribute):
        return _constant(value.value) and not isinstance(value.value, ast.Lambda)
    try:
        ast.literal_eval(value)
        return True
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False


def _names(*nodes) -> set[str]:
    return {n.id for node in nodes if node is not None for n in ast.walk(node)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _eager_names(statement: ast.stmt) -> set[str]:
    """The names a statement reads when it runs (a function's body runs later: only its decorators, defaults
    and annotations now)."""
    if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
        arguments = statement.args
        every = arguments.posonlyargs + arguments.args + arguments.kwonlyargs + [
            a for a in (arguments.vararg, arguments.kwarg) if a is not None]
        return _names(*statement.decorator_list, *arguments.defaults, *arguments.kw_defaults,
                      statement.returns, *(a.annotation for a in every))
    if isinstance(statement, ast.ClassDef):
        return _names(*statement.decorator_list, *statement.bases, *(k.value for k in statement.keywords))
    if isinstance(statement, ast.Assign | ast.AnnAssign):   # a lambda's body runs later too
        value = statement.value
        return _names(*value.args.defaults, *value.args.kw_defaults) if isinstance(value, ast.Lambda) else _names(value)
    if isinstance(statement, ast.If):
        return _names(statement.test) | {n for s in statement.body + statement.orelse for n in _eager_names(s)}
    if isinstance(statement, ast.Try):
        return set()   # `try: import x / except ImportError: ...`: what fails is caught
    return set()


def _bound(statement: ast.stmt) -> set[str]:
    if isinstance(statement, ast.Import | ast.ImportFrom):
        return {a.asname or a.name.split(".")[0] for a in statement.names if a.name != "*"}
    if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {statement.name}
    if isinstance(statement, ast.If | ast.Try):
        blocks = [statement.body, statement.orelse] + (
            [h.body for h in statement.handlers] + [statement.finalbody] if isinstance(statement, ast.Try) else [])
        return {n for block in blocks for s in block for n in _bound(s)}
    return {n.id for n in ast.walk(statement) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def _segment(text: str, statement: ast.stmt) -> str:
    """The statement's own text (with its decorators), not its neighbours' on a line it shares with them."""
    first = min([statement.lineno] + [d.lineno for d in getattr(statement, "decorator_list", [])])
    if first == statement.end_lineno:
        return ast.get_source_segment(text, statement) or ""
    return "\n".join(text.splitlines()[first - 1:statement.end_lineno])


def _free_names(function: ast.FunctionDef) -> set[str]:
    """Names a function's body reads that it does not bind itself: globals (an approximation, on the safe side)."""
    arguments = function.args
    own = {a.arg for a in arguments.posonlyargs + arguments.args + arguments.kwonlyargs}
    own |= {a.arg for a in (arguments.vararg, arguments.kwarg) if a is not None}
    for node in ast.walk(function):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            own.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and node is not function:
            own.add(node.name)
        elif isinstance(node, ast.arg):
            own.add(node.arg)
    return _names(*function.body) - own


def _stub_arity(exercise, name: str) -> int | None:
    """How many parameters the stub's function has (a notebook's other exercise may share its names)."""
    try:
        tree = ast.parse((EXERCISE_STUBS / f"{exercise.stem}.py").read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return len(node.args.posonlyargs + node.args.args)
    return None


def _arity(function: ast.FunctionDef) -> int:
    return len(function.args.posonlyargs + function.args.args)


def chosen_exercises(ids, session: Session) -> list:
    """The exercises asked for; with none, those whose functions the notebook defines (with the stub's number
    of parameters: 05 and 08 share names)."""
    from nngrade.cli import UsageError, exercise_ids
    from nngrade.judge.exercises import EXERCISES
    try:
        asked = exercise_ids([str(i).zfill(2) if isinstance(i, int) else str(i) for i in ids])
    except UsageError as exc:
        raise CheckError(str(exc)) from None
    if ids:
        return [EXERCISES[i] for i in asked]
    def defines(exercise) -> bool:
        return any(f.name in session.functions and _stub_arity(exercise, f.name) in (None, _arity(session.functions[f.name]))
                   for f in exercise.functions)
    found = [exercise for exercise in EXERCISES.values() if defines(exercise)]
    if not found:
        wanted = "; ".join(f"{e.id}: {', '.join(f.name for f in e.functions)}" for e in EXERCISES.values())
        raise CheckError(f"the cells run so far define none of the exercises' functions ({wanted}): "
                         "run the cells that define yours, then check again")
    return found


def _computed_globals(session: Session, exercises, namespace: dict) -> list[str]:
    """Names the graded functions read that no definition binds, though the kernel has them: a cell computed
    them, and the grader does not run it."""
    notices = []
    for exercise in exercises:
        for function in exercise.functions:
            node = session.functions.get(function.name)
            if node is None:
                continue
            used = sorted(n for n in _free_names(node) - session.defined if n in namespace)
            if used:
                notices.append(f"{function.name}() reads {', '.join(repr(n) for n in used)}, which a cell computes: "
                               "the grader calls it with its own inputs and does not run that cell; use the "
                               "function's arguments instead")
    return notices


def check(*ids, seed: int | None = None, timeout: float | None = None) -> "Feedback":
    """Grade the functions the running notebook defines: `check("07")`, or `check()` for every exercise it has."""
    try:
        session = definitions(session_cells())
        exercises = chosen_exercises(ids, session)
    except CheckError as exc:
        return Feedback(error=str(exc))
    namespace = vars(sys.modules["__main__"]) if "__main__" in sys.modules else {}
    notices = [*session.notices, *_computed_globals(session, exercises, namespace)]
    with tempfile.TemporaryDirectory(prefix="nngrade-check-") as folder:
        for exercise in exercises:
            (Path(folder) / f"{exercise.stem}.py").write_text(session.source, encoding="utf-8",
                                                              errors="surrogatepass")
        report_path = Path(folder) / "report" / "check.json"
        command = [sys.executable, str(REPO / "grade.py"), *(e.id for e in exercises), "--submission", folder,
                   "--json", str(report_path), "--no-color"]
        command += ["--seed", str(seed)] if seed is not None else []
        command += ["--timeout", str(timeout)] if timeout is not None else []
        try:
            done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=GRADE_SECONDS,
                                  stdin=subprocess.DEVNULL, env={**os.environ, "NO_COLOR": "1"})
        except (OSError, subprocess.TimeoutExpired) as exc:
            return Feedback(error=f"grade.py could not run: {exc}")
        errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
        if not report_path.is_file():
            return Feedback(error=(errors[-1][len("error: "):] if errors else
                                   f"grade.py stopped (exit status {done.returncode}) without a report"))
        from nngrade.reports.results import report_from_dict
        report = report_from_dict(json.loads(report_path.read_text(encoding="utf-8")))
    shown = [n.replace(folder + os.sep, "").replace(folder, THIS_NOTEBOOK) for n in report.notices]
    report = replace(report, notices=(*notices, *shown),
                     exercises=tuple(replace(e, file=THIS_NOTEBOOK) for e in report.exercises))
    return Feedback(report=report, error=errors[-1][len("error: "):] if errors else None)


class Feedback:
    """The result of a check: shown as the terminal's table, in HTML in a notebook and as text elsewhere."""

    def __init__(self, report=None, error: str | None = None):
        self.report, self.error = report, error

    @property
    def score(self) -> float | None:
        return self.report.score if self.report is not None else None

    @property
    def max_score(self) -> float | None:
        return self.report.max_score if self.report is not None else None

    def __repr__(self) -> str:
        from nngrade.reports.terminal import Style, render
        lines = [render(self.report, style=Style(unicode=True, colour=False))] if self.report is not None else []
        return "\n".join(lines + ([f"error: {self.error}"] if self.error else []))

    def _repr_pretty_(self, printer, cycle: bool) -> None:
        printer.text(repr(self))

    def _repr_html_(self) -> str:
        from nngrade.reports.results import points
        from nngrade.reports.terminal import exercise_view
        from nngrade.reports.writers.student_html import MARKS, STYLE, WORDS, exercise_html
        from nngrade.reports.writers.summary_html import escape
        parts = [f'<div class="{_SCOPE}"><style>{scoped_style(STYLE, "." + _SCOPE)}{_OWN_STYLE}</style>']
        if self.error:
            parts.append(f'<p class="problem">error: {escape(self.error)}</p>')
        if self.report is not None:
            report = self.report
            parts.append(f'<p class="meta">nngrade · seed {report.seed}'
                         + (f" · data: {escape(report.data.get('source', ''))}" if report.data else "") + "</p>")
            if report.notices:
                parts += ["<ul>", *(f'<li class="meta" dir="auto">note: {escape(n)}</li>' for n in report.notices),
                          "</ul>"]
            for exercise in report.exercises:
                parts += exercise_html(exercise_view(exercise), hidden_shown=True)
            parts.append(f"<p><b>Total: {points(report.score)} / {points(report.max_score)}</b></p>")
            parts.append('<p class="meta">' + " · ".join(f'<span class="{s}">{MARKS[s]}</span> {WORDS[s]}'
                                                          for s in MARKS) + "</p>")
        return "\n".join(parts + ["</div>"])


_SCOPE = "nngrade-check"
# The page's own rules would restyle the whole notebook: here they apply inside the output only, on a
# light background whatever the notebook's theme.
_OWN_STYLE = f".{_SCOPE}{{margin:0;max-width:none;background:#fff;padding:.3rem .8rem}}"


def scoped_style(css: str, scope: str) -> str:
    """`css` with every rule confined to `scope` (`body` becomes the scope itself)."""
    rules = []
    for rule in css.split("}"):
        if "{" not in rule:
            continue
        selectors, body = rule.split("{", 1)
        scoped = [scope if s.strip() == "body" else f"{scope} {s.strip()}" for s in selectors.split(",") if s.strip()]
        rules.append(f"{','.join(scoped)}{{{body}}}")
    return "".join(rules)
