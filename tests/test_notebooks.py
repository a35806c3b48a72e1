"""Notebook submissions: the code cells as Python, IPython-only lines left out with a notice, a one-line reason for
what is not a notebook; graded the same through grade.py, bulk (plain folders, Canvas files, zips, Gradescope
exports) and the Gradescope bundle; the child only ever receives Python source."""
from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import nbformat
import pytest

from nngrade.run import notebooks
from nngrade.judge.exercises import EXERCISES
from nngrade.run.runner import Limits, RunResult, Submitted, read_source

from helpers import REPO, reference_source, run_cli
from test_bulk import run_bulk


def notebook_of(source: str, *extra_cells, magics: bool = True) -> str:
    """An exercise's file as a student's notebook: a markdown cell, the imports (with the magics and shell lines
    Colab users type), each function in a cell of its own, then a cell that tries it out; JSON text."""
    body = source.split('if __name__ == "__main__":')[0]
    head, *functions = body.split("\ndef ")
    cells = [nbformat.v4.new_markdown_cell("# My solution\nRun every cell, then grade.")]
    setup = ("%matplotlib inline\n!pip install -q numpy\n" if magics else "") + head
    cells.append(nbformat.v4.new_code_cell(setup))
    cells += [nbformat.v4.new_code_cell("def " + function) for function in functions]
    cells += [nbformat.v4.new_code_cell(cell) for cell in extra_cells]
    notebook = nbformat.v4.new_notebook()
    notebook.cells = cells
    return nbformat.writes(notebook)


def converted(text: str) -> tuple[str, list[str]]:
    source, notices = notebooks.to_source(text.encode(), "nb.ipynb")
    return source.decode(), notices


# --- the conversion --------------------------------------------------------------------------------

def test_code_cells_in_order_and_ipython_lines_left_out_with_a_notice():
    text = notebook_of("import numpy as np\n\ndef f(x):\n    return x\n",
                       "%%time\ny = f(2)\nnp.dot?",
                       "%%bash\necho not python",
                       "if True:\n    !ls\n    z = !pwd\n",
                       "total = (1\n     % 2)   # valid Python: kept as it is")
    source, notices = converted(text)
    compile(source, "nb.py", "exec")                  # plain Python, whatever the notebook held
    assert source.index("import numpy") < source.index("def f(x)") < source.index("y = f(2)")
    for gone in ("%matplotlib", "!pip", "%%time", "np.dot?", "echo not python", "!ls", "!pwd"):
        assert gone not in source
    assert "y = f(2)" in source and "% 2)" in source and "My solution" not in source
    assert len(notices) == 2 and "6 code cells" in notices[0]
    left_out = notices[1]
    for named in ("cell 1 line 1 (%matplotlib inline)", "!pip install", "cell 3 line 1 (%%time)", "np.dot?",
                  "cell 4 (a %%bash cell)"):
        assert named in left_out
    assert "and 2 more" in left_out and "!ls" not in left_out   # capped at 5 named; the count is not lost
    namespace: dict = {}
    exec(compile(source, "nb.py", "exec"), namespace)   # a test's own notebook: its cells still run as Python
    assert namespace["y"] == 2 and namespace["total"] == 1


def test_a_notebook_without_magics_needs_no_notice_of_left_out_lines():
    _, notices = converted(notebook_of(reference_source("07"), magics=False))
    assert len(notices) == 1 and "left out" not in notices[0]


@pytest.mark.parametrize("raw, words", [
    (b"{not json", "not valid JSON"),
    (b"", "not valid JSON"),
    (b'{"cells": 3, "nbformat": 4, "nbformat_minor": 5, "metadata": {}}', "not a readable notebook"),
    (b'{"a": 1}', "not a readable notebook"),
    (b"\xff\xfe\x00garbage", "not UTF-8"),
    (b"[" * 100_000 + b"]" * 100_000, "not"),           # nested past any parser's recursion
])
def test_what_is_not_a_notebook_gets_a_one_line_reason(raw, words):
    with pytest.raises(notebooks.NotebookError) as caught:
        notebooks.to_source(raw, "07_backpropagation.ipynb")
    message = str(caught.value)
    assert words in message and "07_backpropagation.ipynb" in message and "\n" not in message and len(message) < 300


