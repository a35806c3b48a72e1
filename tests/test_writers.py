"""The writers: every LMS format rendered from real canonical reports, validated against schemas from the specs."""
from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET

import jsonschema
import pytest

import junit_rules
from helpers import REPO, edited_reference, grade_files, reference_source
from nngrade.reports.writers import files, gradebook, gradescope, junit, lti, student_html, summary, summary_html

SCHEMAS = REPO / "nngrade" / "schema"


def _schema(name: str) -> dict:
    schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, dict]:
    """Canonical reports of real grading runs: right, wrong, broken, chatty, and nothing submitted."""
    root = tmp_path_factory.mktemp("writers")
    wrong_07 = edited_reference("07", "output_error_term = error * output * (1 - output)",
                                "output_error_term = error")
    chatty = 'print("bell\\a nul\\x00 escape\\x1b[31m <tag> & ]]>")\n' + reference_source("04")
    submissions = {
        "right": {"04": reference_source("04"), "07": reference_source("07")},
        "wrong": {"04": reference_source("04"), "07": wrong_07},
        "broken": {"04": "def gradient_step(:\n", "07": "raise RuntimeError('at import')\n"},
        "chatty": {"04": chatty, "07": reference_source("07")},
    }
    graded = {name: grade_files(files_, root / name, timeout=5.0).to_dict() for name, files_ in submissions.items()}
    from nngrade.cli import find_tasks
    from nngrade.judge.grading import Task, grade
    empty = [Task(t.exercise, None) for t in find_tasks(["04", "07"], True, root / "right")]
    graded["nothing"] = grade(empty, 7, None, submission=str(root / "nothing")).to_dict()
    return graded


def test_the_fixture_covers_the_cases_the_writers_must_handle(reports):
    assert reports["right"]["score"] == reports["right"]["max_score"]
    assert 0 < reports["wrong"]["score"] < reports["wrong"]["max_score"]
    assert reports["broken"]["score"] == 0 and all(e["problem"] for e in reports["broken"]["exercises"])
    chatty = reports["chatty"]["exercises"][0]["output"]   # made safe where it entered: shown, not obeyed
    assert "<tag> & ]]>" in chatty and "\ufffd" in chatty and not any(c in chatty for c in "\x00\x07\x1b")
    assert all(e["file"] is None for e in reports["nothing"]["exercises"])


# --- Gradescope --------------------------------------------------------------------------------

def test_gradescope_results_validate_and_keep_every_check_and_point(reports):
    schema = _schema("gradescope-results.schema.json")
    for report in reports.values():
        results = gradescope.to_gradescope(report)
        jsonschema.validate(results, schema)
        checks = [c for e in report["exercises"] for c in e["checks"]]
        assert len(results["tests"]) == len(checks)
        assert results["score"] == report["score"] == sum(t["score"] for t in results["tests"])
        assert sum(t["max_score"] for t in results["tests"]) == report["max_score"]
        assert len({t["number"] for t in results["tests"]}) == len(checks)
        for test, check in zip(results["tests"], checks):
            assert test["status"] == ("passed" if check["status"] == "passed" else "failed")
            assert test["visibility"] == ("after_published" if check["visibility"] == "hidden" else "visible")


def test_gradescope_hidden_visibility_is_a_choice_and_checked(reports):
    results = gradescope.to_gradescope(reports["wrong"], hidden_visibility="after_due_date")
    assert {t["visibility"] for t in results["tests"]} == {"visible", "after_due_date"}
    with pytest.raises(ValueError):
        gradescope.to_gradescope(reports["wrong"], hidden_visibility="later")


def test_gradescope_output_says_why_a_file_failed(reports):
    results = gradescope.to_gradescope(reports["broken"])
    assert "SyntaxError" in results["output"] and "Visible checks: 0 / 20" in results["output"]
    assert results["tests"][0]["output"].startswith("error: ")


