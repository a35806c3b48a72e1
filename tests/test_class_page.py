"""The class page (summary.html) and the students' feedback pages (students/<name>.html).

A small class of hand-built reports, whose expected rows, mistakes and failure rates are worked out by
hand below (not read from the code under test); a real bulk run for the files on disk; and a real
browser, where one is installed (headless Chromium), for the layout at 1280 px and the sorting script.
"""
from __future__ import annotations

import base64
import glob
import hashlib
import html
import json
import os
import re
import shutil
import signal
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote, unquote

import pytest

from helpers import REPO
from nngrade.reports.writers import student_html, summary, summary_html
from nngrade.reports.writers.student_html import page_name

ROOT = "/srv/grading/secret-class"     # the grading machine's folders: never on a student's page
SEED = 987654
HOSTILE = '<script>alert("x")</script>\'q\' \u05d0\u05d1\u05d2 ' + "W" * 400 + "\u202e"


def _check(function, quantity, case, status="passed", misconception=None, message=""):
    return {"name": f"{function}.{quantity}[{case}]", "function": function, "quantity": quantity, "case": case,
            "visibility": "visible" if case == "lesson" else "hidden", "status": status,
            "score": 1.0 if status == "passed" else 0.0, "max_score": 1.0, "message": message,
            "follow_through": False, "misconception": misconception}


def _exercise(student, exercise_id, function, statuses, problem=None, submitted=True, misconceptions=None,
              messages=None):
    """`statuses`: quantity -> (lesson status, hidden-1 status)."""
    misconceptions, messages = misconceptions or {}, messages or {}
    checks = [_check(function, quantity, case, status, misconceptions.get((quantity, case)),
                     messages.get((quantity, case), "" if status == "passed" else f"{quantity} is wrong"))
              for quantity, pair in statuses.items() for case, status in zip(("lesson", "hidden-1"), pair)]
    stem = {"04": "04_gradient_step", "07": "07_backpropagation"}[exercise_id]
    return {"id": exercise_id, "title": f"Exercise {exercise_id}", "file": f"{ROOT}/{student}/{stem}.py" if submitted
            else None, "problem": problem, "output": "", "seconds": 0.1, "pending_hidden": 0,
            "score": sum(c["score"] for c in checks), "max_score": float(len(checks)), "checks": checks}


def _report(student, exercises, notices=()):
    return {"schema_version": "1.0", "score": sum(e["score"] for e in exercises),
            "max_score": sum(e["max_score"] for e in exercises), "submission": f"{ROOT}/{student}", "mode": "full",
            "grader_error": None, "seed": SEED, "isolation": "bubblewrap", "data": {}, "notices": list(notices),
            "timings": {"total_seconds": 0.2}, "versions": {}, "exercises": list(exercises)}


P, F, E, T, N = "passed", "failed", "error", "timeout", "not_implemented"
NO_FILE_04 = "no file 04_gradient_step.py (or 04*.py) in the submission"
NO_FILE_07 = "no file 07_backpropagation.py (or 07*.py) in the submission"
COLLISION = f"student id 'Eve.Z' is taken by another entry ({ROOT}/s-ben): {ROOT}/Eve.Z is reported as 'Eve.Z~2'"
STUDENTS = {   # id -> (name, report)
    "s-ana": ("Ana Q", _report("s-ana", [_exercise("s-ana", "04", "g", {"a": (P, P), "b": (P, P)}),
                                         _exercise("s-ana", "07", "f", {"q1": (P, P), "q2": (P, P)})])),
    "s-ben": ("Ben Q", _report("s-ben", [
        _exercise("s-ben", "04", "g", {"a": (P, P), "b": (P, P)}),
        # one mistake that reaches a downstream quantity: one mistake of one student, not four
        _exercise("s-ben", "07", "f", {"q1": (F, F), "q2": (F, F)},
                  misconceptions={(q, c): "flipped_error" for q in ("q1", "q2") for c in ("lesson", "hidden-1")})])),
    "s-cy": ("Cy Q", _report("s-cy", [
        _exercise("s-cy", "04", "g", {"a": (E, E), "b": (E, E)}, problem=NO_FILE_04, submitted=False),
        _exercise("s-cy", "07", "f", {"q1": (E, E), "q2": (E, E)}, problem=NO_FILE_07, submitted=False)],
        notices=["nothing gradable submitted: no .py or .ipynb file found"])),
    "s-dee": ("Dee Q", _report("s-dee", [
        _exercise("s-dee", "04", "g", {"a": (T, T), "b": (T, T)}, problem="did not finish within the time limit"),
        _exercise("s-dee", "07", "f", {"q1": (P, P), "q2": (P, F)},
                  messages={("q2", "hidden-1"): "HIDDEN-SECRET: 'q2' is wrong: expected 3.5, got 2.5"})])),
    "Eve.Z~2": (HOSTILE, _report("Eve.Z~2", [
        _exercise("Eve.Z~2", "04", "g", {"a": (N, N), "b": (N, N)}),
        _exercise("Eve.Z~2", "07", "f", {"q1": (P, P), "q2": (F, P)},
                  misconceptions={("q2", "lesson"): "flipped_error"})],
        notices=[COLLISION, "submitted late", f"{ROOT}/Eve.Z~2/deep: folders more than 32 levels deep were not searched"])),
}
NOT_GRADED = {"s-fay": ("Fay Q", _report("s-fay", [
    _exercise("s-fay", "04", "g", {"a": (E, E), "b": (E, E)}, submitted=False,
              problem="not graded: the process grading it died twice; it will be graded again on the next run")]))}
