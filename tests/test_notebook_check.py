"""`nngrade.check()` in a running notebook: the definitions of the cells run so far, graded by grade.py in a process
of its own; the table as HTML in the cell's output. Driven through a real kernel (nbclient + ipykernel); the
round trip: one filled-in notebook graded by grade.py, by bulk and by check() in its kernel, to the same score."""
from __future__ import annotations

import ast
import json
import re
import sys
from pathlib import Path

import nbformat
import pytest

from nngrade.judge.exercises import EXERCISES
from nngrade.notebook_check import definitions, scoped_style

from helpers import REPO, reference_source, run_cli
from test_bulk import run_bulk

SOLUTION = re.compile(r"^(\s*)(\w+) = (.+?)  # SOLUTION$", re.M)


def filled_stub(exercise_id: str, wrong: dict[str, str] | None = None) -> str:
    """The stub of exercises/ with its TODO lines filled in with the reference's (or `wrong`'s, by name)."""
    answers = {m[2]: m[3] for m in SOLUTION.finditer(reference_source(exercise_id))}
    answers.update(wrong or {})
    stub = (REPO / "exercises" / f"{EXERCISES[exercise_id].stem}.py").read_text(encoding="utf-8")
    filled = re.sub(r"^(\s*)(\w+) = None$", lambda m: f"{m[1]}{m[2]} = {answers[m[2]]}", stub, flags=re.M)
    assert "= None" not in filled.split('if __name__')[0]
    return filled.split('if __name__ == "__main__":')[0]


def student_notebook(source: str, seed: int) -> nbformat.NotebookNode:
    """As a student works in Colab: the set-up (magics, a shell line, the grader put on the path), one cell per
    function, a cell that tries it out, one that reads a file the grader does not have, then the check."""
    head, *functions = source.split("\ndef ")
    cells = [nbformat.v4.new_markdown_cell("# Exercise 07\nFill in the TODOs, run every cell, then check."),
             nbformat.v4.new_code_cell(f"%precision 4\n!echo setting up\nimport sys\nsys.path.insert(0, {str(REPO)!r})"),
             nbformat.v4.new_code_cell(head.split('"""', 2)[-1].strip())]
    cells += [nbformat.v4.new_code_cell("def " + function.rstrip()) for function in functions]
    cells += [nbformat.v4.new_code_cell("x = np.array([0.5, 0.1, -0.2])\nw_ih = np.array([[0.5, -0.6], [0.1, -0.2], "
                                        "[0.1, 0.7]])\nstep = backprop_step(x, 0.6, 0.5, w_ih, np.array([0.1, -0.3]))\n"
                                        "step['error']"),
              nbformat.v4.new_code_cell("try:\n    rows = open('binary.csv').read()\nexcept OSError:\n    rows = None"),
              nbformat.v4.new_code_cell(f"import nngrade\nresult = nngrade.check('07', seed={seed})\nresult"),
              nbformat.v4.new_code_cell("print('SCORE', result.score, result.max_score)")]
    notebook = nbformat.v4.new_notebook()
    notebook.cells = cells
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return notebook


def run_in_kernel(notebook: nbformat.NotebookNode, folder: Path) -> nbformat.NotebookNode:
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    client = nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(folder)}})
    try:
        client.create_kernel_manager()
        client.start_new_kernel()
        client.start_new_kernel_client()
    except Exception as exc:  # noqa: BLE001 - no kernel here (no kernelspec, no ZeroMQ): nothing to test
        client._cleanup_kernel()
        pytest.skip(f"a Jupyter kernel cannot start here: {type(exc).__name__} {exc}")
    try:
        for index, cell in enumerate(notebook.cells):
            client.execute_cell(cell, index)
    finally:
        client._cleanup_kernel()
    return notebook


def kernel_score(notebook) -> tuple[float, float]:
    printed = "".join(out.get("text", "") for out in notebook.cells[-1].outputs)
    _, score, max_score = printed.split()
    return float(score), float(max_score)


def report_score(path: Path) -> float:
    return json.loads(path.read_text())["score"]


# --- through a real kernel -------------------------------------------------------------------------

