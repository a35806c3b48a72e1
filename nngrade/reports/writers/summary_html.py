"""The class page: who needs help and which mistakes to re-teach, as one self-contained HTML page.

A table of students (total, each exercise, the mistakes diagnosed, the problems), each linking to the
student's own feedback page (nngrade.reports.writers.student_html); the mistakes, once per student, with who
made each; the quantities by failure rate; the score distribution. Inline CSS and SVG, nothing fetched:
the Content-Security-Policy allows no source at all, and one inline script (by its hash) that only makes
the students' table sortable. Without scripts the table is readable as it is, those most in need first.
"""
from __future__ import annotations

import base64
import hashlib
import html
import re
from urllib.parse import quote

from nngrade.run import untrusted
from nngrade.reports.results import points

_CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;max-width:1200px;
color:#1d2330;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2.2rem;border-bottom:1px solid #dde;
padding-bottom:.3rem}h3{font-size:1rem;margin:1.4rem 0 .3rem}
.meta{color:#5b6478;font-size:.9rem}.cards{display:flex;flex-wrap:wrap;gap:.8rem;margin:1.2rem 0}
.card{border:1px solid #dde;border-radius:8px;padding:.6rem 1rem;min-width:8rem}
.card b{display:block;font-size:1.4rem}table{border-collapse:collapse;width:100%;font-size:.92rem}
th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #eef;vertical-align:top}th{background:#f6f7fb}
td.n,th.n{text-align:right;white-space:nowrap}svg{max-width:100%;height:auto}
svg text{font:12px system-ui,sans-serif;fill:#1d2330}.empty{color:#5b6478;font-style:italic}
.id{color:#5b6478;font-size:.8rem;display:block}.who,.tag,li{overflow-wrap:anywhere}
code,.nowrap{white-space:nowrap}.full{background:#e8f5e9}.part{background:#fff8e1}
.zero{background:#fdecea}.none{color:#8a91a3}.tag{display:inline-block;border-radius:4px;padding:0 .3rem;
margin:0 .2rem .2rem 0;background:#eef0f6;font-size:.85rem}.bad{background:#fdecea}
.bar{background:#f0f1f6;height:.7rem;width:8rem;display:inline-block;vertical-align:middle;margin-right:.4rem}
.bar i{display:block;height:100%}th button{font:inherit;font-weight:bold;border:0;background:none;padding:0;
cursor:pointer;text-align:inherit}th[aria-sort=ascending] button::after{content:" ▲"}
th[aria-sort=descending] button::after{content:" ▼"}
"""
# Click a column's header to sort by it (again: the other way). The buttons are made here, so that a page
# read without scripts has no control that does nothing.
_SCRIPT = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  var heads = table.tHead.rows[0].cells, body = table.tBodies[0];
  Array.prototype.forEach.call(heads, function (th, col) {
    var button = document.createElement("button");
    button.type = "button";
    button.textContent = th.textContent;
    th.textContent = "";
    th.appendChild(button);
    button.addEventListener("click", function () {
      var up = th.getAttribute("aria-sort") !== "ascending";
      Array.prototype.forEach.call(heads, function (other) { other.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", up ? "ascending" : "descending");
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[col].getAttribute("data-sort"), y = b.cells[col].getAttribute("data-sort");
        var order = th.hasAttribute("data-number") ? parseFloat(x) - parseFloat(y) : x.localeCompare(y);
        return up ? order : -order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
"""
_SCRIPT_HASH = base64.b64encode(hashlib.sha256(_SCRIPT.encode()).digest()).decode()
SCRIPT_ELEMENT = f"<script>{_SCRIPT}</script>"     # the page's only script
def page_head(title: str, css: str, policy: str) -> list[str]:
    """The start of every page nngrade writes, up to <body>: no outside resource, no referrer, its own policy."""
    return ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{policy}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            '<meta name="referrer" content="no-referrer">',
            f"<title>{escape(title)}</title>", f"<style>{css}</style>", "</head>", "<body>"]


POLICY = (f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{_SCRIPT_HASH}'; img-src data:; "
          "base-uri 'none'; form-action 'none'")
# A student's page as bulk names it (nngrade.reports.writers.student_html.page_name): anything else is not linked.
_PAGE = re.compile(r"students/[a-z0-9._@+~=-]+\.html")


def to_html(summary: dict) -> str:
    """The page for one class summary (the dict writers.summary.to_summary returns)."""
    batch = summary["batch"]
    scores = summary["scores"]
    title = "nngrade class summary"
    parts = [
        *page_head(title, _CSS, POLICY),
        f"<h1>{escape(title)}</h1>",
        f'<p class="meta">{summary["students"]} students · exercises {escape(", ".join(batch.get("exercises", [])))} · '
        f'seed {escape(str(batch.get("seed")))} · grader {escape(str(batch.get("grader", "")))} · '
        f'isolation {escape(str(batch.get("isolation", "not recorded")))} · '
        f'{escape(str(batch.get("generated_at", "")))}</p>',
        *([f'<p class="meta">not graded, for reasons that are not theirs (run bulk again): '
           f'{escape(", ".join(batch["not_graded"]))}</p>'] if batch.get("not_graded") else []),
        '<div class="cards">',
        _card("mean", _of(scores["mean"], summary["max_score"])),
        _card("median", _of(scores["median"], summary["max_score"])),
        _card("full marks", str(scores["full_marks"])),
        _card("zero", str(scores["zero"])),
        _card("nothing gradable", str(summary["nothing_gradable"])),
        "</div>",
        *_warnings(batch.get("warnings", [])),
        "<h2>Students</h2>",
        '<p class="meta">Lowest total first (not graded at the top); click a column to sort by it. Each name opens '
        "the student's feedback page (<code>students/</code>), which can be given to that student.</p>",
        _student_table(summary.get("roster", []), summary["exercises"]),
        "<h2>Mistakes diagnosed</h2>",
        '<p class="meta">Each mistake counted once per student, whatever quantities and cases it reached.</p>',
        _misconception_table(summary["misconceptions"], summary.get("roster", [])),
        "<h2>Quantities, most failed first</h2>",
        '<p class="meta">Per quantity, the share of the students who submitted the file for whom some case '
        "was not right; those who did not submit it are counted apart.</p>",
        *_quantity_tables(summary.get("quantities", []), summary["checks"], summary["exercises"]),
        "<h2>Score distribution</h2>", histogram_svg(summary["histogram"]),
        "<h2>Exercises</h2>", _exercise_table(summary["exercises"]),
        SCRIPT_ELEMENT, "</body>", "</html>",
    ]
    return "\n".join(parts) + "\n"


def escape(value: object) -> str:
    """HTML text of any value: reports carry safe text already; this holds for any summary given to us."""
    return html.escape(untrusted.text(value, multiline=True))


def _warnings(warnings: list[str]) -> list[str]:
    if not warnings:
        return []
    return ["<h2>Warnings about the class folder</h2>", "<ul>",
            *(f"<li>{escape(warning)}</li>" for warning in warnings), "</ul>"]


def _card(label: str, value: str) -> str:
    return f'<div class="card"><b>{escape(value)}</b>{escape(label)}</div>'


def _of(value, max_score) -> str:
    return "–" if value is None else f"{points(round(value, 2))} / {points(max_score)}"


def histogram_svg(histogram: dict) -> str:
    """Bars of the number of students per tenth of the maximum score, with axes and a tooltip per bar."""
    counts, edges = histogram["counts"], histogram["edges"]
    width, height, left, bottom, top = 640, 260, 44, 40, 16
    plot_w, plot_h = width - left - 12, height - bottom - top
    peak = max(counts) or 1
    step = _tick_step(peak)
    bar_w = plot_w / len(counts)
    out = [f'<svg role="img" aria-label="Histogram of total scores" viewBox="0 0 {width} {height}" '
           f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">']
    for tick in range(0, peak + 1, step):
        y = top + plot_h - plot_h * tick / peak
        out.append(f'<line x1="{left}" x2="{width - 12}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e4e6ef"/>'
                   f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{tick}</text>')
    for i, count in enumerate(counts):
        h = plot_h * count / peak
        x = left + i * bar_w
        label = f"{edges[i]}–{edges[i + 1]}%"
        out.append(f'<rect x="{x + 2:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w - 4:.1f}" height="{h:.1f}" '
                   f'fill="#4c72b0"><title>{label}: {count} students</title></rect>')
        out.append(f'<text x="{x + bar_w / 2:.1f}" y="{top + plot_h + 16}" text-anchor="middle">{label}</text>')
    out.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 4}" text-anchor="middle">'
               "total score, percent of the maximum</text>")
    out.append(f'<text x="12" y="{top + plot_h / 2:.1f}" transform="rotate(-90 12 {top + plot_h / 2:.1f})" '
               'text-anchor="middle">students</text>')
    out.append("</svg>")
    return "".join(out)


def _tick_step(peak: int) -> int:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000):
        if peak / step <= 6:
            return step
    return max(1, peak // 5)


def _exercise_table(exercises: list[dict]) -> str:
    rows = ["<table><tr><th>exercise</th><th class=n>mean</th><th class=n>submitted</th>"
            "<th class=n>full marks</th><th>files that could not be graded</th></tr>"]
    for e in exercises:
        problems = ", ".join(f"{p['problem']} ({p['count']})" for p in e["problems"]) or "–"
        rows.append(f"<tr><td>{escape(e['id'])} {escape(e['title'])}</td><td class=n>{escape(_of(e['mean'], e['max_score']))}</td>"
                    f"<td class=n>{e['submitted']}</td><td class=n>{e['full_marks']}</td><td>{escape(problems)}</td></tr>")
    rows.append("</table>")
    return "".join(rows)


def _page_link(row: dict, inline: bool = False) -> str:
    """The student's name (and id, below it or, `inline`, beside it), linked to its page where it has one."""
    name = untrusted.text(row.get("name") or row["id"], 300)
    shown = f"<bdi>{escape(name)}</bdi>"
    page = row.get("page")
    if isinstance(page, str) and _PAGE.fullmatch(page):
        shown = f'<a href="{escape(quote(page))}">{shown}</a>'
    if name == row["id"]:
        return shown
    return shown + (f' <span class="meta">(<bdi>{escape(row["id"])}</bdi>)</span>' if inline
                    else f'<span class="id"><bdi>{escape(row["id"])}</bdi></span>')


def _student_table(roster: list[dict], exercises: list[dict]) -> str:
    if not roster:
        return '<p class="empty">No student in this class folder.</p>'
    ordered = sorted(roster, key=lambda r: (r["graded"], r["score"] if r["score"] is not None else 0,
                                            untrusted.text(r.get("name") or r["id"]).casefold(), r["id"]))
    head = ("<thead><tr><th>student</th><th class=n data-number>total</th>"
            + "".join(f'<th class=n data-number title="{escape(e["title"])}">{escape(e["id"])}</th>' for e in exercises)
            + "<th data-number>mistakes diagnosed</th><th data-number>problems</th></tr></thead>")
    rows = []
    for row in ordered:
        name_key = untrusted.text(row.get("name") or row["id"]).casefold()
        cells = [f'<td class="who" data-sort="{escape(name_key)}">{_page_link(row)}</td>']
        if not row["graded"]:
            cells.append('<td class="n bad" data-sort="-1">not graded</td>')
            cells += ['<td class="n none" data-sort="-1">–</td>' for _ in exercises]
        else:
            cells.append(f'<td class="n" data-sort="{row["score"]:g}"><b>{points(row["score"])}</b> / '
                         f'{points(row["max_score"])}</td>')
            by_id = {e["id"]: e for e in row["exercises"]}
            for exercise in exercises:
                cells.append(_exercise_cell(by_id.get(exercise["id"])))
        mistakes = row.get("misconceptions", [])
        cells.append(f'<td data-sort="{len(mistakes)}">'
                     + "".join(f'<span class="tag" title="{escape(m["misconception"])}">{escape(m["exercise"])}: '
                               f'{escape(m["title"])}</span>' for m in mistakes) + "</td>")
        problems = row.get("problems", [])
        reason = f' title="{escape(row["reason"])}"' if row.get("reason") else ""
        by_kind: dict[str, list[str]] = {}      # "no file: 04, 05, 08" rather than three tags
        for problem in problems:
            by_kind.setdefault(problem["problem"], []).extend([problem["exercise"]] if problem["exercise"] else [])
        cells.append(f'<td data-sort="{len(problems)}"{reason}>'
                     + "".join(f'<span class="tag bad">{escape(kind)}{escape(": " + ", ".join(where)) if where else ""}'
                               "</span>" for kind, where in by_kind.items()) + "</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return '<table class="sortable">' + head + "<tbody>" + "\n".join(rows) + "</tbody></table>"


def _exercise_cell(exercise: dict | None) -> str:
    if exercise is None:
        return '<td class="n none" data-sort="-1">–</td>'
    score, best = exercise["score"], exercise["max_score"]
    kind = "full" if best and score >= best else "zero" if score <= 0 else "part"
    problem = f'<span class="id">{escape(exercise["problem"])}</span>' if exercise["problem"] else ""
    return f'<td class="n {kind}" data-sort="{score:g}">{points(score)}{problem}</td>'


def _misconception_table(misconceptions: list[dict], roster: list[dict]) -> str:
    if not misconceptions:
        return '<p class="empty">None recognised.</p>'
    by_id = {row["id"]: row for row in roster}
    rows = ["<table><tr><th>mistake</th><th>exercise</th><th>where it showed</th><th class=n>students</th>"
            "<th>who</th></tr>"]
    for m in misconceptions:
        who = ", ".join(_page_link(by_id.get(s, {"id": s}), inline=True) for s in m.get("students", []))
        rows.append(f'<tr><td>{escape(m.get("title", m["misconception"]))} <span class="id">{escape(m["misconception"])}'
                    f'</span></td><td>{escape(m["exercise"])}</td>'
                    f'<td>{escape(", ".join(m.get("quantities", [m.get("quantity", "")])))}</td>'
                    f'<td class=n>{m["count"]}</td><td class="who">{who}</td></tr>')
    rows.append("</table>")
    return "".join(rows)


def _quantity_tables(quantities: list[dict], checks: list[dict], exercises: list[dict]) -> list[str]:
    out = []
    for exercise in exercises:
        of_it = [q for q in quantities if q["exercise"] == exercise["id"]]
        out.append(f"<h3>{escape(exercise['id'])} {escape(exercise['title'])}</h3>")
        if not any(q["submitted"] for q in of_it):
            out.append('<p class="empty">No student submitted this exercise.</p>')
            continue
        one_function = len({q["function"] for q in of_it}) == 1     # then the function's name says nothing
        rows = ["<table><tr><th>quantity</th><th>not right, of those who submitted</th><th class=n>submitted</th>"
                "<th class=n>wrong</th><th class=n>error</th><th class=n>timeout</th><th class=n>TODO</th>"
                "<th class=n>did not submit</th><th>by case (not right)</th></tr>"]
        for q in of_it:
            label = q["quantity"] if one_function else f"{q['function']}.{q['quantity']}"
            rate = q["failure_rate"]
            bar = (f'<span class="bar"><i style="width:{100 * rate:.0f}%;background:{_colour(rate)}"></i></span>'
                   f"{rate:.0%}" if rate is not None else "–")
            cases = ", ".join(f'<span class="nowrap">{escape(c["case"])} {c["failure_rate"]:.0%}</span>' for c in checks
                              if c["exercise"] == q["exercise"] and c["function"] == q["function"]
                              and c["quantity"] == q["quantity"] and c["failure_rate"] is not None)
            rows.append(f"<tr><td><code>{escape(label)}</code></td><td>{bar}</td><td class=n>{q['submitted']}</td>"
                        f"<td class=n>{q['failed']}</td><td class=n>{q['error']}</td><td class=n>{q['timeout']}</td>"
                        f"<td class=n>{q['not_implemented']}</td><td class=n>{q['not_submitted']}</td>"
                        f'<td class="meta">{cases}</td></tr>')
        rows.append("</table>")
        out.append("".join(rows))
    return out


def _colour(rate: float) -> str:
    return "#c44e52" if rate >= 0.5 else "#dd8452" if rate >= 0.2 else "#55a868"