def test_gradescope_output_totals_only_what_students_may_see(reports):
    # "wrong": 04 right, 07 without the sigmoid derivative (output_error_term wrong on all four cases).
    # Visible: lesson and handout, 5 quantities each: 04 10 of 10, 07 8 of 10. With hidden: 20 + 16 of 40.
    hidden_later = gradescope.to_gradescope(reports["wrong"])["output"]
    assert "07 Backpropagation: one weight update: 8 / 10 on the visible checks" in hidden_later
    assert "Visible checks: 18 / 20; hidden checks (20 points)" in hidden_later
    assert "36" not in hidden_later and "16" not in hidden_later and "Total" not in hidden_later
    assert "Visible checks: 18 / 20" in gradescope.to_gradescope(reports["wrong"], "after_due_date")["output"]
    shown = gradescope.to_gradescope(reports["wrong"], hidden_visibility="visible")["output"]
    assert "07 Backpropagation: one weight update: 16 / 20" in shown and "Total: 36 / 40" in shown


def test_the_seed_reaches_no_student(reports):
    # Gradescope's results (output, tests, extra_data) and the LTI comment all reach students; the class's
    # seed would let a probe recognise the hidden cases. It stays in the canonical report only.
    report = {**reports["wrong"], "seed": 918273645}
    for visibility in gradescope.VISIBILITIES:
        results = gradescope.to_gradescope(report, hidden_visibility=visibility)
        assert "918273645" not in json.dumps(results)
        assert "seed" not in results["output"] and "seed" not in results["extra_data"]["nngrade"]
    comment = lti.to_lti_score(report, "u", lti.iso_timestamp())["comment"]
    assert "918273645" not in comment and "seed" not in comment


def test_the_schema_rejects_what_gradescope_would_reject(reports):
    schema = _schema("gradescope-results.schema.json")
    good = gradescope.to_gradescope(reports["right"])
    for bad in ({**good, "visibility": "sometimes"}, {**good, "tests": [{**good["tests"][0], "status": "error"}]},
                {**good, "tests": [{**good["tests"][0], "points": 1}]}, {"tests": [{"name": "no score"}]}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)


# --- LTI ---------------------------------------------------------------------------------------

