"""JUnit XML from the canonical report, valid for Ant's JUnit schema, Jenkins xUnit's and GitLab's parser at once.

One <testsuite> per exercise, one <testcase> per check: a wrong value or an open TODO is a
<failure>, an exception or a timeout an <error>. The consumers' rules differ, so the document keeps
to what all of them accept (nngrade/schema/junit.xsd holds exactly that; tests/schemas/ each one):
- Ant's schema allows no attribute on <testsuites> (Jenkins' allows no `skipped` there), so the
  totals are on each <testsuite> only; inside <testsuites> each suite needs `package` and `id`
  (0, 1, ...), and every suite needs `timestamp` (no offset: UTC, said here) and `hostname`.
- A suite holds <properties>, its <testcase>s, then <system-out> and <system-err>, always in that
  order and all present (Ant); a testcase holds at most one <failure>/<error>, text only, with `type`.
- Every time is a plain decimal of seconds (no exponent). A file runs once for all its checks, so its
  time is shared equally among them: their times add up to the suite's.
- GitLab keys a test by classname and name (a repeated pair would be merged into one) and shows the
  classname as the suite: every pair is unique in a document.
- Nothing of the grading machine: no absolute path (the file is named relative to the submission),
  no host name ("localhost", as Ant says for an unknown host), and no seed (this file may reach students).
"""
from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import PurePosixPath, PureWindowsPath

from nngrade.run import untrusted

_FAILURES, _ERRORS = ("failed", "not_implemented"), ("error", "timeout")
HOSTNAME = "localhost"
PACKAGE = "nngrade"


def clean(text: str) -> str:
    """Text XML 1.0 can hold (no control characters, surrogates or U+FFFE/U+FFFF); ElementTree escapes the rest."""
    return untrusted.text(text, multiline=True)


def to_junit(report: dict, timestamp: str | None = None) -> str:
    """The XML document for one student's canonical report; `timestamp`: when it was graded (ISO 8601, any
    offset; default now), written in UTC as Ant's schema wants it."""
    stamp = junit_timestamp(timestamp)
    root = ET.Element("testsuites")
    for number, exercise in enumerate(report["exercises"]):
        checks = exercise["checks"]
        suite = ET.SubElement(root, "testsuite", {
            "name": clean(f"{exercise['id']} {exercise['title']}"), "package": PACKAGE, "id": str(number),
            "timestamp": stamp, "hostname": HOSTNAME, **_counts(checks), "time": _seconds(exercise["seconds"])})
        properties = ET.SubElement(suite, "properties")
        for key, value in (("file", submission_relative(exercise["file"], report["submission"])),
                           ("problem", exercise["problem"] or ""), ("score", exercise["score"]),
                           ("max_score", exercise["max_score"])):
            ET.SubElement(properties, "property", name=key, value=clean(str(value)))
        share = exercise["seconds"] / len(checks) if checks else 0.0
        for check in checks:
            case = ET.SubElement(suite, "testcase", name=clean(check["name"]),
                                 classname=f"{PACKAGE}.exercise_{exercise['id']}", time=_seconds(share))
            if check["status"] in _FAILURES + _ERRORS:
                tag = "failure" if check["status"] in _FAILURES else "error"
                outcome = ET.SubElement(case, tag, message=clean(check["message"][:500]), type=check["status"])
                outcome.text = clean(check["message"])
        ET.SubElement(suite, "system-out").text = clean(exercise["output"] or "")
        ET.SubElement(suite, "system-err").text = clean(exercise["problem"] or "")
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def submission_relative(file: str | None, submission: str | None) -> str:
    """The file as named inside the student's submission: never the grading machine's path to it."""
    if not file:
        return ""
    prefix = (submission or "").rstrip("/\\")
    if prefix and file.startswith(prefix) and file[len(prefix):len(prefix) + 1] in ("/", "\\"):
        return file[len(prefix) + 1:]
    return PureWindowsPath(PurePosixPath(file).name).name


def junit_timestamp(timestamp: str | None) -> str:
    """`YYYY-MM-DDTHH:MM:SS` in UTC: Ant's schema takes no fraction and no offset."""
    moment = datetime.now(timezone.utc)
    if timestamp:
        try:
            moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
        except ValueError:
            pass
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def _seconds(value: float) -> str:
    """A plain decimal (xs:decimal and Surefire's time pattern: no exponent, no sign)."""
    value = float(value or 0.0)
    return f"{value if math.isfinite(value) and value > 0 else 0.0:.6f}"


def _counts(checks: list[dict]) -> dict[str, str]:
    return {"tests": str(len(checks)), "failures": str(sum(c["status"] in _FAILURES for c in checks)),
            "errors": str(sum(c["status"] in _ERRORS for c in checks)), "skipped": "0"}