@pytest.mark.parametrize("wrong", [{}, {"error": "output - target"}], ids=["right", "sign-of-the-error"])
def test_round_trip_grade_py_bulk_and_the_kernel_give_one_score(tmp_path, wrong):
    seed = 11
    notebook = run_in_kernel(student_notebook(filled_stub("07", wrong), seed), tmp_path)
    in_kernel, max_score = kernel_score(notebook)
    check_cell = notebook.cells[-2]
    outputs = [out for out in check_cell.outputs if out.output_type == "execute_result"]
    assert outputs, check_cell.outputs
    html, text = outputs[0].data["text/html"], outputs[0].data["text/plain"]
    assert "<table" in html and "backprop" in html.lower() and "<script" not in html.lower()
    assert "error" in text and "Total:" in text
    # The notebook as the student hands it in: the check's cells included.
    path = tmp_path / "class" / "ana" / f"{EXERCISES['07'].stem}.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(notebook, path)
    done = run_cli("07", str(path), "--seed", str(seed), "--json", str(tmp_path / "cli.json"))
    assert done.returncode in (0, 1), done.stderr
    out = run_bulk(str(tmp_path / "class"), "--out", str(tmp_path / "graded"), "--seed", str(seed), "--exercises", "07", "--quiet")
    assert out.returncode in (0, 1), out.stderr
    (bulk_report,) = (tmp_path / "graded" / "reports").glob("*.json")
    scores = {"kernel": in_kernel, "grade.py": report_score(tmp_path / "cli.json"), "bulk": report_score(bulk_report)}
    assert len(set(scores.values())) == 1, scores
    assert max_score == 20   # five quantities of 4 points (the exercise's spec)
    if wrong:
        # The error's sign is wrong on every case: its checks fail, the chain after it follows through.
        assert 0 < in_kernel < max_score and "sign" in html
    else:
        assert in_kernel == max_score


def test_check_in_the_kernel_grades_the_last_definition_not_a_cell_that_failed(tmp_path):
    """A function first run with a syntax error, then fixed; a training loop that raised: the kernel's state."""
    source = filled_stub("07")
    head, body = source.split("\ndef backprop_step")
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(f"import sys\nsys.path.insert(0, {str(REPO)!r})"),
                      nbformat.v4.new_code_cell(head.split('"""', 2)[-1]),
                      nbformat.v4.new_code_cell("def backprop_step(x, target, learnrate, w_ih, w_ho):\n    retrun 1 +"),
                      nbformat.v4.new_code_cell("def backprop_step" + body),
                      nbformat.v4.new_code_cell("for epoch in range(3):\n    backprop_step(None, 1, 1, None, None)"),
                      nbformat.v4.new_code_cell("import nngrade\nr = nngrade.check()\nprint('SCORE', r.score, r.max_score)")]
    for cell in notebook.cells[2:5:2]:
        cell.metadata["tags"] = ["raises-exception"]   # nbclient goes on past them, as a student does
    notebook = run_in_kernel(notebook, tmp_path)
    assert kernel_score(notebook) == (20.0, 20.0)   # check() with no id: the one exercise the notebook has


# --- the source taken from the kernel's cells ------------------------------------------------------

def test_definitions_keep_what_defines_and_leave_out_what_runs():
    cells = [(1, "%matplotlib inline\nimport numpy as np\n!pip install -q numpy"),
             (2, "LEARNRATE = 0.5\nSHAPE = (3, 2)\nsig = lambda v: 1 / (1 + np.exp(-v))"),
             (3, "def f(x):\n    return sig(x) * LEARNRATE"),
             (4, "data = np.loadtxt('binary.csv')\nfor i in range(10**9):\n    pass\nprint(f(1))"),
             (5, "import nngrade\nnngrade.check('07')"),
             (7, "@staticmethod\ndef g(x, w=LEARNRATE):\n    return x")]
    session = definitions(cells)
    tree = ast.parse(session.source)   # one Python file
    kept = [type(s).__name__ for s in tree.body]
    assert kept == ["Import", "Assign", "Assign", "Assign", "FunctionDef", "FunctionDef"]
    for gone in ("loadtxt", "range(10**9)", "print(", "nngrade", "%matplotlib", "!pip"):
        assert gone not in session.source
    assert "# In[7]\n@staticmethod" in session.source
    assert set(session.functions) == {"f", "g"}
    text = " ".join(session.notices)
    assert "%matplotlib inline" in text and "nngrade.check" in text


def test_a_cell_that_did_not_compile_defined_nothing_and_later_cells_win():
    cells = [(1, "def f(x):\n    return 1"), (2, "def f(x):\n    return 2 +"), (3, "def h():\n    pass"),
             (4, "def f(x):\n    return 3")]
    session = definitions(cells)
    namespace: dict = {}
    exec(session.source, namespace)
    assert namespace["f"](0) == 3 and "return 2" not in session.source
    assert any("In[2] line 2" in n for n in session.notices)


