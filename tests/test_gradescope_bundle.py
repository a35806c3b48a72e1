"""The Gradescope autograder zip: built by `grade.py gradescope --out`, run as Gradescope would run it."""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import jsonschema
import pytest

from helpers import REPO, reference_source, run_cli
from nngrade.judge.exercises import EXERCISES

RESULTS_SCHEMA = json.loads((REPO / "nngrade" / "schema" / "gradescope-results.schema.json").read_text())
REPORT_SCHEMA = json.loads((REPO / "nngrade" / "schema" / "report.schema.json").read_text())


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "autograder.zip"
    result = run_cli("gradescope", "--out", str(out), "--seed", "17", "--timeout", "3", "--exercises", "04", "07")
    assert result.returncode == 0, result.stderr
    assert "seed 17" in result.stdout
    return out


def _autograder(tmp_path: Path, bundle: Path, submission: dict[str, str | bytes]) -> Path:
    """A folder laid out as Gradescope's /autograder: source/ (the zip), run_autograder, submission/, results/."""
    root = tmp_path / "autograder"
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(root / "source")
        for info in archive.infolist():        # extractall drops the permission bits
            mode = info.external_attr >> 16
            if mode:
                os.chmod(root / "source" / info.filename, stat.S_IMODE(mode))
    shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
    (root / "submission").mkdir()
    (root / "results").mkdir()
    for name, content in submission.items():
        path = root / "submission" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return root