def test_lti_scores_validate(reports):
    schema = _schema("lti-ags-score.schema.json")
    stamp = lti.iso_timestamp()
    for name, report in reports.items():
        for complete in (True, False):
            score = lti.to_lti_score(report, f"user-{name}", stamp, complete=complete)
            jsonschema.validate(score, schema)
            assert len(score["comment"]) <= lti.COMMENT_LIMIT
        score = lti.to_lti_score(report, f"user-{name}", stamp)
        if name != "nothing":
            assert (score["scoreGiven"], score["scoreMaximum"]) == (report["score"], report["max_score"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", stamp)


def test_lti_progress_says_nothing_submitted_and_failed_grading(reports):
    # AGS: FullyGraded is the only final state, the one a platform records scoreGiven of; nothing submitted is
    # Initialized / NotReady ("no grading process is occurring"), a grading that failed is Failed. Neither
    # carries a score: a placeholder 0 recorded by a platform would be a grade nobody earned.
    stamp = lti.iso_timestamp()
    graded = lti.to_lti_score(reports["broken"], "u", stamp)      # submitted and wrong: a real, final 0
    assert (graded["activityProgress"], graded["gradingProgress"], graded["scoreGiven"]) == ("Completed", "FullyGraded", 0)
    nothing = lti.to_lti_score(reports["nothing"], "u", stamp)
    assert (nothing["activityProgress"], nothing["gradingProgress"]) == ("Initialized", "NotReady")
    assert "scoreGiven" not in nothing and "scoreMaximum" not in nothing
    failed = lti.to_lti_score(reports["right"], "u", stamp, complete=False)
    assert failed["gradingProgress"] == "Failed" and "scoreGiven" not in failed
    faulty = {**reports["right"], "grader_error": "07 backprop_step.error[lesson]: internal grader error: KeyError"}
    assert lti.to_lti_score(faulty, "u", stamp)["gradingProgress"] == "Failed"
    assert "scoreGiven" not in lti.to_lti_score(faulty, "u", stamp)
    assert "not a grade yet" in gradescope.to_gradescope(faulty)["output"]
    assert "not a grade" not in gradescope.to_gradescope(reports["right"])["output"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**lti.to_lti_score(reports["right"], "u", stamp), "timestamp": "yesterday"},
                            _schema("lti-ags-score.schema.json"))


# --- JUnit -------------------------------------------------------------------------------------

def test_junit_satisfies_ant_jenkins_and_gitlab_and_counts_failures_and_errors(reports):
    for report in reports.values():
        root = junit_rules.check(junit.to_junit(report, "2026-11-26T05:59:06.378+01:00"))
        checks = [c for e in report["exercises"] for c in e["checks"]]
        suites = root.findall("testsuite")
        assert root.tag == "testsuites" and not root.attrib            # Ant allows no attribute there
        assert [int(s.get("id")) for s in suites] == list(range(len(report["exercises"])))
        assert {s.get("timestamp") for s in suites} == {"2026-11-26T04:59:06"}   # UTC, to the second
        assert sum(int(s.get("tests")) for s in suites) == len(checks) == len(root.findall(".//testcase"))
        assert sum(int(s.get("failures")) for s in suites) == sum(c["status"] in ("failed", "not_implemented")
                                                                 for c in checks)
        assert sum(int(s.get("errors")) for s in suites) == sum(c["status"] in ("error", "timeout") for c in checks)
        assert len(root.findall(".//failure")) + len(root.findall(".//error")) == \
            sum(c["status"] != "passed" for c in checks)


def test_junit_times_are_the_reports_own(reports):
    for report in reports.values():
        root = ET.fromstring(junit.to_junit(report).encode("utf-8"))
        for suite, exercise in zip(root.findall("testsuite"), report["exercises"]):
            assert float(suite.get("time")) == pytest.approx(exercise["seconds"], abs=1e-6)
            cases = [float(case.get("time")) for case in suite.findall("testcase")]
            assert sum(cases) == pytest.approx(exercise["seconds"], abs=1e-4)   # the file's run, shared by its checks
    assert any(float(case.get("time")) > 0 for case in ET.fromstring(
        junit.to_junit(reports["right"]).encode("utf-8")).iter("testcase"))


def test_junit_names_no_path_of_the_grading_machine_and_no_seed(reports):
    report = json.loads(json.dumps(reports["wrong"]))
    report["submission"] = "/srv/grading/class/alice"
    report["exercises"][0]["file"] = "/srv/grading/class/alice/sub/04_gradient_descent.py"
    report["exercises"][1]["file"] = "/tmp/nngrade-bulk-x1/unpacked/zip0/07_backpropagation.py"
    report["seed"] = 918273645
    text = junit.to_junit(report)
    junit_rules.check(text)
    files_ = [p.get("value") for p in ET.fromstring(text.encode("utf-8")).iter("property") if p.get("name") == "file"]
    assert files_ == ["sub/04_gradient_descent.py", "07_backpropagation.py"]
    assert "/srv" not in text and "/tmp" not in text and "918273645" not in text
    assert {s.get("hostname") for s in ET.fromstring(text.encode("utf-8")).iter("testsuite")} == {"localhost"}


def test_junit_survives_what_students_print(reports):
    text = junit.to_junit(reports["chatty"])
    root = junit_rules.check(text)
    out = root.find(".//system-out").text
    assert "<tag> & ]]>" in out and "\x00" not in out and "\ufffd" in out
    broken = junit_rules.check(junit.to_junit(reports["broken"]))
    assert "SyntaxError" in broken.find(".//system-err").text     # why the file could not be graded


def test_each_consumers_rules_refuse_what_that_consumer_refuses(reports):
    """The schemas can fail: each refuses a shape its consumer refuses (the old writer's among them)."""
    import xmlschema
    ant, jenkins = (xmlschema.XMLSchema(str(path)) for path in junit_rules.CONSUMER_SCHEMAS)
    good = junit.to_junit(reports["wrong"])
    ant.validate(good)
    jenkins.validate(good)
    for bad, refuses in (
            (good.replace("<testsuites>", '<testsuites tests="1" skipped="0">'), (ant, jenkins)),
            (good.replace(' id="0"', ""), (ant,)),                         # inside testsuites, id is required
            (good.replace(' hostname="localhost"', ""), (ant,)),
            (re.sub(r'timestamp="[^"]*"', 'timestamp="2026-11-26T04:59:06+00:00"', good), (ant,)),
            (re.sub(r"<system-err\s*/>|<system-err>.*?</system-err>", "", good, flags=re.S), (ant,)),
            (good.replace('time="0.', 'time="1e-3 '), (ant, jenkins)),
            (good.replace('type="failed"', ""), (ant,))):
        for schema in refuses:
            assert not schema.is_valid(bad), (schema.url, bad[:300])
    duplicated = good.replace("[hidden-2]", "[hidden-1]")             # GitLab would merge the two tests
    with pytest.raises(AssertionError):
        junit_rules.check(duplicated)


# --- gradebook ---------------------------------------------------------------------------------

def _graded(reports: dict[str, dict]):
    return (({"id": name, "name": name, "page": None}, report) for name, report in reports.items())


def _exercises(report: dict) -> list[dict]:
    return [{"id": e["id"], "title": e["title"], "max_score": e["max_score"]} for e in report["exercises"]]


def canvas_assignment_columns(header: list[str]) -> list[str]:
    """The columns Canvas's gradebook importer makes assignments of (its rules, written out independently):
    the student columns are Student, ID (+ SIS User ID, SIS Login ID), and the last must be Section; every
    later column is an assignment unless its header contains one of Canvas's computed columns."""
    assert "Student" in header[0] and "ID" in header[1]
    student_columns = 3
    if re.search(r"SIS\s+Login\s+ID", header[2]):
        student_columns += 1
    elif re.search(r"SIS\s+User\s+ID", header[2]) and re.search(r"SIS\s+Login\s+ID", header[3]):
        student_columns += 2
    assert "Section" in header[student_columns - 1]
    computed = ("Current Score", "Current Points", "Current Grade", "Final Score", "Final Points", "Final Grade",
                "Override Score", "Override Grade", "Override Status")
    return [h for h in header[student_columns:] if not any(c in h for c in computed)]


def test_gradebook_imports_into_canvas_as_exactly_one_assignment_per_exercise(reports, tmp_path):
    exercises = _exercises(reports["right"])
    students = [({"id": "alice", "name": "alice", "email": "", "canvas_id": "", "sis_id": ""}, reports["right"]),
                ({"id": "4242", "name": "doejohn", "email": "", "canvas_id": "4242", "sis_id": ""}, reports["wrong"]),
                ({"id": "s1", "name": "Ada, Lovelace", "email": "ada@x.edu", "canvas_id": "", "sis_id": "s1"},
                 reports["nothing"])]
    written = files.write_csv(tmp_path / "gradebook.csv", gradebook.to_rows(exercises, students))
    rows = list(csv.reader(io.StringIO((tmp_path / "gradebook.csv").read_text(encoding="utf-8"))))
    assert written == len(rows) == 2 + len(students)
    assert rows[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert canvas_assignment_columns(rows[0]) == [f"nngrade {e['id']} {e['title']}" for e in exercises]
    assert rows[1][0].strip() == "Points Possible" and [float(p) for p in rows[1][5:-1]] == [20.0, 20.0]
    assert rows[0][-1] == "Final Points" and rows[1][-1] == "(read only)"     # the total: shown, never imported
    assert rows[2][:4] == ["alice", "", "alice", ""] and float(rows[2][-1]) == reports["right"]["score"]
    assert rows[3][:4] == ["doejohn", "4242", "", ""] and float(rows[3][-1]) == reports["wrong"]["score"]
    assert rows[4][:4] == ["Ada, Lovelace", "", "s1", ""] and rows[4][5:] == ["0", "0", "0"]
    assert all(len(row) == len(rows[0]) for row in rows)


def test_gradebook_names_students_as_the_lms_did_and_never_puts_an_email_in_sis_user_id(reports, tmp_path):
    exercises = _exercises(reports["right"])
    students = [
        {"id": "bj_rn", "name": "björn", "email": "", "canvas_id": "", "sis_id": ""},                # plain folder
        {"id": "Zoe_Smith", "name": "Zoe Smith", "email": "", "canvas_id": "", "sis_id": ""},
        {"id": "zoe_x.edu", "name": "zoe@x.edu", "email": "", "canvas_id": "", "sis_id": ""},        # folder named by email
        {"id": "ann_x.edu", "name": "Ann Lee", "email": "ann@x.edu", "canvas_id": "", "sis_id": ""},  # Gradescope, no sid
        {"id": "bo_x.edu", "name": "Bo", "email": "bo@x.edu", "canvas_id": "", "sis_id": "bo@x.edu"},  # a sid that is an email
        {"id": "alice~2", "name": "alice", "email": "", "canvas_id": "", "sis_id": ""},               # renamed: matches nobody
    ]
    files.write_csv(tmp_path / "g.csv", gradebook.to_rows(exercises, [(st, reports["right"]) for st in students]))
    rows = list(csv.reader(io.StringIO((tmp_path / "g.csv").read_text(encoding="utf-8"))))[2:]
    assert [row[0] for row in rows] == ["björn", "Zoe Smith", "zoe@x.edu", "Ann Lee", "Bo", "alice~2"]
    assert [row[2] for row in rows] == ["björn", "Zoe Smith", "", "", "", ""]
    assert not any("@" in row[2] or row[3] for row in rows)


def test_bulk_keeps_a_plain_folders_own_name_for_the_gradebook(tmp_path):
    from nngrade.bulk import ingest
    for name in ("björn", "Zoe Smith"):
        (tmp_path / name).mkdir()
    found = {st.id: st.name for sub in ingest.discover(tmp_path) for st in sub.students}
    assert found == {"bj_rn": "björn", "Zoe_Smith": "Zoe Smith"}


# --- class summary -----------------------------------------------------------------------------

def test_summary_counts_scores_checks_and_problems(reports):
    exercises = _exercises(reports["right"])
    result = summary.to_summary(_graded(reports), exercises, {"seed": 7, "exercises": ["04", "07"]})
    assert result["students"] == len(reports) == sum(result["histogram"]["counts"])
    assert result["nothing_gradable"] == 1
    assert result["scores"]["full_marks"] == 2 and result["scores"]["zero"] == 2   # right, chatty; broken, nothing
    assert result["histogram"]["counts"][-1] == sum(r["score"] >= 0.9 * r["max_score"] for r in reports.values())
    assert result["histogram"]["counts"][0] == 2
    ex07 = next(e for e in result["exercises"] if e["id"] == "07")
    assert ex07["submitted"] == 4 and {p["problem"] for p in ex07["problems"]} >= {"RuntimeError"}
    wrong_check = next(c for c in result["checks"] if c["exercise"] == "07" and c["name"].startswith(
        "backprop_step.output_error_term[lesson"))
    assert wrong_check["submitted"] == 4 and wrong_check["failure_rate"] == 0.5   # wrong and broken
    assert summary.problem_kind("SyntaxError at line 3: invalid syntax") == "SyntaxError"


def test_summary_counts_a_misconception_once_per_student():
    check = {"name": "f.q[lesson]", "function": "f", "quantity": "q", "case": "lesson", "visibility": "visible",
             "status": "failed", "score": 0.0, "max_score": 1.0, "message": "", "misconception": "forgot-derivative"}
    report = {"score": 0.0, "max_score": 2.0, "exercises": [{"id": "07", "title": "t", "file": "f.py", "problem": None,
              "score": 0.0, "max_score": 2.0, "checks": [check, {**check, "name": "f.q[hidden-1]", "case": "hidden-1"}]}]}
    result = summary.to_summary([({"id": "a"}, report), ({"id": "b"}, report)],
                                [{"id": "07", "title": "t", "max_score": 2.0}], {})
    assert result["misconceptions"] == [{"exercise": "07", "quantity": "q", "quantities": ["q"],
                                         "misconception": "forgot-derivative", "title": "forgot-derivative",
                                         "count": 2, "students": ["a", "b"]}]


def test_summary_html_is_self_contained_with_plots_and_escapes_names(reports):
    exercises = _exercises(reports["right"])
    result = summary.to_summary(_graded(reports), exercises, {"seed": 7, "exercises": ["04", "07"]})
    result["quantities"][0]["quantity"] = "<script>alert(1)</script>"
    page = summary_html.to_html(result)
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert page.count("<svg") == 1           # the histogram
    assert page.count("<script") == page.count(summary_html.SCRIPT_ELEMENT) == 1 and "&lt;script&gt;" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)   # nothing fetched
    assert "@import" not in page and "url(" not in page
    for svg in re.findall(r"<svg.*?</svg>", page, flags=re.S):
        assert ET.fromstring(svg).tag.endswith("svg")      # inline SVG must be well-formed XML


def test_an_empty_class_still_has_a_summary():
    result = summary.to_summary([], [{"id": "07", "title": "t", "max_score": 20.0}], {})
    assert result["students"] == 0 and result["scores"]["mean"] is None
    assert "No student submitted" in summary_html.to_html(result)


# --- the committed examples the README quotes --------------------------------------------------

EXAMPLES = REPO / "docs" / "examples"


def test_the_documented_examples_validate():
    jsonschema.validate(json.loads((EXAMPLES / "gradescope-results.json").read_text()),
                        _schema("gradescope-results.schema.json"))
    jsonschema.validate(json.loads((EXAMPLES / "lti-score.json").read_text()), _schema("lti-ags-score.schema.json"))
    junit_rules.check_file(EXAMPLES / "junit.xml")
    rows = list(csv.reader(io.StringIO((EXAMPLES / "gradebook.csv").read_text(encoding="utf-8"))))
    assert rows[0][:5] == list(gradebook.STUDENT_COLUMNS) and rows[1][0] == gradebook.POINTS_POSSIBLE
    assert canvas_assignment_columns(rows[0]) == [c for c in rows[0][5:] if c.startswith("nngrade ")]
    example = json.loads((EXAMPLES / "summary.json").read_text())
    assert example["students"] == len(rows) - 2 == sum(example["histogram"]["counts"])
    assert (EXAMPLES / "summary.html").read_text() == summary_html.to_html(example), \
        "the page changed: re-render docs/examples/summary.html from summary.json with summary_html.to_html"


# --- hostile texts: each writer escapes for its own format -------------------------------------

HOSTILE_TEXT = "=HYPERLINK(\"http://x\")\x1b[2J\x1b[HTotal: 20 / 20\r\n\ud800<script>alert(1)</script>\x00\a]]>\u202e"
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\ufffe\uffff]")


