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
    lines, left_out, count = [], [], 0
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) and all(isinstance(s, str) for s in source) else source
        if not isinstance(source, str):
            continue
        count += 1
        lines.append(f"# In[{count}]")
        body = source.splitlines()
        first = next((i for i, line in enumerate(body) if line.strip()), None)
        if first is not None and body[first].lstrip().startswith("%%"):
            magic = body[first].strip()[2:].split(maxsplit=1)[0] if body[first].strip()[2:] else ""
            left_out.append(f"cell {count} line {first + 1} ({body[first].strip()[:60]})")
            if magic not in PYTHON_BODY_MAGICS:   # %%bash, %%writefile, %%html...: the whole cell is not Python
                left_out[-1] = f"cell {count} (a %%{magic} cell)"
                lines += ["pass"] * len(body)
                continue
            body[first] = "pass"
        if _is_python("\n".join(body)):
            lines += body
            continue
        for number, line in enumerate(body, start=1):
            if _ipython_only(line):
                left_out.append(f"cell {count} line {number} ({line.strip()[:60]})")
                line = line[:len(line) - len(line.lstrip())] + "pass"
            lines.append(line)
    notices = [f"{name}: graded its {count} code cell{'s' if count != 1 else ''}, in order, as one Python file"]
    if left_out:
        shown = ", ".join(left_out[:SHOWN_LEFT_OUT]) + (f" and {len(left_out) - SHOWN_LEFT_OUT} more"
                                                        if len(left_out) > SHOWN_LEFT_OUT else "")
        notices.append(f"{name}: left out what only IPython runs (magics, ! shell lines, ? help): {shown}")
    return ("\n".join(lines) + "\n").encode("utf-8", errors="surrogatepass"), notices


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