def _run(root: Path) -> dict:
    env = {**os.environ, "NNGRADE_AUTOGRADER_ROOT": str(root), "NNGRADE_PYTHON": sys.executable}
    result = subprocess.run([str(root / "run_autograder")], cwd=root, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(results, RESULTS_SCHEMA)
    return results


def test_the_zip_holds_the_scripts_at_its_root_and_the_project(bundle):
    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
        modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
        config = json.loads(archive.read("nngrade-autograder.json"))
    assert {"setup.sh", "run_autograder", "requirements.txt", "grade.py", "nngrade/cli.py", "nngrade/bulk/engine.py",
            "data/admissions_sample.csv"} <= names
    assert {f"graders/test_{e.stem}.py" for e in EXERCISES.values()} <= names
    assert {f"reference/{e.stem}.py" for e in EXERCISES.values()} <= names
    assert not any("__pycache__" in n or n.endswith(".pyc") or n.startswith("tests/") for n in names)
    assert modes["setup.sh"] & 0o111 and modes["run_autograder"] & 0o111
    assert config == {"exercises": ["04", "07"], "seed": 17, "timeout": 3.0, "hidden_visibility": "after_published",
                      "isolation": "auto"}


def test_the_scripts_are_valid_bash(bundle, tmp_path):
    with zipfile.ZipFile(bundle) as archive:
        archive.extract("setup.sh", tmp_path)
        archive.extract("run_autograder", tmp_path)
        setup = archive.read("setup.sh").decode()
    for script in ("setup.sh", "run_autograder"):
        assert subprocess.run(["bash", "-n", str(tmp_path / script)]).returncode == 0
    assert "pip install -r requirements.txt" in setup


def test_run_autograder_grades_the_submission_into_results_json(bundle, tmp_path):
    root = _autograder(tmp_path, bundle, {"04_gradient_step.py": reference_source("04"),
                                          "07_backpropagation.py": "def backprop_step(:\n"})
    results = _run(root)
    report = json.loads((root / "results" / "nngrade-report.json").read_text())
    jsonschema.validate(report, REPORT_SCHEMA)
    assert report["seed"] == 17 and [e["id"] for e in report["exercises"]] == ["04", "07"]
    assert results["score"] == report["exercises"][0]["max_score"] == sum(t["score"] for t in results["tests"])
    assert "SyntaxError" in results["output"]
    hidden = [t for t in results["tests"] if "[hidden-" in t["name"]]
    assert hidden and all(t["visibility"] == "after_published" for t in hidden)


def test_a_submission_uploaded_as_a_zip_in_a_folder_is_found(bundle, tmp_path):
    import io
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hw/07_backpropagation.py", reference_source("07"))
    root = _autograder(tmp_path, bundle, {"upload/work.zip": buffer.getvalue(),
                                          "upload/04_gradient_step.py": reference_source("04")})
    results = _run(root)
    assert results["score"] == sum(t["max_score"] for t in results["tests"]) > 0


def test_an_empty_submission_still_gets_results(bundle, tmp_path):
    root = _autograder(tmp_path, bundle, {"notes.txt": "nothing here"})
    results = _run(root)
    assert results["score"] == 0 and "nothing gradable submitted" in results["output"]
    assert len(results["tests"]) > 0 and all(t["status"] == "failed" for t in results["tests"])


def test_gradescope_usage_errors_are_one_line(tmp_path):
    for args in ((), ("--out", str(tmp_path / "a.zip"), "--run"), ("--out", str(tmp_path / "a.zip"), "--exercises", "9x"),
                 ("--out", str(tmp_path / "a.zip"), "--hidden-visibility", "soon")):
        result = run_cli("gradescope", *args)
        assert result.returncode == 2 and result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, \
            (args, result.stderr)


FORGER = '''"""On Gradescope as root without bubblewrap: forge results.json, plant a conftest, leave a daemon, steal."""
import json, os, signal, time
ROOT = {root!r}
RESULTS = os.path.join(ROOT, "results", "results.json")
FORGED = json.dumps({{"score": 1000.0, "output": "forged", "tests": []}})


def _try(action):
    try:
        return action()
    except Exception:
        return None


def _forge():
    with open(RESULTS, "w") as handle:
        handle.write(FORGED)


def backprop_step(x, target, learnrate, weights_input_hidden, weights_hidden_output):
    _try(_forge)                                                                              # (a)
    _try(lambda: open(os.path.join(ROOT, "source", "graders", "conftest.py"), "w").write("import os; os._exit(0)"))  # (b)
    if os.fork() == 0:                                                                        # (c)
        os.setsid()
        if os.fork() == 0:
            _try(lambda: __import__("ctypes").CDLL(None).prctl(15, {token!r}.encode(), 0, 0, 0))   # its name
            end = time.time() + 8
            while time.time() < end:
                _try(_forge)
                time.sleep(0.05)
        os._exit(0)
    config = _try(lambda: json.load(open(os.path.join(ROOT, "source", "nngrade-autograder.json"))))      # (d)
    solution = _try(lambda: open(os.path.join(ROOT, "source", "reference", "07_backpropagation.py")).read())
    for pid in [p for p in os.listdir("/proc") if p.isdigit()]:                                # and kill the grader
        if b"grade.py" in (_try(lambda: open(f"/proc/{{pid}}/cmdline", "rb").read()) or b""):
            _try(lambda: os.kill(int(pid), signal.SIGKILL))
    if solution is None:
        return {{"error": float(config["seed"]) if config else -1.0}}
    namespace = {{}}
    exec(solution, namespace)
    return namespace["backprop_step"](x, target, learnrate, weights_input_hidden, weights_hidden_output)
'''


@pytest.mark.skipif(os.name != "posix" or os.geteuid() != 0, reason="Gradescope runs the autograder as root")
def test_as_root_without_bubblewrap_a_submission_can_neither_forge_nor_steal(tmp_path):
    """Gradescope's container: root, no bubblewrap (--isolation process is what `auto` falls back to there)."""
    from nngrade.run import users
    if users.available() is not None:
        pytest.skip(f"own users: {users.available()}")
    out = tmp_path / "autograder.zip"
    built = run_cli("gradescope", "--out", str(out), "--seed", "4242", "--timeout", "5", "--exercises", "07",
                    "--isolation", "process")
    assert built.returncode == 0, built.stderr
    root = _autograder(tmp_path, out, {})
    token = "nnf-" + secrets.token_hex(5)
    (root / "submission" / "07_backpropagation.py").write_text(FORGER.format(root=str(root), token=token))
    results = _run(root)
    time.sleep(1.0)   # what a daemon that outlived grading would use to rewrite results.json
    text = (root / "results" / "results.json").read_text()
    assert json.loads(text) == results and "forged" not in text
    report = json.loads((root / "results" / "nngrade-report.json").read_text())
    assert report["isolation"] == "user"
    assert results["score"] == report["score"] == 0.0          # neither the reference nor its values were reached
    # nor the class's seed: the forger returns it as its error, or -1 where it found none (its message says which;
    # a timing such as 0.4242 s must not count)
    messages = [c["message"] for c in report["exercises"][0]["checks"] if c["name"] == "backprop_step.error[lesson]"]
    assert messages and "got -1" in messages[0] and "got 4242" not in messages[0]
    assert not (root / "source" / "graders" / "conftest.py").exists()
    assert not _alive(token)


def _alive(name: str) -> list[str]:
    """Live processes of that name (zombies, killed and waiting for their reaper, do not count)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "comm").read_text().strip() == name and \
                    (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X"):
                found.append(entry.name)
        except (OSError, IndexError):
            continue
    return found


def test_a_grader_killed_midway_leaves_results_that_say_so(bundle, tmp_path):
    """results.json says "did not finish" from the start; only the grader's own final write replaces it."""
    root = _autograder(tmp_path, bundle, {"07_backpropagation.py": "import time\ntime.sleep(60)\n"})
    env = {**os.environ, "NNGRADE_AUTOGRADER_ROOT": str(root), "NNGRADE_PYTHON": sys.executable}
    proc = subprocess.Popen([str(root / "run_autograder")], cwd=root, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    results = root / "results" / "results.json"
    deadline = time.monotonic() + 60
    while not results.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    left = json.loads(results.read_text())
    jsonschema.validate(left, RESULTS_SCHEMA)
    assert left["score"] == 0 and "did not finish" in left["output"] and left["visibility"] == "visible"


# The attacks that aim at the grader's process, files and results, as Gradescope runs them: one container each.
THROUGH_AUTOGRADER = ("write_report", "write_grader", "read_reference", "import_reference", "kill_grader",
                      "setsid_escape", "forge_channel", "forge_values", "lone_surrogate", "terminal_escapes",
                      "huge_int", "farm_tiny_07")


@pytest.fixture(scope="module")
def bundle_as_gradescope_runs_it(tmp_path_factory) -> Path:
    """Gradescope's container is root without bubblewrap: `auto` ends at the user level there (process elsewhere)."""
    out = tmp_path_factory.mktemp("gradescope-bundle") / "autograder.zip"
    result = run_cli("gradescope", "--out", str(out), "--seed", "29", "--timeout", "3", "--exercises", "07",
                     "--isolation", "process")
    assert result.returncode == 0, result.stderr
    return out


@pytest.mark.parametrize("name", THROUGH_AUTOGRADER)
def test_hostile_submissions_through_run_autograder(bundle_as_gradescope_runs_it, tmp_path, name):
    from test_hostile import HOSTILE, _leftovers, _stage
    item = HOSTILE[name]
    from nngrade.run import sandbox
    if not item.held_at(sandbox.choose(sandbox.PROCESS)):
        pytest.skip(f"held only at the {item.contained} level")
    root = _autograder(tmp_path, bundle_as_gradescope_runs_it, {})
    shutil.rmtree(root / "submission")
    token = _stage(name, item, root / "submission", root / "results" / "results.json")
    results = _run(root)
    text = (root / "results" / "results.json").read_text()
    assert "forged" not in text and results["score"] <= item.max_score
    report = json.loads((root / "results" / "nngrade-report.json").read_text())
    jsonschema.validate(report, REPORT_SCHEMA)
    assert report["score"] == results["score"] and not _leftovers(token)
    assert not (root / "source" / "graders" / "conftest.py").exists()
