"""Ingest against a hostile class folder: special files, unpacking budgets, colliding identities, paths that
lead outside the export, and names that carry terminal escapes or undecodable bytes."""
from __future__ import annotations

import csv
import io
import json
import os
import re
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import pytest

from bench.classroom import write_zip
from helpers import REPO, reference_source
from nngrade.bulk import ingest
from nngrade.run import untrusted

SCHEMAS = REPO / "nngrade" / "schema"
REFERENCE_07 = reference_source("07")
posix_only = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs and sockets are POSIX")


def _correct(folder: Path, name: str = "07_backpropagation.py") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(REFERENCE_07, encoding="utf-8")
    return folder


def _socket(path: Path) -> None:
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.close()     # the socket file stays


# --- special files -----------------------------------------------------------------------------

@posix_only
def test_fifos_sockets_and_links_are_never_opened(tmp_path):
    outside = _correct(tmp_path / "elsewhere")
    root = tmp_path / "class"
    _correct(root / "alice")
    os.mkfifo(root / "fifo.py")                                   # a top-level entry named like a submission
    os.mkfifo(root / "pipe.zip")
    (root / "bob").mkdir()
    os.mkfifo(root / "bob" / "07_backpropagation.py")             # named like the exercise
    os.mkfifo(root / "bob" / "more.zip")
    _socket(root / "bob" / "04_gradient_step.py")
    (root / "carol").mkdir()
    (root / "carol" / "07_backpropagation.py").symlink_to(outside / "07_backpropagation.py")
    (root / "carol" / "sub").symlink_to(outside, target_is_directory=True)
    (root / "linked").symlink_to(outside, target_is_directory=True)
    os.mkfifo(root / ingest.GRADESCOPE_METADATA)
    found = ingest.discover(root)
    assert sorted(st.id for sub in found for st in sub.students) == ["alice", "bob", "carol"]
    assert any("fifo.py" in w and "FIFO" in w for w in found.warnings)
    assert any("linked" in w and "link" in w for w in found.warnings)
    assert any(ingest.GRADESCOPE_METADATA in w and "FIFO" in w for w in found.warnings)
    by_id = {sub.students[0].id: sub for sub in found}
    for student in ("bob", "carol"):
        collected = ingest.collect(by_id[student], tmp_path / f"scratch-{student}")
        assert collected.files == [], (student, collected.files)
        assert all(any(name in n and kind in n for n in collected.notices)    # refused by name, never read
                   for name, kind in {"bob": [("07_backpropagation.py", "FIFO"), ("more.zip", "FIFO"),
                                              ("04_gradient_step.py", "socket")],
                                      "carol": [("07_backpropagation.py", "link")]}[student]), collected.notices
        ingest.content_hash(by_id[student])      # returns: nothing special is read
    assert [name for name, _, _ in ingest.collect(by_id["alice"], tmp_path / "s").files] == ["07_backpropagation.py"]


@posix_only
def test_a_folder_deeper_than_pythons_recursion_is_searched_to_a_bound(tmp_path):
    """1200 nested folders: os.walk's recursion raised in the parent and stopped bulk for the whole class."""
    root = tmp_path / "class"
    _correct(root / "alice")
    fd = os.open(root / "alice", os.O_RDONLY)
    try:
        for _ in range(1200):
            os.mkdir("d", dir_fd=fd)
            fd, parent = os.open("d", os.O_RDONLY, dir_fd=fd), fd
            os.close(parent)
        os.close(os.open("04_gradient_step.py", os.O_CREAT | os.O_WRONLY, dir_fd=fd))
    finally:
        os.close(fd)
    try:
        alice = ingest.discover(root)[0]
        ingest.content_hash(alice)
        collected = ingest.collect(alice, tmp_path / "scratch")
        assert [name for name, _, _ in collected.files] == ["07_backpropagation.py"]
        assert any(f"more than {ingest.MAX_DEPTH} levels deep" in notice for notice in collected.notices)
    finally:
        subprocess.run(["rm", "-rf", str(root / "alice" / "d")], check=True)   # shutil.rmtree recurses too


