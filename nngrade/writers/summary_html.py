"""The class summary as one self-contained HTML page: inline SVG plots and CSS, no script, nothing fetched."""
from __future__ import annotations

import html

from .. import untrusted
from .gradescope import points

_CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;max-width:980px;
color:#1d2330;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2.2rem;border-bottom:1px solid #dde;
padding-bottom:.3rem}h3{font-size:1rem;margin:1.4rem 0 .3rem}
.meta{color:#5b6478;font-size:.9rem}.cards{display:flex;flex-wrap:wrap;gap:.8rem;margin:1.2rem 0}
.card{border:1px solid #dde;border-radius:8px;padding:.6rem 1rem;min-width:8rem}
.card b{display:block;font-size:1.4rem}table{border-collapse:collapse;width:100%;font-size:.92rem}
th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #eef}th{background:#f6f7fb}
td.n,th.n{text-align:right}svg{max-width:100%;height:auto}svg text{font:12px system-ui,sans-serif;fill:#1d2330}
.empty{color:#5b6478;font-style:italic}
"""


def to_html(summary: dict) -> str:
    """The page for one class summary (the dict writers.summary.to_summary returns)."""
    batch = summary["batch"]
    scores = summary["scores"]
    title = "nngrade class summary"
    parts = [
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title>", f"<style>{_CSS}</style>", "</head>", "<body>",
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
        "<h2>Score distribution</h2>", histogram_svg(summary["histogram"]),
        "<h2>Exercises</h2>", _exercise_table(summary["exercises"]),
        "<h2>Failure rate per check</h2>",
        '<p class="meta">Share of the students who submitted the exercise for whom the check did not pass '
        "(wrong, error, timeout or not implemented).</p>",
    ]
    for exercise in summary["exercises"]:
        checks = [c for c in summary["checks"] if c["exercise"] == exercise["id"]]
        parts += [f"<h3>{escape(exercise['id'])} {escape(exercise['title'])}</h3>", failure_svg(checks)]
    parts += ["<h2>Most frequent misconceptions</h2>", _misconception_table(summary["misconceptions"]),
              "</body>", "</html>"]
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


def failure_svg(checks: list[dict]) -> str:
    """One horizontal bar per check: the failure rate among students who submitted the exercise."""
    rated = [c for c in checks if c["failure_rate"] is not None]
    if not rated:
        return '<p class="empty">No student submitted this exercise.</p>'
    one_function = len({c["function"] for c in rated}) == 1      # then the function's name says nothing
    labels = [c["name"].split(".", 1)[1] if one_function and "." in c["name"] else c["name"] for c in rated]
    row, bar_w, top = 18, 380, 6
    label_w = 16 + 7 * max(len(label) for label in labels)         # about 7 px per character at 12 px
    width, height = label_w + bar_w + 60, top + row * len(rated) + 22
    out = [f'<svg role="img" aria-label="Failure rate per check" viewBox="0 0 {width} {height}" '
           f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">']
    for i, (check, label) in enumerate(zip(rated, labels)):
        y = top + i * row
        rate = check["failure_rate"]
        detail = ", ".join(f"{check[s]} {s.replace('_', ' ')}" for s in ("failed", "error", "timeout", "not_implemented")
                           if check[s])
        out.append(f'<text x="{label_w - 8}" y="{y + 13}" text-anchor="end">{escape(label)}</text>'
                   f'<rect x="{label_w}" y="{y + 3}" width="{bar_w}" height="{row - 6}" fill="#f0f1f6"/>'
                   f'<rect x="{label_w}" y="{y + 3}" width="{bar_w * rate:.1f}" height="{row - 6}" fill="{_colour(rate)}">'
                   f'<title>{escape(check["name"])}: {rate:.0%} of {check["submitted"]} did not pass'
                   f'{escape(" (" + detail + ")" if detail else "")}</title></rect>'
                   f'<text x="{label_w + bar_w + 6}" y="{y + 13}">{rate:.0%}</text>')
    axis_y = top + row * len(rated) + 14
    for tick in (0, 0.5, 1):
        out.append(f'<text x="{label_w + bar_w * tick:.1f}" y="{axis_y}" text-anchor="middle">{tick:.0%}</text>')
    out.append("</svg>")
    return "".join(out)


def _colour(rate: float) -> str:
    return "#c44e52" if rate >= 0.5 else "#dd8452" if rate >= 0.2 else "#55a868"


def _exercise_table(exercises: list[dict]) -> str:
    rows = ["<table><tr><th>exercise</th><th class=n>mean</th><th class=n>submitted</th>"
            "<th class=n>full marks</th><th>files that could not be graded</th></tr>"]
    for e in exercises:
        problems = ", ".join(f"{p['problem']} ({p['count']})" for p in e["problems"]) or "–"
        rows.append(f"<tr><td>{escape(e['id'])} {escape(e['title'])}</td><td class=n>{escape(_of(e['mean'], e['max_score']))}</td>"
                    f"<td class=n>{e['submitted']}</td><td class=n>{e['full_marks']}</td><td>{escape(problems)}</td></tr>")
    rows.append("</table>")
    return "".join(rows)


def _misconception_table(misconceptions: list[dict]) -> str:
    if not misconceptions:
        return '<p class="empty">None recognised yet.</p>'
    rows = ["<table><tr><th>exercise</th><th>quantity</th><th>misconception</th><th class=n>students</th></tr>"]
    rows += [f"<tr><td>{escape(m['exercise'])}</td><td>{escape(m['quantity'])}</td><td>{escape(m['misconception'])}</td>"
             f"<td class=n>{m['count']}</td></tr>" for m in misconceptions]
    rows.append("</table>")
    return "".join(rows)