EXERCISES = [{"id": "04", "title": "Exercise 04", "max_score": 4.0}, {"id": "07", "title": "Exercise 07", "max_score": 4.0}]


# a run of the whole lesson has five columns of exercises: the widest table
ALL_FIVE = sorted(EXERCISES + [{"id": i, "title": f"Exercise {i} " + "long " * 12, "max_score": 4.0}
                               for i in ("05", "06", "08")], key=lambda e: e["id"])


def _summary(exercises: list[dict] = EXERCISES) -> dict:
    graded = (({"id": i, "name": name, "page": f"students/{page_name(i)}"}, report)
              for i, (name, report) in STUDENTS.items())
    not_graded = (({"id": i, "name": name}, report) for i, (name, report) in NOT_GRADED.items())
    return summary.to_summary(graded, exercises, {"seed": SEED, "exercises": [e["id"] for e in exercises],
                                                  "not_graded": list(NOT_GRADED)}, not_graded)


# --- the table of students ---------------------------------------------------------------------

def test_one_row_per_student_with_scores_problems_and_mistakes():
    roster = {row["id"]: row for row in _summary()["roster"]}
    assert set(roster) == set(STUDENTS) | set(NOT_GRADED)
    # worked out by hand from the reports above: 1 point per case, 2 cases, 2 quantities per exercise
    expected = {"s-ana": (8, [4, 4], []), "s-ben": (4, [4, 0], []), "s-cy": (0, [0, 0], ["04: no file", "07: no file"]),
                "s-dee": (3, [0, 3], ["04: timeout"]), "Eve.Z~2": (3, [0, 3], ["04: not started"])}
    for student, (total, per_exercise, problems) in expected.items():
        row = roster[student]
        assert (row["score"], row["max_score"], row["graded"]) == (total, 8, True), student
        assert [e["score"] for e in row["exercises"]] == per_exercise, student
        assert [f"{p['exercise']}: {p['problem']}" for p in row["problems"]] == problems, student
        assert row["page"] == f"students/{page_name(student)}" and row["name"] == STUDENTS[student][0]
    assert [(m["exercise"], m["misconception"], m["quantities"]) for m in roster["s-ben"]["misconceptions"]] == [
        ("07", "flipped_error", ["q1", "q2"])]
    assert [m["quantities"] for m in roster["Eve.Z~2"]["misconceptions"]] == [["q2"]]
    assert roster["s-fay"]["graded"] is False and roster["s-fay"]["score"] is None and roster["s-fay"]["page"] is None
    assert roster["s-fay"]["problems"] == [{"exercise": None, "problem": "not graded"}]