def test_the_unpacking_budget_is_the_submissions_not_each_zips(tmp_path):
    folder = tmp_path / "dave"
    folder.mkdir()
    for n in range(6):                          # six zips of 200 bytes each, one .py apiece
        write_zip(folder / f"part{n}.zip", {f"0{n}_file.py": "x = 1  # padding\n" * 12})
    submission = ingest.Submission("dave", str(folder), (ingest.Student("dave"),), (ingest.Source(folder, "dave"),))
    collected = ingest.collect(submission, tmp_path / "scratch", ingest.Limits(zip_bytes=500))
    unpacked = sum(path.stat().st_size for _, path, _ in collected.files)
    assert unpacked <= 500 and len(collected.files) == 2, collected.files      # 204 bytes each: two fit in 500
    assert any("per submission" in notice for notice in collected.notices)
    members = ingest.collect(submission, tmp_path / "scratch2", ingest.Limits(zip_members=4))
    assert len(members.files) == 4 and any("more than the 4 allowed" in n for n in members.notices)


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_a_damaged_zip_is_the_students_notice_never_an_exception(tmp_path, method):
    """Corrupt deflate data (zlib.error), names that are not the UTF-8 they claim (UnicodeDecodeError), broken
    headers: one such zip raised out of collect and failed the whole batch."""
    import random
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as bundle:
        bundle.writestr("hw/07_backpropagation.py", "x = 1\n" * 50)
        bundle.writestr("04_gradient_step.py", "y = 2\n" * 30)
    good, rng, unreadable = buffer.getvalue(), random.Random(method), 0
    for n in range(200):
        damaged = bytearray(good)
        for _ in range(rng.randint(1, 8)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        path = tmp_path / f"{n}.zip"
        path.write_bytes(bytes(damaged))
        submission = ingest.Submission("s", "s", (ingest.Student("s"),), (ingest.Source(path, "s.zip"),))
        collected = ingest.collect(submission, tmp_path / f"out{n}")
        unreadable += any("not a readable zip file" in notice for notice in collected.notices)
    assert unreadable > 0      # the damage was real for some of them


def test_a_zip_member_name_that_is_not_its_claimed_utf8_is_a_notice(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        bundle.writestr("07_backpropagation.py", "x = 1\n")
    data = bytearray(buffer.getvalue().replace(b"07_backpropagation", b"07_\xff\xfeckpropagation"))
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):     # flag bit 11: the name is UTF-8
        data[data.find(signature) + offset + 1] |= 0x08
    (tmp_path / "bad.zip").write_bytes(bytes(data))
    submission = ingest.Submission("s", "s", (ingest.Student("s"),), (ingest.Source(tmp_path / "bad.zip", "bad.zip"),))
    collected = ingest.collect(submission, tmp_path / "out")
    assert collected.files == [] and "not a readable zip file" in collected.notices[0]


def test_ids_are_never_windows_device_names():
    assert [ingest.safe_id(name) for name in ("nul", "CON", "com1", "lpt9.x", "Conrad", "aux_1")] == \
        ["_nul", "_CON", "_com1", "_lpt9.x", "Conrad", "aux_1"]


# --- identities --------------------------------------------------------------------------------

def test_a_folder_named_like_a_canvas_user_yields_to_the_canvas_user(tmp_path):
    _correct(tmp_path / "4242")
    (tmp_path / "doejohn_4242_1001_07_backpropagation.py").write_text("x = 1\n")
    found = ingest.discover(tmp_path)
    ids = {sub.key: [(st.id, st.canvas_id) for st in sub.students] for sub in found}
    assert ids == {"4242": [("4242~2", "")], "canvas-4242": [("4242", "4242")]}
    folder = next(sub for sub in found if sub.key == "4242")
    assert len(found.warnings) == 1 and "'4242~2'" in found.warnings[0] and found.warnings[0] in folder.notices


def test_submission_keys_stay_unique_when_names_collide(tmp_path):
    _correct(tmp_path / "canvas-4242")                    # the key Canvas user 4242's submission gets
    (tmp_path / "doejohn_4242_1001_07_backpropagation.py").write_text("x = 1\n")
    _correct(tmp_path / "x\x01")                           # both cleaned to one key
    _correct(tmp_path / "x\x02")
    found = ingest.discover(tmp_path)
    keys = [sub.key for sub in found]
    assert len(set(keys)) == len(keys) == 4
    hashes = {sub.key: ingest.content_hash(sub) for sub in found}
    assert hashes[next(sub.key for sub in found if sub.students[0].canvas_id)] != hashes["canvas-4242"]


def test_two_gradescope_submitters_with_one_sid_never_share_a_gradebook_row(tmp_path):
    (tmp_path / ingest.GRADESCOPE_METADATA).write_text(
        "submission_1:\n  :submitters:\n  - :name: Ada\n    :sid: '1815'\n"
        "submission_2:\n  :submitters:\n  - :name: Impostor\n    :sid: '1815'\n"
        "  - :name: Ada Again\n    :sid: '1815'\n")
    for name in ("submission_1", "submission_2"):
        (tmp_path / name).mkdir()
    found = ingest.discover(tmp_path)
    students = [st for sub in found for st in sub.students]
    assert [(st.id, st.sis_id) for st in students] == [("1815", "1815"), ("1815~2", ""), ("1815~3", "")]
    assert sum("SIS id '1815'" in w for w in found.warnings) == 2
    assert all(any("SIS id" in n for n in sub.notices) for sub in found if sub.key == "submission_2")


def test_metadata_names_that_lead_outside_the_export_are_not_read(tmp_path):
    outside = _correct(tmp_path / "secret")
    export = tmp_path / "export"
    export.mkdir()
    (export / "submission_2").symlink_to(outside, target_is_directory=True)
    (export / ingest.GRADESCOPE_METADATA).write_text(
        "../secret:\n  :submitters:\n  - :name: Climber\n    :sid: '1'\n"
        "submission_2:\n  :submitters:\n  - :name: Linker\n    :sid: '2'\n"
        "/abs/path:\n  :submitters:\n  - :name: Absolute\n    :sid: '3'\n")
    found = ingest.discover(export)
    assert sorted(st.id for sub in found for st in sub.students) == ["1", "2", "3"]
    for sub in found:
        assert sub.sources == () and ingest.collect(sub, tmp_path / "scratch").files == []
        assert any("nothing" in n and ingest.GRADESCOPE_METADATA in n for n in sub.notices), sub.notices


def test_names_from_the_folder_are_safe_text(tmp_path):
    hostile_dir = "\x1b[2J\x1b[Hmallory\u202e"
    undecodable = os.fsdecode(b"eve\xff\xfe")                   # surrogateescape: '\udcff\udcfe'
    _correct(tmp_path / hostile_dir)
    _correct(tmp_path / undecodable)
    (tmp_path / "=HYPERLINK(\x1b[31m)_77_1_07_backpropagation.py").write_text("x = 1\n")
    (tmp_path / ingest.GRADESCOPE_METADATA).write_text(
        'submission_9:\n  :submitters:\n  - :name: "\\u001b[2J\\ud800@SUM(1)"\n    :sid: "9\\u0007"\n'
        '    :email: "x\\r\\nTotal: 20 / 20"\n')
    found = ingest.discover(tmp_path)
    texts = [text for sub in found for text in (sub.key, sub.label, *sub.notices, *found.warnings,
                                                 *(v for st in sub.students for v in (st.id, st.name, st.email, st.sis_id)))]
    for text in texts:
        assert text == untrusted.text(text), ascii(text)       # already clean: one line, no escapes, encodable
    ids = sorted(st.id for sub in found for st in sub.students)
    assert all(ingest.SAFE_ID.search(i) is None for i in ids) and len(set(ids)) == len(ids)


# --- through grade.py bulk ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def hostile_class(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile-class")
    folder, out = root / "class", root / "out"
    _correct(folder / "alice")
    _correct(folder / "4242")                                             # a folder claiming a Canvas id
    (folder / "doejohn_4242_1001_07_backpropagation.py").write_text("def backprop_step(*a, **k):\n    return {}\n")
    _correct(folder / "\x1b[2J\x1b[Hmallory")
    _correct(folder / os.fsdecode(b"eve\xff"))
    (folder / "=cmd|' -C calc'!A0_77_1_07_backpropagation.py").write_text(REFERENCE_07)
    if hasattr(os, "mkfifo"):
        os.mkfifo(folder / "fifo.py")
        (folder / "bob").mkdir()
        os.mkfifo(folder / "bob" / "07_backpropagation.py")
    result = subprocess.run([sys.executable, str(REPO / "grade.py"), "bulk", str(folder), "--out", str(out),
                             "--exercises", "07", "--seed", "5", "--timeout", "5", "--workers", "2", "--quiet",
                             "--formats", "gradescope,lti,junit"], capture_output=True, timeout=300, cwd=REPO)
    return out, result


def test_bulk_grades_a_hostile_class_and_warns_on_the_terminal_and_in_the_summary(hostile_class):
    out, result = hostile_class
    stdout = result.stdout.decode("utf-8")
    assert result.returncode == 0, result.stderr.decode("utf-8", "replace")
    assert "\x1b" not in stdout and "\x1b" not in result.stderr.decode("utf-8", "replace")
    warnings = [line for line in stdout.splitlines() if line.startswith("warning: ")]
    assert any("'4242~2'" in line for line in warnings), stdout
    if hasattr(os, "mkfifo"):
        assert any("fifo.py" in line and "FIFO" in line for line in warnings), stdout
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert [f"warning: {w}" for w in summary["batch"]["warnings"]] == warnings
    assert "&#x27;4242~2&#x27;" in (out / "summary.html").read_text(encoding="utf-8")   # escaped
    reports = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in (out / "reports").glob("*.json")}
    assert reports["alice"]["score"] == reports["alice"]["max_score"] == 20     # the classmate: full marks
    assert "doejohn" in reports["4242"]["submission"] and reports["4242"]["score"] == 0   # Canvas user 4242's own
    assert reports["4242~2"]["score"] == 20 and any("4242~2" in n for n in reports["4242~2"]["notices"])
    lti = json.loads((out / "lti" / "4242.json").read_text(encoding="utf-8"))
    assert lti["scoreGiven"] == 0                                              # not the folder's 20
    assert reports["77"]["score"] == 20                                        # the formula-named Canvas student
    if hasattr(os, "mkfifo"):
        assert reports["bob"]["score"] == 0


