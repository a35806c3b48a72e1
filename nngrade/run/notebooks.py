"""A Jupyter (or Colab) notebook submission as the plain Python source the child runs.

Courses of this kind run in notebooks, so a `.ipynb` is graded wherever a `.py` is: grade.py,
bulk, the LMS exports and the Gradescope bundle. The conversion happens here, in the grader,
before any child starts (nngrade.run.runner.read_source): the child only ever receives Python
source, and never parses a notebook. The code cells are joined in order, each after a
`# In[N]` line; what IPython understands but Python does not is left out, and said in a notice:
line magics (`%matplotlib inline`), shell lines (`!pip install ...`, `x = !ls`), help lines
(`np.dot?`) and cell magics other than those whose body is Python (`%%time`, `%%timeit`,
`%%capture`: their first line goes, their body stays). A cell that is valid Python is kept
as it is (`(a\n % b)` is no magic); in one that is not, a line left out becomes `pass` at its
indentation, so a block stays a block and the line numbers of what follows stay put.
"""
from __future__ import annotations

import re
import warnings

SUFFIX = ".ipynb"
SUBMISSION_SUFFIXES = (".py", SUFFIX)   # the files that can be an exercise
MAX_BYTES = 20_000_000          # of a notebook file: outputs (plots) make notebooks far larger than their code
SHOWN_LEFT_OUT = 5              # lines named in the notice; the rest are counted
PYTHON_BODY_MAGICS = ("time", "timeit", "capture", "prun")   # cell magics whose body is plain Python
GRADER = "nngrade"   # the grader's own package: a notebook that checks itself imports it

_SHELL_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\s*=\s*[!%]")


class NotebookError(ValueError):
    """The file is not a notebook that can be read; the message is one line saying why."""


def is_notebook(name: str) -> bool:
    return name.lower().endswith(SUFFIX)


def python_name(name: str) -> str:
    """The name the converted source is graded under (the child imports a .py file)."""
    return name[:-len(SUFFIX)] + ".py" if is_notebook(name) else name


def to_source(raw: bytes, name: str = "the notebook") -> tuple[bytes, list[str]]:
    """The notebook's code cells as Python source (UTF-8), and the notices of what was left out.

    Raises NotebookError with a one-line reason for anything that is not a readable notebook.
    """
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NotebookError(f"{name} is not a notebook: not UTF-8 text (byte {exc.start})") from None
    try:
        import nbformat
    except ImportError:
        raise NotebookError(f"{name} cannot be graded here: reading notebooks needs nbformat "
                            "(pip install -r requirements.txt)") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # nbformat warns about missing cell ids and the like: not the student's problem
            notebook = nbformat.reads(text, as_version=4)
    except nbformat.reader.NotJSONError:
        raise NotebookError(f"{name} is not a notebook: it is not valid JSON (saved from a text editor, or cut short?)") from None
    except Exception as exc:  # noqa: BLE001 - a damaged or hostile notebook: its reason, never our crash
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise NotebookError(f"{name} is not a readable notebook: {reason}") from None
    return _code(notebook, name)


def _code(notebook, name: str) -> tuple[bytes, list[str]]:
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list):
        raise NotebookError(f"{name} is not a readable notebook: it has no list of cells")
    converter, lines, count = Cells(), [], 0
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) and all(isinstance(s, str) for s in source) else source
        if not isinstance(source, str):
            continue
        count += 1
        lines += [f"# In[{count}]", *converter.python(source, count)]
    notices = [f"{name}: graded its {count} code cell{'s' if count != 1 else ''}, in order, as one Python file",
               *converter.notices(name)]
    return ("\n".join(lines) + "\n").encode("utf-8", errors="surrogatepass"), notices