def test_the_table_is_in_need_order_links_each_page_and_escapes_names():
    page = summary_html.to_html(_summary())
    rows = _table_rows(page)
    # not graded first, then the lowest total; equal totals by name ('<' sorts before letters)
    assert [r["id"] for r in rows] == ["s-fay", "s-cy", "Eve.Z~2", "s-dee", "s-ben", "s-ana"]
    assert [r["cells"][1]["sort"] for r in rows] == ["-1", "0", "3", "3", "4", "8"]
    for row in rows:
        links = row["cells"][0]["links"]
        assert links == ([] if row["id"] == "s-fay" else [f"students/{quote(page_name(row['id']))}"]), row["id"]
    eve = next(r for r in rows if r["id"] == "Eve.Z~2")
    assert [c["text"] for c in eve["cells"][2:4]] == ["0 not started", "3"]
    assert "the error has the wrong sign" in eve["cells"][4]["text"] and eve["cells"][4]["sort"] == "1"
    assert rows[1]["cells"][5]["text"] == "no file: 04, 07" and rows[1]["cells"][5]["sort"] == "2"
    assert rows[0]["cells"][1]["text"] == "not graded"
    # the hostile name is text: its tags escaped, its bidirectional override gone, its length kept readable
    assert "<script>alert" not in page and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#x27;q&#x27;" in page
    assert "\u202e" not in page and "\u05d0\u05d1\u05d2" in page
    assert page.count("<script") == 1 and page.count(summary_html.SCRIPT_ELEMENT) == 1


def test_the_page_fetches_nothing_and_runs_only_its_own_script():
    page = summary_html.to_html(_summary())
    assert not re.search(r"""\b(src|srcset|data|action|poster)\s*=""", page)
    assert not re.search(r"""href\s*=\s*["']?\s*(https?:|//|javascript:|data:)""", page, flags=re.I)
    assert "@import" not in page and "url(" not in page
    policy = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', page).group(1)
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'none'" and "unsafe-inline" not in directives["script-src"]
    script = re.search(r"<script>(.*?)</script>", page, flags=re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert directives["script-src"] == f"'sha256-{digest}'"      # the one inline script, by its hash


# --- mistakes, once per student ----------------------------------------------------------------

def test_misconceptions_count_students_not_quantities_and_name_who():
    result = _summary()
    assert result["misconceptions"] == [{
        "exercise": "07", "misconception": "flipped_error", "title": "the error has the wrong sign",
        "quantity": "q1", "quantities": ["q1", "q2"], "count": 2, "students": ["s-ben", "Eve.Z~2"]}]
    page = summary_html.to_html(result)
    mistakes = page[page.index("<h2>Mistakes diagnosed</h2>"):page.index("<h2>Quantities")]
    assert mistakes.count("<tr>") == 2       # the header and one mistake
    assert f'href="students/{quote(page_name("s-ben"))}"' in mistakes
    assert f'href="students/{quote(page_name("Eve.Z~2"))}"' in mistakes
    assert "s-ana" not in mistakes and "s-dee" not in mistakes


# --- quantities by failure rate ----------------------------------------------------------------

def test_quantities_grouped_sorted_by_failure_rate_not_submitted_apart():
    quantities = [(q["exercise"], q["quantity"], q["submitted"], q["passed"], q["failed"], q["timeout"],
                   q["not_implemented"], q["not_submitted"], q["failure_rate"]) for q in _summary()["quantities"]]
    # 04: ana, ben right; dee timed out; eve did not start; cy submitted nothing (apart, not a failure)
    # 07 q1: ben wrong of 4 who submitted; q2: ben, dee (a hidden case only), eve wrong: most failed first
    assert quantities == [("04", "a", 4, 2, 0, 1, 1, 1, 0.5), ("04", "b", 4, 2, 0, 1, 1, 1, 0.5),
                          ("07", "q2", 4, 1, 3, 0, 0, 1, 0.75), ("07", "q1", 4, 3, 1, 0, 0, 1, 0.25)]
    page = summary_html.to_html(_summary())
    section = page[page.index("<h2>Quantities"):page.index("<h2>Score distribution")]
    assert section.index("<code>q2</code>") < section.index("<code>q1</code>")
    assert "did not submit" in section and "75%" in section and "hidden-1 50%" in section


# --- a student's own page ----------------------------------------------------------------------

def test_a_students_page_holds_that_student_only_and_nothing_a_student_may_not_see():
    others = [token for i, (name, _) in {**STUDENTS, **NOT_GRADED}.items() if i != "Eve.Z~2"
              for token in (i, name)]
    name, report = STUDENTS["Eve.Z~2"]
    page = student_html.to_html(report, {"id": "Eve.Z~2", "name": name})
    assert not [token for token in others if token in page]
    assert str(SEED) not in page and ROOT not in page and "taken by another entry" not in page
    assert "submitted late" in page and "&lt;script&gt;" in page and "<script" not in page
    assert "note: deep: folders more than 32 levels deep" in page
    assert "Total: 3 / 8" in page and "TODO still None" in page
    assert "Likely mistake" not in page or "diagnosis" in page
    dee = student_html.to_html(STUDENTS["s-dee"][1], {"id": "s-dee", "name": "Dee Q"})
    assert "04_gradient_step.py: did not finish within the time limit" in dee and ROOT not in dee
    assert "HIDDEN-SECRET" in dee and "<th>hidden-1</th>" in dee           # hidden cases, once released
    held = student_html.to_html(STUDENTS["s-dee"][1], {"id": "s-dee", "name": "Dee Q"}, hidden_shown=False)
    assert "HIDDEN-SECRET" not in held and "hidden-1" not in held
    assert "Total: 2 / 4" in held and "hidden checks (4 points)" in held      # the visible cases' points only
    policy = re.search(r'Content-Security-Policy" content="([^"]+)"', page).group(1)
    assert "default-src 'none'" in policy and "script-src" not in policy      # no script may run at all


def test_prints_are_shown_only_where_no_hidden_case_ran():
    report = json.loads(json.dumps(STUDENTS["s-dee"][1]))
    report["exercises"][1]["output"] = "PRINTED x=[0.123, 4.56]\n"      # what print(x) would show of an input
    page = student_html.to_html(report, {"id": "s-dee", "name": "Dee Q"})
    assert "PRINTED" not in page and "Your prints are not shown here" in page
    report["exercises"][1]["checks"] = [c for c in report["exercises"][1]["checks"] if c["visibility"] == "visible"]
    report["exercises"][1]["checks"][-1].update(status="failed", score=0.0, message="q2 is wrong")
    visible_only = student_html.to_html(report, {"id": "s-dee", "name": "Dee Q"})
    assert "PRINTED x=[0.123, 4.56]" in visible_only and "not shown here" not in visible_only


def test_the_page_shows_what_the_terminal_shows():
    from nngrade.reports.results import report_from_dict
    from nngrade.reports.terminal import Style, render
    for student in ("s-ben", "s-dee", "Eve.Z~2"):
        name, report = STUDENTS[student]
        shown = render(report_from_dict(report), style=Style())
        page = student_html.to_html(report, {"id": student, "name": name})
        text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())
        lines = [" ".join(line.split()) for line in shown.splitlines()[1:]]     # the header names the seed
        explained = [line for line in lines if line.startswith(("✗", "!", "TODO", "04_", "07_"))]
        assert explained, shown
        for line in explained:
            assert line in text, (student, line)
        grid = [line for line in lines if line.split(" ")[0] in ("a", "b", "q1", "q2")]
        for line in grid:      # the row and a mark per case, in the case's column
            quantity, *marks = line.split(" ")
            cells = re.search(rf'<td class="row">{quantity}</td>(.*?)</tr>', page).group(1)
            status_of = {mark: status for status, mark in Style().marks.items()}
            assert re.findall(r'<td class="(\w+)"', cells) == [status_of[m] for m in marks], (student, line)