def write_every_format(report: dict, student: dict, folder) -> dict[str, str]:
    """Write `report` in every format bulk writes, through files.*, and validate each against its schema;
    returns the texts written. A report any submission can produce must pass this."""
    exercises = _exercises(report)
    files.write_json(folder / "report.json", report)
    jsonschema.validate(json.loads((folder / "report.json").read_text(encoding="utf-8")), _schema("report.schema.json"))
    files.write_json(folder / "gradescope.json", gradescope.to_gradescope(report))
    jsonschema.validate(json.loads((folder / "gradescope.json").read_text(encoding="utf-8")),
                        _schema("gradescope-results.schema.json"))
    files.write_json(folder / "lti.json", lti.to_lti_score(report, student["id"], lti.iso_timestamp()))
    jsonschema.validate(json.loads((folder / "lti.json").read_text(encoding="utf-8")), _schema("lti-ags-score.schema.json"))
    files.write_text(folder / "junit.xml", junit.to_junit(report))
    junit_rules.check_file(folder / "junit.xml")
    files.write_csv(folder / "gradebook.csv", gradebook.to_rows(exercises, [(student, report)]))
    rows = list(csv.reader(io.StringIO((folder / "gradebook.csv").read_text(encoding="utf-8"))))
    assert len(rows) == 3 and all(len(row) == len(rows[0]) for row in rows)
    for cell in (c for row in rows for c in row):
        assert not re.match("[=+@\t\r\n]|-(?![0-9.]+$)", cell), cell          # no formula for a spreadsheet
    class_summary = summary.to_summary([({**student, "page": "students/x.html"}, report)], exercises,
                                       {"seed": report["seed"], "warnings": [HOSTILE_TEXT]})
    files.write_json(folder / "summary.json", class_summary)
    files.write_text(folder / "summary.html", summary_html.to_html(class_summary))
    files.write_text(folder / "student.html", student_html.to_html(report, student))
    texts = {p.name: p.read_text(encoding="utf-8") for p in folder.iterdir()}
    for name, text in texts.items():
        if name != "report.json" and not name.endswith(".json"):
            assert not CONTROL.search(text.replace("\n", "").replace("\t", "")), (name, CONTROL.search(text))
    page = texts["summary.html"]
    assert page.count("<script") == page.count(summary_html.SCRIPT_ELEMENT) == 1 and "\x1b" not in page
    assert "<script" not in texts["student.html"] and "\x1b" not in texts["student.html"]
    for svg in re.findall(r"<svg.*?</svg>", page, flags=re.S):
        ET.fromstring(svg)
    from nngrade.reports.results import CheckResult, ExerciseResult, Report
    from nngrade.reports.terminal import render
    shown = render(Report(exercises=tuple(ExerciseResult(**{**{k: v for k, v in e.items() if k not in (
        "checks", "score", "max_score")}, "checks": tuple(CheckResult(**c) for c in e["checks"])})
        for e in report["exercises"]), **{k: report[k] for k in ("seed", "submission", "data", "isolation", "timings",
                                                                  "versions", "notices", "mode")}))
    assert not CONTROL.search(shown.replace("\n", "").replace("\t", "")) and "\x1b" not in shown
    assert shown.splitlines()[-2].startswith("Total: ")            # the only line that starts with a total
    assert sum(line.startswith("Total:") for line in shown.splitlines()) == 1
    return texts


