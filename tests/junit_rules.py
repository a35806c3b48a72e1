"""Every JUnit file the tests produce is checked here against each consumer's own rules (tests/schemas/README.md)."""
from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from functools import lru_cache
from pathlib import Path

HERE = Path(__file__).resolve().parent
CONSUMER_SCHEMAS = (HERE / "schemas" / "junit-ant.xsd", HERE / "schemas" / "junit-jenkins-xunit.xsd")
OURS = HERE.parent / "nngrade" / "schema" / "junit.xsd"
GITLAB_FILE_LIMIT = 30 * 1024 * 1024   # "smaller than 30 MB per individual file"


@lru_cache(maxsize=None)
def _schema(path: str):
    import xmlschema
    return xmlschema.XMLSchema(path)


def schemas() -> list[Path]:
    """Ant's and Jenkins xUnit's rules, ours, and the published originals where NNGRADE_JUNIT_SCHEMAS has them."""
    extra = os.environ.get("NNGRADE_JUNIT_SCHEMAS")
    originals = sorted(Path(extra).glob("*.xsd")) if extra else []
    return [*CONSUMER_SCHEMAS, OURS, *originals]


def check(text: str) -> ET.Element:
    """Raise unless `text` satisfies every schema and GitLab's parser rules; returns the parsed root."""
    for path in schemas():
        _schema(str(path)).validate(text)
    assert len(text.encode("utf-8")) < GITLAB_FILE_LIMIT
    root = ET.fromstring(text.encode("utf-8"))
    assert root.tag in ("testsuites", "testsuite")
    # GitLab keys a test by (classname, name): a repeated pair is merged into one and its result lost.
    keys = [(case.get("classname"), case.get("name")) for case in root.iter("testcase")]
    assert all(classname and name for classname, name in keys) and len(set(keys)) == len(keys)
    for element in (root, *root.iter("testsuite"), *root.iter("testcase")):   # seconds, as GitLab reads them
        if element.get("time") is not None:
            assert float(element.get("time")) >= 0
    return root


def check_file(path: Path) -> ET.Element:
    return check(path.read_text(encoding="utf-8"))