# --- page file names ---------------------------------------------------------------------------

def test_page_names_are_safe_and_distinct_for_any_id():
    ids = ["alice", "Alice", "ALICE", "alice~2", "alice_2", "con", "CON", "nul.txt", "com1", ".hidden", "x.", "..",
           "", " ", "a/b", "a\\b", "a:b", "a%2Fb", "é", "e\u0301", "日本", "\u202e", "=", "~", "~~", "a=b", "x" * 300,
           "x" * 299 + "y", "-", "_", "a b", "a\x00b", "\ud800", "<script>", "~41lice"]
    names = [page_name(i) for i in ids]
    assert len({n.casefold() for n in names}) == len(ids)        # distinct, even where case is ignored
    for name in names:
        assert re.fullmatch(r"[a-z0-9._@+~=-]+\.html", name) and len(name.encode()) <= 200, name
        assert not name.startswith(".") and not re.match(r"(con|prn|aux|nul|com\d|lpt\d)(\.|$)", name), name
    assert page_name("alice") == "alice.html"                     # an ordinary id stays readable


# --- a real bulk run ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bulk_class(tmp_path_factory):
    from test_bulk import run_bulk
    root = tmp_path_factory.mktemp("classpage")
    folder = root / "class"
    reference = (REPO / "reference" / "07_backpropagation.py").read_text(encoding="utf-8")
    wrong = reference.replace("error = target - output  # SOLUTION", "error = output - target")
    for name, source in {"alice": reference, "bob": wrong, "Zoe Smith": wrong}.items():
        (folder / name).mkdir(parents=True)
        (folder / name / "07_backpropagation.py").write_text(source, encoding="utf-8")
    (folder / "erin").mkdir()
    import zipfile
    with zipfile.ZipFile(folder / "alice.zip", "w") as archive:     # its id is taken: reported as alice~2
        archive.writestr("07_backpropagation.py", wrong)
    out = root / "out"
    result = run_bulk(str(folder), "--out", str(out), "--exercises", "07", "--seed", "3", "--timeout", "10")
    return folder, out, result, run_bulk