class Cells:
    """Code cells as Python lines, one cell after another, and what was left out of them.

    Left out: what only IPython runs, and the grader's own lines (`import nngrade`, `nngrade.check("07")`,
    and what uses their results): a notebook that checks itself in the kernel is graded as its work, and
    the child has no nngrade to import.
    """

    def __init__(self):
        self.left_out: list[str] = []
        self.grader_lines: list[str] = []
        self._grader_names: set[str] = set()   # names bound to nngrade or to what it returned

    def python(self, source: str, count: int) -> list[str]:
        """The lines of one cell as Python; a line left out becomes `pass` at its indentation (line numbers stay)."""
        body = source.splitlines()
        first = next((i for i, line in enumerate(body) if line.strip()), None)
        if first is not None and body[first].lstrip().startswith("%%"):
            magic = body[first].strip()[2:].split(maxsplit=1)[0] if body[first].strip()[2:] else ""
            if magic not in PYTHON_BODY_MAGICS:   # %%bash, %%writefile, %%html...: the whole cell is not Python
                self.left_out.append(f"cell {count} (a %%{magic} cell)")
                return ["pass"] * len(body)
            self.left_out.append(f"cell {count} line {first + 1} ({body[first].strip()[:60]})")
            body[first] = "pass"
        if not _is_python("\n".join(body)):
            for number, line in enumerate(body, start=1):
                if _ipython_only(line):
                    self.left_out.append(f"cell {count} line {number} ({line.strip()[:60]})")
                    body[number - 1] = line[:len(line) - len(line.lstrip())] + "pass"
        return self._without_grader(body, count)

    def _without_grader(self, body: list[str], count: int) -> list[str]:
        import ast
        try:
            tree = ast.parse("\n".join(body))
        except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
            return body   # graded as it is: its syntax error is the student's to see
        statements = tree.body
        grader = []
        for statement in statements:   # in order: what uses a name bound by an earlier one is the grader's too
            if _uses_grader(statement, self._grader_names):
                self._grader_names |= _bound_names(statement)
                grader.append(statement)
        splices = []
        for statement in grader:
            start, end = statement.lineno, statement.end_lineno
            shared = [other for other in statements if other not in grader
                      and other.lineno <= end and other.end_lineno >= start]
            if not shared:
                body[start - 1:end] = ["pass"] + [""] * (end - start)
            elif start == end:   # `import numpy as np; import nngrade`: that statement only
                splices.append((start, statement.col_offset, statement.end_col_offset))
            else:
                continue
            self.grader_lines.append(f"cell {count} line {start}")
        for line, begin, finish in sorted(splices, reverse=True):   # right to left: the offsets stay valid
            if body[line - 1] == "pass":
                continue
            raw = body[line - 1].encode("utf-8", "surrogatepass")
            body[line - 1] = (raw[:begin] + b"pass" + raw[finish:]).decode("utf-8", "surrogatepass")
        self.grader_lines = list(dict.fromkeys(self.grader_lines))
        return body

    def notices(self, name: str) -> list[str]:
        notices = []
        if self.left_out:
            notices.append(f"{name}: left out what only IPython runs (magics, ! shell lines, ? help): "
                           + _listed(self.left_out))
        if self.grader_lines:
            notices.append(f"{name}: left out the grader's own lines (import nngrade, nngrade.check(...)): "
                           + _listed(self.grader_lines))
        return notices


def _listed(items: list[str]) -> str:
    return ", ".join(items[:SHOWN_LEFT_OUT]) + (f" and {len(items) - SHOWN_LEFT_OUT} more"
                                                if len(items) > SHOWN_LEFT_OUT else "")


def _is_grader_module(name: str | None) -> bool:
    return name is not None and (name == GRADER or name.startswith(GRADER + "."))


def _uses_grader(statement, names: set[str]) -> bool:
    """A statement that imports the grader, or uses a name bound to it (or to what it returned)."""
    import ast
    if isinstance(statement, ast.Import):
        return any(_is_grader_module(alias.name) for alias in statement.names)
    if isinstance(statement, ast.ImportFrom):
        return statement.level == 0 and _is_grader_module(statement.module)
    return any(isinstance(node, ast.Name) and node.id in names for node in ast.walk(statement))


def _bound_names(statement) -> set[str]:
    import ast
    if isinstance(statement, ast.Import | ast.ImportFrom):
        return {alias.asname or alias.name.split(".")[0] for alias in statement.names}
    bound = {node.id for node in ast.walk(statement) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}
    if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        bound.add(statement.name)
    return bound


def _is_python(source: str) -> bool:
    """Parsed, never run (the parent runs no student code): a cell Python accepts needs nothing left out."""
    import ast
    try:
        ast.parse(source)
        return True
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return False


def _ipython_only(line: str) -> bool:
    """A line IPython runs but Python cannot: a magic, a shell escape, a help request, or a shell assignment."""
    stripped = line.strip()
    if not stripped or stripped.startswith("#"):
        return False
    return (stripped[0] in "%!?" or _SHELL_ASSIGNMENT.match(stripped) is not None
            or (stripped.endswith("?") and "#" not in stripped and not stripped.startswith(("'", '"'))))
