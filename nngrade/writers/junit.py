"""JUnit XML (the common Ant/Jenkins/Surefire shape) from the canonical report, for CI-style consumers.

One <testsuite> per exercise, one <testcase> per check: a wrong value or an open TODO is a
<failure>, an exception or a timeout is an <error>. The student's own prints go to <system-out>.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET

from .. import untrusted

_FAILURES, _ERRORS = ("failed", "not_implemented"), ("error", "timeout")


def clean(text: str) -> str:
    """Text XML 1.0 can hold (no control characters, surrogates or U+FFFE/U+FFFF); ElementTree escapes the rest."""
    return untrusted.text(text, multiline=True)


def to_junit(report: dict, name: str = "nngrade") -> str:
    """The XML document for one student's canonical report."""
    checks = [c for exercise in report["exercises"] for c in exercise["checks"]]
    root = ET.Element("testsuites", _counts(checks, name=clean(name),
                                            time=f"{report['timings'].get('total_seconds', 0):.3f}"))
    for exercise in report["exercises"]:
        suite = ET.SubElement(root, "testsuite", _counts(
            exercise["checks"], name=clean(f"{exercise['id']} {exercise['title']}"), time=f"{exercise['seconds']:.3f}"))
        properties = ET.SubElement(suite, "properties")
        for key, value in (("seed", report["seed"]), ("file", exercise["file"] or ""),
                           ("problem", exercise["problem"] or ""), ("score", exercise["score"]),
                           ("max_score", exercise["max_score"])):
            ET.SubElement(properties, "property", name=key, value=clean(str(value)))
        for check in exercise["checks"]:
            case = ET.SubElement(suite, "testcase", name=clean(check["name"]),
                                 classname=f"nngrade.exercise_{exercise['id']}", time="0")
            if check["status"] in _FAILURES + _ERRORS:
                tag = "failure" if check["status"] in _FAILURES else "error"
                outcome = ET.SubElement(case, tag, message=clean(check["message"][:500]), type=check["status"])
                outcome.text = clean(check["message"])
        if exercise["output"]:
            ET.SubElement(suite, "system-out").text = clean(exercise["output"])
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _counts(checks: list[dict], **attributes: str) -> dict[str, str]:
    return {**attributes, "tests": str(len(checks)),
            "failures": str(sum(c["status"] in _FAILURES for c in checks)),
            "errors": str(sum(c["status"] in _ERRORS for c in checks)), "skipped": "0"}
