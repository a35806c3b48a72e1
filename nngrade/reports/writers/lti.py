"""An LTI 1.3 Assignment and Grade Services score (application/vnd.ims.lis.v1.score+json) per student.

The payload a tool POSTs to a line item's `/scores` endpoint. `userId` must be the platform's LTI
user id (the launch's `sub`); bulk grading uses the student id it knows, which the caller maps.
"""
from __future__ import annotations

from datetime import datetime, timezone

from nngrade.run import untrusted
from nngrade.reports.results import points

MEDIA_TYPE = "application/vnd.ims.lis.v1.score+json"   # the Content-Type to POST a payload with (AGS)
COMMENT_LIMIT = 1000


def to_lti_score(report: dict, user_id: str, timestamp: str, complete: bool = True) -> dict:
    """The score of one canonical report.

    AGS's progress values say what the score is: a graded submission is Completed / FullyGraded with
    its score; nothing submitted is Initialized / NotReady ("no grading process is occurring", the
    student has not submitted), not a final 0; `complete` False (not graded, for reasons that are
    not the student's) or a report whose `grader_error` says the grader failed itself is Failed.
    Only a FullyGraded score carries `scoreGiven` (and `scoreMaximum` with it): a platform that did
    not ignore the placeholder 0 of the others would record a grade nobody earned.
    """
    submitted = any(exercise["file"] for exercise in report["exercises"])
    if not (complete and not report.get("grader_error")):
        grading = "Failed"
    else:
        grading = "FullyGraded" if submitted else "NotReady"
    score = {"userId": user_id}
    if grading == "FullyGraded":
        score.update(scoreGiven=report["score"], scoreMaximum=report["max_score"])
    score.update(activityProgress="Completed" if submitted else "Initialized", gradingProgress=grading,
                 timestamp=timestamp, comment=comment(report) if grading != "Failed" else FAILED_COMMENT)
    return score


FAILED_COMMENT = "nngrade: not graded yet (a fault of the grading, not of this submission); it will be graded again"


def comment(report: dict) -> str:
    parts = [f"{exercise['id']}: {points(exercise['score'])}/{points(exercise['max_score'])}"
             + (f" ({exercise['problem']})" if exercise["problem"] else "") for exercise in report["exercises"]]
    # No seed: the comment reaches the student, and the class's seed would let a probe recognise hidden cases.
    if not any(exercise["file"] for exercise in report["exercises"]):   # no score to state (NotReady)
        return untrusted.text("nngrade: nothing submitted yet; " + "; ".join(
            f"{exercise['id']}: {exercise['problem']}" for exercise in report["exercises"]), COMMENT_LIMIT)
    text = f"nngrade {points(report['score'])}/{points(report['max_score'])}; " + "; ".join(parts)
    return untrusted.text(text, COMMENT_LIMIT)


def iso_timestamp(moment: datetime | None = None) -> str:
    """ISO 8601 with milliseconds and an explicit offset, as the AGS examples write it."""
    moment = (moment or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return moment.isoformat(timespec="milliseconds")
