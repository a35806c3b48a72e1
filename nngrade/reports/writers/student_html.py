"""One student's feedback page: what `grade.py` shows on the terminal (nngrade.reports.terminal's view of the
report), as one static HTML page that can be released to that student.

The page holds the student's own report and nothing else: no other student, no seed (it would let a
probe recognise the hidden cases, as in Gradescope's files), no path of the grading machine (files are
named as in the submission), no notice about another entry (an identity that collided names the other
one), no prints of the student's code where hidden cases were run (they could show the hidden inputs),
and, while hidden cases are not to be shown (`hidden_shown` False), none of their results.
No script, nothing fetched: its Content-Security-Policy forbids both.
"""
from __future__ import annotations

import hashlib
import os
import re
from dataclasses import replace
from pathlib import PurePath

from nngrade.run import untrusted
from nngrade.reports.results import Report, points, report_from_dict
from nngrade.reports.terminal import Explanation, ExerciseView, diagnosis, exercise_view
from nngrade.reports.writers.summary_html import escape, page_head

STYLE = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;max-width:980px;
color:#1d2330;padding:0 1rem;overflow-wrap:anywhere}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.1rem;margin:2rem 0 .4rem;display:flex;gap:1rem;
justify-content:space-between;border-bottom:1px solid #dde;padding-bottom:.3rem}
.meta{color:#5b6478;font-size:.9rem}table{border-collapse:collapse;font-size:.92rem;margin:.4rem 0}
th,td{padding:.2rem .6rem;border-bottom:1px solid #eef;text-align:center}th{background:#f6f7fb}
td.row,th.row{text-align:left;font-family:ui-monospace,Menlo,Consolas,monospace}
.passed{color:#2e7d32}.failed,.error{color:#c62828}.timeout{color:#b26a00}.not_implemented{color:#5b6478}
ul{padding-left:1.2rem}li{margin:.3rem 0}.diagnosis{background:#fff4d6}.problem{color:#c62828}
pre{background:#f6f7fb;padding:.5rem .7rem;white-space:pre-wrap;font-size:.85rem;max-height:20rem;overflow:auto}
code{font-family:ui-monospace,Menlo,Consolas,monospace}
"""
# Nothing is loaded or run: a page that escaped a name wrongly still could not fetch or execute anything.
POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
# The terminal's marks, but for a time-out: ◷ is in the common fonts, the terminal's ⧗ is not.
MARKS = {"passed": "✓", "failed": "✗", "error": "!", "timeout": "◷", "not_implemented": "·"}
WORDS = {"passed": "passed", "failed": "wrong", "error": "error", "timeout": "timed out",
         "not_implemented": "not implemented yet"}
# Notices that ingest writes about two entries claiming one identity: they name the other entry.
_ABOUT_ANOTHER = ("student id '", "SIS id '")


# --- file names --------------------------------------------------------------------------------

_KEPT = re.compile(r"[a-z0-9._@+-]")
_DEVICE = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\.|$)")
MAX_NAME = 120


def page_name(student_id: str) -> str:
    """The file name of a student's page, for any id: a different name for every id, even on a file system
    that ignores case (macOS, Windows), and a name every system can hold.

    Lower-case letters, digits and `._@+-` are kept; an upper-case letter becomes `~` and the letter, any
    other character `~~` and its UTF-8 bytes in hex (a leading or trailing dot too, and the first letter of
    a name Windows keeps for a device): a code that can be read back, so two ids never share a name. A name
    that would be too long is cut and ends in `=` and a hash of the id (no code contains `=`).
    """
    out = []
    for i, char in enumerate(student_id):
        if "A" <= char <= "Z":
            out.append("~" + char.lower())
        elif _KEPT.fullmatch(char) and not (char == "." and i in (0, len(student_id) - 1)):
            out.append(char)
        else:
            out.append("~~" + char.encode("utf-8", "surrogatepass").hex())
    name = "".join(out)
    if _DEVICE.match(name):
        name = "~~" + name[0].encode().hex() + name[1:]
    if not name or len(name) > MAX_NAME:
        digest = hashlib.sha256(student_id.encode("utf-8", "surrogatepass")).hexdigest()[:40]
        name = name[:60] + "=" + digest
    return name + ".html"


# --- the page ----------------------------------------------------------------------------------

def to_html(report: dict, student: dict, hidden_shown: bool = True) -> str:
    """The page of one student's canonical report; `student`: {id, name}."""
    full = report_from_dict(report)
    shown = full if hidden_shown else _visible_only(full)
    name = student.get("name") or student["id"]
    title = f"Feedback: {untrusted.text(name, 200)}"
    parts = [
        *page_head(title, STYLE, POLICY),
        f'<h1 dir="auto">{escape(title)}</h1>',
        f'<p class="meta">student id <code dir="auto">{escape(student["id"])}</code>'
        + (f" · data: {escape(_data(shown.data))}" if shown.data else "") + "</p>",
        f"<p><b>Total: {points(shown.score)} / {points(shown.max_score)}</b>"
        + ("" if hidden_shown or shown.max_score == full.max_score else
           f' <span class="meta">on the visible checks; the hidden checks ({points(full.max_score - shown.max_score)} '
           "points) are shown when they are released</span>") + "</p>",
    ]
    notices = [_inside(n, shown.submission) for n in shown.notices if not n.startswith(_ABOUT_ANOTHER)]
    if notices:
        parts += ["<ul>", *(f'<li dir="auto">note: {escape(n)}</li>' for n in notices), "</ul>"]
    for original, exercise in zip(full.exercises, shown.exercises):
        # The prints of a run with hidden cases include what the code printed on the hidden inputs: a class
        # keeps its seed across re-runs, so they are not shown (as Gradescope's stdout stays hidden).
        held_prints = bool(exercise.output.strip()) and any(c.visibility != "visible" for c in original.checks)
        view = exercise_view(replace(exercise, output="") if held_prints else exercise,
                             _file_shown(exercise.file, shown.submission))
        parts += exercise_html(view, hidden_shown)
        if held_prints and (view.problem or any(line.kind == "failure" for line in view.explanations)):
            parts.insert(-1, '<p class="meta">Your prints are not shown here: they include the calls on the hidden '
                             "inputs. <code>python grade.py</code> with the exercise's number shows them on your own files.</p>")
    parts += ['<p class="meta">' + " · ".join(f'<span class="{s}">{MARKS[s]}</span> {WORDS[s]}' for s in MARKS)
              + "</p>", "</body>", "</html>"]
    return "\n".join(parts) + "\n"


def _visible_only(report: Report) -> Report:
    """The report without its hidden cases, which count as pending (shown once released)."""
    exercises = []
    for exercise in report.exercises:
        visible = tuple(c for c in exercise.checks if c.visibility == "visible")
        exercises.append(replace(exercise, checks=visible,
                                 pending_hidden=exercise.pending_hidden + len(exercise.checks) - len(visible)))
    return replace(report, exercises=tuple(exercises))


def _file_shown(file: str | None, submission: str) -> str | None:
    """A file as named inside the submission: the grading machine's folders are not the student's business."""
    if not file:
        return None
    path, root = PurePath(file), PurePath(submission)
    try:
        return str(path.relative_to(root)) if path != root else path.name
    except ValueError:
        return path.name


def _inside(text: str, submission: str) -> str:
    """`text` with the grading machine's folders above the submission left out of the paths it names."""
    root = PurePath(submission)
    for folder in (root, root.parent):
        if str(folder) not in ("", ".", root.anchor):
            text = text.replace(f"{folder}{os.sep}", "")
    return text


def _data(data: dict) -> str:
    path = data.get("path")
    return f"{data.get('source', '')}" + (f" ({PurePath(str(path)).name})" if path else "")


def exercise_html(view: ExerciseView, hidden_shown: bool) -> list[str]:
    """One exercise's view as HTML (also the table `nngrade.check` shows in a notebook)."""
    out = [f'<section><h2><span dir="auto">{escape(view.head)}</span><span>{points(view.score)} / '
           f"{points(view.max_score)}</span></h2>"]
    if view.problem:
        out.append(f'<p class="problem" dir="auto">{escape(view.problem)}</p>')
    if view.rows:
        out.append('<table><tr><th class="row">quantity</th>'
                   + "".join(f"<th>{escape(case)}</th>" for case in view.cases) + "</tr>")
        for row, statuses in view.rows:
            cells = "".join(_mark(statuses.get(case)) for case in view.cases)
            out.append(f'<tr><td class="row">{escape(row)}</td>{cells}</tr>')
        out.append("</table>")
    if view.explanations:
        out += ["<ul>", *(_explanation(line) for line in view.explanations), "</ul>"]
    if view.pending_hidden:
        out.append(f'<p class="meta">+ {view.pending_hidden} hidden checks (other inputs and sizes) '
                   + ("run when you submit" if hidden_shown else "shown when they are released") + "</p>")
    if view.output:
        more = f"\n... {view.output_more} more lines" if view.output_more else ""
        out.append(f"<p>your output (print) while it was graded:</p><pre>{escape(chr(10).join(view.output) + more)}</pre>")
    out.append("</section>")
    return out


def _mark(status: str | None) -> str:
    if status is None:
        return "<td></td>"
    word = WORDS.get(status, status)
    return f'<td class="{escape(status)}" title="{escape(word)}">{escape(MARKS.get(status, word))}</td>'


def _explanation(line: Explanation) -> str:
    rows = escape(", ".join(line.rows))
    if line.kind == "failure":
        before, diagnosed, after = diagnosis(line.text)
        text = escape(before) + (f'<span class="diagnosis">{escape(diagnosed)}</span>' if diagnosed else "") + escape(after)
        mark = escape(MARKS.get(line.status, line.status))
        return f'<li dir="auto"><span class="{escape(line.status)}">{mark}</span> <code>{rows}</code> {text}</li>'
    if line.kind == "note":
        return f'<li dir="auto">note: {escape(line.text)}</li>'
    if line.kind == "follow":
        return f"<li>↪ follow-through: <code>{rows}</code> right given your own earlier values</li>"
    return f"<li>TODO still None: <code>{rows}</code></li>"