def test_bulk_writes_a_page_per_student_and_the_class_page_links_them(bulk_class):
    folder, out, result, _ = bulk_class
    assert result.returncode == 0, result.stderr
    reports = {p.stem for p in (out / "reports").glob("*.json")}
    assert reports == {"alice", "alice~2", "bob", "Zoe_Smith", "erin"}
    assert {p.name for p in (out / "students").iterdir()} == {page_name(i) for i in reports}
    page = (out / "summary.html").read_text(encoding="utf-8")
    links = re.findall(r'href="(students/[^"]+)"', page)
    assert {unquote(link) for link in links} == {f"students/{page_name(i)}" for i in reports}
    assert all((out / unquote(link)).is_file() for link in links)
    for student in reports:
        text = (out / "students" / page_name(student)).read_text(encoding="utf-8")
        assert str(folder) not in text and "seed" not in text.lower(), student
        assert "taken by another entry" not in text, student
    bob = (out / "students" / "bob.html").read_text(encoding="utf-8")
    assert "Likely mistake: the error has the wrong sign" in bob and "Total: 16 / 20" in bob
    mistakes = json.loads((out / "summary.json").read_text(encoding="utf-8"))["misconceptions"]
    assert [(m["misconception"], sorted(m["students"])) for m in mistakes] == [
        ("flipped_error", ["Zoe_Smith", "alice~2", "bob"])]
    assert "Zoe Smith" in page          # the name as the folder gave it


def test_a_rerun_removes_the_page_of_a_student_who_left_and_can_hold_hidden_cases(bulk_class):
    folder, out, first, run_bulk = bulk_class
    assert first.returncode == 0, first.stderr
    shutil.rmtree(folder / "erin")
    result = run_bulk(str(folder), "--out", str(out), "--hidden-visibility", "hidden")
    assert result.returncode == 0, result.stderr
    assert not (out / "students" / "erin.html").exists() and "students/erin.html" in result.stdout
    bob = (out / "students" / "bob.html").read_text(encoding="utf-8")
    assert "hidden-1" not in bob and "shown when they are released" in bob


# --- a real browser ----------------------------------------------------------------------------

def _browser() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if shutil.which(name):
            return shutil.which(name)
    found = sorted(glob.glob(os.path.expanduser("~/.cache/ms-playwright/chromium-*/chrome-linux/chrome")))
    return found[-1] if found else None