def test_a_definition_needing_a_computed_value_is_left_out_so_the_file_still_imports():
    cells = [(1, "import numpy as np\nweights = np.random.normal(size=3)"),
             (2, "def f(x, w=weights):\n    return x @ w"), (3, "def k(x):\n    return x")]
    session = definitions(cells)
    namespace: dict = {}
    exec(session.source, namespace)   # imports cleanly
    assert "k" in namespace and "f" not in namespace
    assert any("In[2] line 1 (needs weights)" in n for n in session.notices)


def test_a_graded_function_reading_a_computed_global_is_told(tmp_path, monkeypatch):
    from nngrade import notebook_check
    cells = [(1, "import numpy as np\nW = np.ones((3, 2))"),
             (2, "def backprop_step(x, target, learnrate, weights_input_hidden, weights_hidden_output):\n"
                 "    return {'error': target - x @ W}")]
    session = definitions(cells)
    notices = notebook_check._computed_globals(session, [EXERCISES["07"]], {"W": 1, "np": np_module()})
    assert len(notices) == 1 and "'W'" in notices[0] and "backprop_step" in notices[0]


def np_module():
    import numpy
    return numpy


def test_without_ids_the_exercises_the_notebook_defines_with_the_stubs_arity():
    from nngrade.notebook_check import CheckError, chosen_exercises
    ids = lambda cells: [e.id for e in chosen_exercises((), definitions(cells))]  # noqa: E731
    assert ids([(1, "def backprop_step(x, target, learnrate, w_ih, w_ho):\n    pass")]) == ["07"]
    # 05 and 08 share their functions' names, not their parameters.
    eight = [(1, f"def {name}(a, b, c, d{', e' if name == 'train_epoch' else ''}):\n    pass")
             for name in ("record_terms", "train_epoch", "train_loss", "accuracy")]
    assert ids([(1, "def record_terms(a, b, c, d):\n    pass")]) == ["08"]
    assert ids(eight) == ["08"]
    with pytest.raises(CheckError, match="define none"):
        ids([(1, "def unrelated(x):\n    pass")])
    with pytest.raises(CheckError, match="unknown exercise"):
        chosen_exercises(("99",), definitions([]))


def test_outside_a_notebook_a_script_checks_itself(tmp_path):
    script = tmp_path / "mine.py"
    script.write_text(filled_stub("07", {"output_error_term": "error * output"})
                      + f"\nimport sys\nsys.path.insert(0, {str(REPO)!r})\nimport nngrade\n"
                      "result = nngrade.check(7, seed=2)\nprint(repr(result))\nprint('SCORE', result.score)\n")
    import subprocess
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "✗ output_error_term" in done.stdout and "Traceback" not in done.stderr
    assert "this script" in done.stdout
    score = float(done.stdout.rsplit("SCORE", 1)[1])
    assert 0 < score < 20


def test_an_unknown_exercise_is_one_line_not_a_traceback():
    from nngrade.notebook_check import check
    feedback = check("99")
    assert feedback.report is None and "unknown exercise" in repr(feedback)
    assert "unknown exercise" in feedback._repr_html_()


def test_the_pages_style_applies_inside_the_output_only():
    scoped = scoped_style("body{color:red}h2,th{margin:0}.x{a:b}", ".s")
    assert scoped == ".s{color:red}.s h2,.s th{margin:0}.s .x{a:b}"


def test_a_handed_in_notebook_leaves_out_the_graders_lines_and_what_uses_their_result():
    from nngrade.run.notebooks import Cells
    cells = Cells()
    first = cells.python("import numpy as np; import nngrade as ng\nfrom nngrade import check", 1)
    second = cells.python("r = ng.check('07'); x = 2\nprint(r.score); y = 3\nif r.score < 20:\n    print('again')\n"
                          "z = check()\nw = x + y", 2)
    assert first == ["import numpy as np; pass", "pass"]
    assert second == ["pass; x = 2", "pass; y = 3", "pass", "", "pass", "w = x + y"]
    namespace: dict = {}
    exec("\n".join(first + second), namespace)   # what is left runs without nngrade
    assert namespace["w"] == 5
    assert "left out the grader's own lines" in " ".join(cells.notices("nb"))


def test_the_html_escapes_whatever_the_cells_held():
    from nngrade.notebook_check import Feedback
    from nngrade.reports.results import Report
    report = Report(exercises=(), seed=1, submission="s", data={}, isolation="process", timings={}, versions={},
                    notices=("cell 1 line 1 (%<script>alert(1)</script>)",))
    html = Feedback(report=report)._repr_html_()
    assert "<script" not in html and "&lt;script&gt;" in html
    assert "Total: 0 / 0" in repr(Feedback(report=report))