def test_every_writer_escapes_hostile_texts_that_bypassed_ingest(reports, tmp_path):
    """Texts are made safe where they enter; a report from elsewhere (an old one, a hand-edited one) must
    still render inert in every format."""
    report = json.loads(json.dumps(reports["wrong"]))
    report["submission"] = report["notices"] = None
    report["submission"], report["notices"] = HOSTILE_TEXT, [HOSTILE_TEXT]
    for exercise in report["exercises"]:
        exercise.update(file=HOSTILE_TEXT, problem=HOSTILE_TEXT, output=HOSTILE_TEXT * 3)
        for check in exercise["checks"]:
            check["message"] = HOSTILE_TEXT if check["status"] != "passed" else ""
    student = {"id": "mallory", "name": HOSTILE_TEXT, "email": "@SUM(1+1)", "canvas_id": "", "sis_id": "-2+3"}
    texts = write_every_format(report, student, tmp_path)
    rows = list(csv.reader(io.StringIO(texts["gradebook.csv"])))
    assert rows[2][0].startswith("'=HYPERLINK") and rows[2][2] == "'-2+3"
    assert "&lt;script&gt;" in texts["summary.html"]


def test_writers_keep_numbers_and_plain_names_as_they_are(reports, tmp_path):
    student = {"id": "s-1", "name": "Ada Lovelace", "email": "ada@x.edu", "canvas_id": "", "sis_id": "s-1"}
    texts = write_every_format(reports["right"], student, tmp_path)
    rows = list(csv.reader(io.StringIO(texts["gradebook.csv"])))
    assert rows[2][:4] == ["Ada Lovelace", "", "s-1", ""]
    assert files.csv_cell("-1.5") == "-1.5" and files.csv_cell("-") == "'-"