def test_every_output_of_the_hostile_class_is_valid_and_inert(hostile_class):
    out, _ = hostile_class
    report_schema = json.loads((SCHEMAS / "report.schema.json").read_text())
    for path in (out / "reports").glob("*.json"):
        report = json.loads(path.read_text(encoding="utf-8"))
        jsonschema.validate(report, report_schema)
        assert "\x1b" not in json.dumps(report, ensure_ascii=False)
    rows = list(csv.reader(io.StringIO((out / "gradebook.csv").read_text(encoding="utf-8"))))
    assert len({row[2] for row in rows[2:] if row[2]}) == len([row for row in rows[2:] if row[2]])  # SIS ids unique
    assert len({row[1] for row in rows[2:] if row[1]}) == len([row for row in rows[2:] if row[1]])  # Canvas ids too
    for row in rows:
        assert not any(re.match(r"\s*([=+@]|-(?![0-9.]+$))", cell) for cell in row), row    # no formula
    assert any(row[0].startswith("'=cmd") for row in rows)
    page = (out / "summary.html").read_text(encoding="utf-8")
    assert "\x1b" not in page
    import xmlschema
    junit = xmlschema.XMLSchema(str(SCHEMAS / "junit.xsd"))
    gradescope_schema = json.loads((SCHEMAS / "gradescope-results.schema.json").read_text())
    lti_schema = json.loads((SCHEMAS / "lti-ags-score.schema.json").read_text())
    for path in (out / "junit").glob("*.xml"):
        junit.validate(str(path))
    for path in (out / "gradescope").glob("*.json"):
        jsonschema.validate(json.loads(path.read_text(encoding="utf-8")), gradescope_schema)
    for path in (out / "lti").glob("*.json"):
        jsonschema.validate(json.loads(path.read_text(encoding="utf-8")), lti_schema)