def _headless(browser: str, url: str, profile: Path, *flags: str) -> str:
    """Run the browser once on `url`, in a session of its own (all of it is ended on a timeout)."""
    process = subprocess.Popen([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                                f"--user-data-dir={profile}", "--window-size=1280,900", *flags, url],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        out, _ = process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise
    return out


PROBE = """
var table = document.querySelector("table.sortable"), heads = table.tHead.rows[0].cells;
function column(i) { return Array.prototype.map.call(table.tBodies[0].rows, function (r) {
  return r.cells[i].getAttribute("data-sort"); }); }
var probe = {width: document.documentElement.scrollWidth, buttons: table.querySelectorAll("th button").length};
heads[1].querySelector("button").click(); probe.up = column(1);
heads[1].querySelector("button").click(); probe.down = column(1);
document.body.setAttribute("data-probe", JSON.stringify(probe));
"""


def _probed(page: str) -> str:
    """The page with a probe script, allowed by the page's own policy beside the page's script."""
    digest = base64.b64encode(hashlib.sha256(PROBE.encode()).digest()).decode()
    page = re.sub(r"script-src ('sha256-[^']+')", rf"script-src \1 'sha256-{digest}'", page)
    return page.replace("</body>", f"<script>{PROBE}</script></body>")


@pytest.fixture(scope="module")
def browser():
    found = _browser()
    if not found:
        pytest.skip("no headless Chromium here (chromium, chromium-browser, google-chrome, playwright's)")
    return found


@pytest.mark.parametrize("exercises", [EXERCISES, ALL_FIVE], ids=["two-exercises", "five-exercises"])
def test_the_class_page_in_a_browser_fits_1280_px_and_sorts(browser, tmp_path, exercises):
    page = summary_html.to_html(_summary(exercises))
    (tmp_path / "summary.html").write_text(page, encoding="utf-8")
    (tmp_path / "probed.html").write_text(_probed(page), encoding="utf-8")
    dom = _headless(browser, (tmp_path / "probed.html").as_uri(), tmp_path / "profile", "--dump-dom")
    probe = json.loads(html.unescape(re.search(r'data-probe="([^"]*)"', dom).group(1)))
    assert probe["width"] <= 1280, probe                          # no horizontal scrolling at 1280 px
    assert probe["buttons"] == 2 + len(exercises) + 2             # student, total, each exercise, mistakes, problems
    up = [float(v) for v in probe["up"]]
    assert up == sorted(up) and up[0] == -1                       # the not graded one first
    assert [float(v) for v in probe["down"]] == sorted(up, reverse=True)
    # with scripts off (here: forbidden by the policy; headless Chromium ignores its own switch for that):
    # the same rows, in the order the page was written, and no dead buttons
    (tmp_path / "plain.html").write_text(re.sub(r"script-src '[^']+'", "script-src 'none'", page), encoding="utf-8")
    plain = _headless(browser, (tmp_path / "plain.html").as_uri(), tmp_path / "profile2", "--dump-dom")
    assert "<button" not in plain and [r["id"] for r in _table_rows(plain)] == [r["id"] for r in _table_rows(page)]
    shot = tmp_path / "summary.png"
    _headless(browser, (tmp_path / "summary.html").as_uri(), tmp_path / "profile3", f"--screenshot={shot}")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000


def test_a_students_page_in_a_browser_fits_1280_px(browser, tmp_path):
    name, report = STUDENTS["Eve.Z~2"]
    report = json.loads(json.dumps(report))
    report["exercises"][1]["output"] = "x" * 3000 + "\n" + "y " * 2000   # long prints, on failing checks
    report["exercises"][1]["checks"] = [c for c in report["exercises"][1]["checks"] if c["case"] == "lesson"]
    page = student_html.to_html(report, {"id": "Eve.Z~2", "name": name})
    probe = "document.body.setAttribute('data-width', document.documentElement.scrollWidth);"
    digest = base64.b64encode(hashlib.sha256(probe.encode()).digest()).decode()
    page = page.replace("default-src 'none';", f"default-src 'none'; script-src 'sha256-{digest}';")
    (tmp_path / "eve.html").write_text(page.replace("</body>", f"<script>{probe}</script></body>"), encoding="utf-8")
    assert "x" * 3000 in page                 # shown (no hidden case ran), and must fit
    dom = _headless(browser, (tmp_path / "eve.html").as_uri(), tmp_path / "profile", "--dump-dom")
    assert int(re.search(r'data-width="(\d+)"', dom).group(1)) <= 1280


# --- reading the table back --------------------------------------------------------------------

class _Rows(HTMLParser):
    """The rows of the students' table: per row its cells' text, data-sort and links."""

    def __init__(self):
        super().__init__()
        self.rows, self.depth, self.cell, self.in_table, self.in_body = [], 0, None, False, False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and "sortable" in (attrs.get("class") or ""):
            self.in_table = True
        elif self.in_table and tag == "tbody":
            self.in_body = True
        elif self.in_body and tag == "tr":
            self.rows.append([])
        elif self.in_body and tag == "td":
            self.cell = {"text": "", "sort": attrs.get("data-sort"), "links": []}
            self.rows[-1].append(self.cell)
        elif self.cell is not None and tag == "a":
            self.cell["links"].append(attrs["href"])
        elif self.cell is not None and tag in ("span", "br", "bdi"):
            self.cell["text"] += " "

    def handle_endtag(self, tag):
        if tag == "td":
            self.cell = None
        elif tag == "tbody":
            self.in_body = self.in_table = False

    def handle_data(self, data):
        if self.cell is not None:
            self.cell["text"] += data


def _table_rows(page: str) -> list[dict]:
    parser = _Rows()
    parser.feed(page)
    rows = []
    for cells in parser.rows:
        for cell in cells:
            cell["text"] = " ".join(cell["text"].split())
        rows.append({"id": _row_id(cells[0]["text"]), "cells": cells})
    return rows


def _row_id(text: str) -> str:
    """The student a row is about, from its first cell (the name, then the id where they differ)."""
    known = {**STUDENTS, **NOT_GRADED}
    for student, (name, _) in known.items():
        if text.split(" ")[-1] == student or text == " ".join(name.split()):
            return student
    return text