def test_the_child_receives_python_source_under_a_py_name(tmp_path):
    path = tmp_path / "07_backpropagation.ipynb"
    path.write_text(notebook_of(reference_source("07")), encoding="utf-8")
    submitted = read_source(path, Limits(), "process")
    assert isinstance(submitted, Submitted) and submitted.name == "07_backpropagation.py"
    compile(submitted.source, submitted.name, "exec")
    assert not submitted.source.lstrip().startswith(b"{")
    bad = tmp_path / "07_bad.ipynb"
    bad.write_text("{oops", encoding="utf-8")
    refused = read_source(bad, Limits(), "process")
    assert isinstance(refused, RunResult) and "not valid JSON" in refused.import_error["message"]


def test_nbformat_is_a_requirement():
    assert "nbformat" in (REPO / "requirements.txt").read_text(encoding="utf-8")


# --- graded the same everywhere -------------------------------------------------------------------

def _report(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def filled_in() -> str:
    """The stub of 07, filled in (the reference's lines), as a notebook with magics: worth 20 / 20."""
    return notebook_of(reference_source("07"), "result = backprop_step(np.array([0.5, 0.1, -0.2]), 0.6, 0.5, "
                       "np.array([[0.5, -0.6], [0.1, -0.2], [0.1, 0.7]]), np.array([0.1, -0.3]))\nprint(result)")


def test_grade_py_grades_a_notebook_as_a_path_and_with_submission(tmp_path, filled_in):
    path = tmp_path / "07_backpropagation.ipynb"
    path.write_text(filled_in, encoding="utf-8")
    for args in ([str(path)], ["--submission", str(path)], ["07", "--submission", str(tmp_path)]):
        result = run_cli(*args, "--json", str(tmp_path / "r.json"))
        assert result.returncode == 0, result.stdout + result.stderr
        report = _report(tmp_path / "r.json")
        assert report["score"] == report["max_score"] == 20
        assert any("left out" in notice and "%matplotlib inline" in notice for notice in report["notices"])
        assert "note: 07_backpropagation.ipynb: left out" in result.stdout


def test_grade_py_gives_a_broken_notebook_its_reason(tmp_path):
    path = tmp_path / "07_backpropagation.ipynb"
    path.write_text('{"cells": [', encoding="utf-8")
    result = run_cli(str(path), "--json", str(tmp_path / "r.json"))
    assert result.returncode == 1 and "Traceback" not in result.stdout + result.stderr
    assert "not valid JSON" in result.stdout
    (exercise,) = _report(tmp_path / "r.json")["exercises"]
    assert exercise["score"] == 0 and "not valid JSON" in exercise["problem"]


def test_a_notebook_beside_the_stub_the_newer_is_graded(tmp_path, filled_in):
    import os
    folder = tmp_path / "work"
    folder.mkdir()
    shutil.copy(REPO / "exercises" / "07_backpropagation.py", folder)
    (folder / "07_backpropagation.ipynb").write_text(filled_in, encoding="utf-8")
    os.utime(folder / "07_backpropagation.py", (1_000_000_000, 1_000_000_000))   # the stub, untouched since
    result = run_cli("07", "--submission", str(folder), "--json", str(tmp_path / "r.json"))
    assert result.returncode == 0, result.stdout
    report = _report(tmp_path / "r.json")
    assert report["score"] == 20 and any("the one saved last" in n for n in report["notices"])


def test_bulk_grades_notebooks_in_every_layout_with_the_score_grade_py_gives(tmp_path, filled_in):
    # Folders, a single file, a zip, Canvas's files, a Gradescope export: the same notebook, the same 20 / 20.
    wrong = filled_in.replace("error = target - output", "error = output - target")
    classes = {"plain": tmp_path / "plain", "gradescope": tmp_path / "gs"}
    plain = classes["plain"]
    (plain / "alice").mkdir(parents=True)
    (plain / "alice" / "07_backpropagation.ipynb").write_text(filled_in, encoding="utf-8")
    (plain / "bob.ipynb").write_text(filled_in, encoding="utf-8")                 # one exercise graded: a file
    with zipfile.ZipFile(plain / "carol.zip", "w") as archive:
        archive.writestr("work/07_backpropagation.ipynb", filled_in)
    (plain / "doejohn_4242_1001_07_backpropagation.ipynb").write_text(filled_in, encoding="utf-8")
    (plain / "dave").mkdir()
    (plain / "dave" / "07_backpropagation.ipynb").write_text(wrong, encoding="utf-8")
    (plain / "erin").mkdir()
    (plain / "erin" / "07_backpropagation.ipynb").write_text("{broken", encoding="utf-8")
    gradescope = classes["gradescope"]
    (gradescope / "submission_1").mkdir(parents=True)
    (gradescope / "submission_1" / "07_backpropagation.ipynb").write_text(filled_in, encoding="utf-8")
    (gradescope / "submission_metadata.yml").write_text(
        "submission_1:\n  :submitters:\n  - :name: Fay\n    :sid: '777'\n    :email: fay@example.edu\n", encoding="utf-8")
    single = tmp_path / "single"
    single.mkdir()
    (single / "07_backpropagation.ipynb").write_text(wrong, encoding="utf-8")
    assert run_cli("--submission", str(single / "07_backpropagation.ipynb"), "--seed", "5",
                   "--json", str(tmp_path / "dave.json")).returncode == 1
    dave_alone = _report(tmp_path / "dave.json")["score"]
    assert 0 < dave_alone < 20
    for name, folder in classes.items():
        out = tmp_path / f"{name}-graded"
        done = run_bulk(str(folder), "--out", str(out), "--exercises", "07", "--seed", "5", "--workers", "1", "--quiet")
        assert done.returncode == 0, done.stdout + done.stderr
        reports = {path.stem: _report(path) for path in (out / "reports").glob("*.json")}
        if name == "plain":
            assert {k: r["score"] for k, r in reports.items()} == {
                "alice": 20, "bob": 20, "carol": 20, "4242": 20, "dave": dave_alone, "erin": 0}
            assert "not valid JSON" in reports["erin"]["exercises"][0]["problem"]
            assert any("%matplotlib inline" in n for n in reports["alice"]["notices"])
        else:
            assert {k: r["score"] for k, r in reports.items()} == {"777": 20}


def test_the_gradescope_bundle_grades_a_notebook(tmp_path, filled_in, bundle):
    from test_gradescope_bundle import _autograder, _run
    root = _autograder(tmp_path, bundle, {"07_backpropagation.ipynb": filled_in,
                                          "04_gradient_step.ipynb": notebook_of(reference_source("04"))})
    results = _run(root)
    report = json.loads((root / "results" / "nngrade-report.json").read_text())
    assert report["score"] == report["max_score"] == EXERCISES["04"].max_score + EXERCISES["07"].max_score
    assert results["score"] == report["score"]


from test_gradescope_bundle import bundle  # noqa: E402,F401 - the bundle fixture, built once for this module too


def test_the_notices_of_a_notebook_submission_follow_the_exercises_order(tmp_path):
    """Files run dearest first (05 and 08), but what the report says about them follows the exercises' order."""
    from helpers import SAMPLE_DATA, reference_source
    from nngrade.cli import find_tasks
    from nngrade.data import load
    from nngrade.judge.grading import grade
    folder = tmp_path / "alice"
    folder.mkdir()
    for exercise_id in EXERCISES:
        notebook = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
            {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": "%matplotlib inline"},
            {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
             "source": reference_source(exercise_id)}]}
        (folder / f"{EXERCISES[exercise_id].stem}.ipynb").write_text(json.dumps(notebook))
    report = grade(find_tasks(list(EXERCISES), True, folder), 7, load(SAMPLE_DATA), submission=str(folder))
    named = [next(i for i in EXERCISES if notice.startswith(EXERCISES[i].stem)) for notice in report.notices
             if notice.endswith("as one Python file")]
    assert named == list(EXERCISES) and report.score == report.max_score
