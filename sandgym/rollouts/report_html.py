"""The report page: inline SVG plots, a per-task table, and an episode browser.

Everything is in one file with no external reference (CI has no network). Plots are
drawn here as SVG so they show even with scripts off; the episode list and its filters
are a small inline script reading the episodes from an embedded JSON block. Model text
is untrusted: the JSON block escapes ``<`` (no ``</script>`` can end it) and the script
inserts text with ``textContent`` only, never as HTML.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from typing import Any

from sandgym.rollouts.report import ReportData, reward_histogram

__all__ = ["render_html"]

_COLORS = {"pass": "#2e7d32", "fail": "#c62828", "error": "#ef6c00", "timeout": "#6a1b9a",
           "sandbox_error": "#455a64", "running": "#1565c0", "none": "#9e9e9e"}
_CURVE_KEYS = ("reward/mean", "verdict/pass_rate", "loss", "time/step_s", "sandbox/grading_s")


def render_html(data: ReportData) -> str:
    """The whole page as one string."""
    pass_rate = data.pass_rate
    head = (f"{data.total} episodes · pass rate "
            f"{'n/a' if pass_rate is None else f'{pass_rate:.1%}'} · "
            f"{data.statuses.get('sandbox_error', 0)} sandbox errors")
    sections = [f"<h1>{_e(data.title)}</h1>", f'<p id="summary">{_e(head)}</p>',
                '<p class="src">' + "<br>".join(_e(s) for s in data.sources) + "</p>"]
    if data.total:
        sections.append('<section id="distributions"><h2>Distributions</h2><div class="row">'
                        + _bar_chart("Final reward", reward_histogram(data.rewards),
                                     "reward-hist")
                        + _bar_chart("Verdicts", sorted(data.statuses.items()),
                                     "verdict-hist", colored=True)
                        + "</div></section>")
        sections.append(_task_table(data))
    if data.curves:
        sections.append(_curves(data.curves))
    if data.total:
        note = (f"first {len(data.shown)} of {data.total}" if len(data.shown) < data.total
                else f"all {data.total}")
        sections.append(_EPISODES.replace("{note}", _e(note)))
    payload = json.dumps({"episodes": data.shown}, ensure_ascii=True, allow_nan=False,
                         default=str).replace("<", "\\u003c")
    values = {"title": _e(data.title), "css": _CSS, "script": _SCRIPT,
              "body": "\n".join(sections), "data": payload}
    # One pass over the template: text put in is never scanned again for placeholders.
    return re.sub(r"\{(title|css|script|body|data)\}", lambda m: values[m.group(1)], _PAGE)


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _bar_chart(title: str, bars: Sequence[tuple[str, int]], ident: str,
               colored: bool = False) -> str:
    """A vertical bar chart; every bar carries its count as a label and a tooltip."""
    width, height, pad = 420, 220, 30
    top = max((n for _, n in bars), default=0) or 1
    step = (width - 2 * pad) / max(len(bars), 1)
    parts = [f'<figure><figcaption>{_e(title)}</figcaption>'
             f'<svg id="{ident}" class="chart" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{_e(title)}">',
             f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" '
             'stroke="#555"/>']
    for i, (label, count) in enumerate(bars):
        h = (height - 2 * pad - 14) * count / top
        x = pad + i * step + step * 0.1
        y = height - pad - h
        color = _COLORS.get(label, "#1565c0") if colored else "#1565c0"
        parts.append(f'<g class="bar" data-label="{_e(label)}" data-count="{count}">'
                     f'<title>{_e(label)}: {count}</title>'
                     f'<rect x="{x:.1f}" y="{y:.1f}" width="{step * 0.8:.1f}" height="{h:.1f}" '
                     f'fill="{color}"/>'
                     f'<text x="{x + step * 0.4:.1f}" y="{y - 3:.1f}" text-anchor="middle" '
                     f'font-size="11">{count}</text>'
                     f'<text x="{x + step * 0.4:.1f}" y="{height - pad + 13}" '
                     f'text-anchor="middle" font-size="10">{_e(label)}</text></g>')
    parts.append("</svg></figure>")
    return "".join(parts)


def _task_table(data: ReportData) -> str:
    rows = []
    for task, (passed, scored, n) in sorted(data.tasks.items()):
        rate = passed / scored if scored else None
        bar = (f'<span class="meter"><span style="width:{100 * rate:.0f}%"></span></span>'
               if rate is not None else "")
        rows.append(f'<tr data-task="{_e(task)}"><td>{_e(task)}</td><td>{n}</td>'
                    f'<td>{passed}/{scored}</td><td>{bar} '
                    f'{"n/a" if rate is None else f"{rate:.0%}"}</td></tr>')
    return ('<section id="tasks"><h2>Pass rate per task</h2><table class="tasks"><thead><tr>'
            '<th>task</th><th>episodes</th><th>passed/scored</th><th>pass rate</th></tr>'
            f'</thead><tbody>{"".join(rows)}</tbody></table></section>')


def _curves(curves: dict[str, list[dict[str, Any]]]) -> str:
    parts = ['<section id="curves"><h2>Training curves</h2>']
    for label, rows in curves.items():
        keys = [k for k in _CURVE_KEYS if any(k in r for r in rows)]
        parts.append(f'<h3>{_e(label)}</h3><div class="row">')
        for key in keys:
            points = [(float(r["step"]), float(r[key])) for r in rows if key in r]
            parts.append(_line_chart(key, points))
        parts.append("</div>")
    parts.append("</section>")
    return "".join(parts)


def _line_chart(title: str, points: list[tuple[float, float]]) -> str:
    width, height, pad = 420, 200, 36
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    if x1 == x0:
        x1 = x0 + 1
    if y1 == y0:
        y0, y1 = y0 - 0.5, y1 + 0.5

    def sx(x: float) -> float:
        return pad + (x - x0) / (x1 - x0) * (width - 2 * pad)

    def sy(y: float) -> float:
        return height - pad - (y - y0) / (y1 - y0) * (height - 2 * pad)

    path = " ".join(f"{'M' if i == 0 else 'L'}{sx(x):.1f},{sy(y):.1f}"
                    for i, (x, y) in enumerate(points))
    dots = "".join(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2.5" fill="#1565c0">'
                   f"<title>step {x:g}: {y:.4g}</title></circle>" for x, y in points)
    return (f'<figure><figcaption>{_e(title)}</figcaption>'
            f'<svg class="chart curve" data-key="{_e(title)}" data-points="{len(points)}" '
            f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
            f'<rect x="{pad}" y="{pad}" width="{width - 2 * pad}" height="{height - 2 * pad}" '
            'fill="none" stroke="#ccc"/>'
            f'<path d="{path}" fill="none" stroke="#1565c0" stroke-width="1.5"/>{dots}'
            f'<text x="{pad}" y="{height - 8}" font-size="10">step {x0:g}</text>'
            f'<text x="{width - pad}" y="{height - 8}" font-size="10" text-anchor="end">'
            f'{x1:g}</text><text x="2" y="{pad}" font-size="10">{y1:.3g}</text>'
            f'<text x="2" y="{height - pad}" font-size="10">{y0:.3g}</text></svg></figure>')


_EPISODES = """<section id="episodes"><h2>Episodes <small>({note})</small></h2>
<form id="filters" onsubmit="return false">
<label>task <select id="f-task"><option value="">all</option></select></label>
<label>verdict <select id="f-verdict"><option value="">all</option></select></label>
<label>reward ≥ <input id="f-min" type="number" step="any" size="6"></label>
<label>reward ≤ <input id="f-max" type="number" step="any" size="6"></label>
<label>text <input id="f-text" type="search" size="14"></label>
</form>
<p id="count"></p><div id="list"></div>
<button id="more" type="button" hidden>show more</button>
</section>"""

_CSS = """body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;max-width:1200px}
h1{font-size:1.4em}.src{color:#777;font-size:11px}.row{display:flex;flex-wrap:wrap;gap:1em}
figure{margin:0}figcaption{font-weight:600}table.tasks{border-collapse:collapse}
.tasks td,.tasks th{border-bottom:1px solid #ddd;padding:2px 8px;text-align:left}
.meter{display:inline-block;width:80px;height:8px;background:#eee;vertical-align:middle}
.meter span{display:block;height:8px;background:#2e7d32}
#filters label{margin-right:1em}details.ep{border:1px solid #ddd;margin:4px 0;padding:4px 8px}
details.ep summary{cursor:pointer}.badge{color:#fff;padding:0 6px;border-radius:3px;
font-size:12px}.msg{margin:6px 0;padding:4px 8px;border-left:3px solid #bbb}
.msg.assistant{border-color:#1565c0;background:#f3f7fd}.msg.user{border-color:#999}
.msg.system{border-color:#ddd;color:#666}.msg pre,.step pre{white-space:pre-wrap;margin:2px 0}
.step{margin:2px 0 8px 16px;padding:4px 8px;background:#fafafa;border:1px dashed #ccc;
font-size:12px}.role{font-weight:600;font-size:12px}"""

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; \
style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<style>{css}</style></head><body>
{body}
<script type="application/json" id="report-data">{data}</script>
<script>{script}</script>
</body></html>
"""

_SCRIPT = r"""
(function () {
  "use strict";
  var COLORS = {pass: "#2e7d32", fail: "#c62828", error: "#ef6c00", timeout: "#6a1b9a",
                sandbox_error: "#455a64", running: "#1565c0", none: "#9e9e9e"};
  var PAGE = 100;
  var node = document.getElementById("report-data");
  var list = document.getElementById("list");
  if (!node || !list) { return; }
  var episodes = JSON.parse(node.textContent).episodes;
  var f = {task: document.getElementById("f-task"), verdict: document.getElementById("f-verdict"),
           min: document.getElementById("f-min"), max: document.getElementById("f-max"),
           text: document.getElementById("f-text")};
  var more = document.getElementById("more");
  var count = document.getElementById("count");
  var limit = PAGE;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  function options(select, values) {
    values.forEach(function (v) {
      var o = el("option", null, v); o.value = v; select.appendChild(o);
    });
  }
  function uniq(key) {
    var seen = {};
    episodes.forEach(function (e) { seen[e[key]] = true; });
    return Object.keys(seen).sort();
  }
  options(f.task, uniq("task"));
  options(f.verdict, uniq("status"));

  function fromHash() {
    var params = new URLSearchParams(location.hash.replace(/^#/, ""));
    f.task.value = params.get("task") || "";
    f.verdict.value = params.get("verdict") || "";
    f.min.value = params.get("min") || "";
    f.max.value = params.get("max") || "";
    f.text.value = params.get("text") || "";
  }
  function toHash() {
    var params = new URLSearchParams();
    ["task", "verdict", "min", "max", "text"].forEach(function (k) {
      if (f[k].value) { params.set(k, f[k].value); }
    });
    try { history.replaceState(null, "", "#" + params.toString()); } catch (err) { /* file: */ }
  }
  function matches(e) {
    if (f.task.value && e.task !== f.task.value) { return false; }
    if (f.verdict.value && e.status !== f.verdict.value) { return false; }
    var lo = f.min.value === "" ? null : Number(f.min.value);
    var hi = f.max.value === "" ? null : Number(f.max.value);
    var unscored = e.reward === null || e.reward === undefined;
    if ((lo !== null || hi !== null) && unscored) { return false; }
    if (lo !== null && e.reward < lo) { return false; }
    if (hi !== null && e.reward > hi) { return false; }
    if (f.text.value) {
      var needle = f.text.value.toLowerCase();
      var texts = e.messages.map(function (m) { return m.content; });
      var hay = (e.id + " " + texts.join(" ")).toLowerCase();
      if (hay.indexOf(needle) < 0) { return false; }
    }
    return true;
  }
  function stepBox(e, i) {
    var box = el("div", "step");
    var reward = e.rewards[i];
    box.appendChild(el("div", null, "step " + (i + 1) + " · reward " +
                       (reward === null || reward === undefined ? "n/a" : reward)));
    if (e.verdicts[i] !== undefined) {
      box.appendChild(el("div", "role", "verdict"));
      box.appendChild(el("pre", "verdict", JSON.stringify(e.verdicts[i], null, 1)));
    }
    if (e.components[i] !== undefined) {
      box.appendChild(el("div", "role", "reward components"));
      box.appendChild(el("pre", "components", JSON.stringify(e.components[i], null, 1)));
    }
    return box;
  }
  function body(e, det) {
    var step = 0;
    e.messages.forEach(function (m) {
      var div = el("div", "msg " + m.role);
      div.appendChild(el("div", "role", m.role));
      div.appendChild(el("pre", null, m.content));
      det.appendChild(div);
      if (m.role === "assistant" && step < e.actions.length) {
        det.appendChild(stepBox(e, step++));
      }
    });
    for (; step < e.actions.length; step++) {
      var act = el("div", "msg assistant");
      act.appendChild(el("div", "role", "action " + (step + 1)));
      act.appendChild(el("pre", null, e.actions[step]));
      det.appendChild(act);
      det.appendChild(stepBox(e, step));
    }
    if (e.final_observation) {
      var obs = el("div", "msg user final");
      obs.appendChild(el("div", "role", "final observation"));
      obs.appendChild(el("pre", null, e.final_observation));
      det.appendChild(obs);
    }
    if (e.error) { det.appendChild(el("p", "error", "error: " + e.error)); }
  }
  function card(e) {
    var det = el("details", "ep");
    det.dataset.id = e.id; det.dataset.status = e.status; det.dataset.task = e.task;
    var sum = el("summary");
    var badge = el("span", "badge", e.status);
    badge.style.background = COLORS[e.status] || "#777";
    sum.appendChild(badge);
    sum.appendChild(document.createTextNode(" " + e.id + " · reward " +
      (e.reward === null ? "n/a" : e.reward) + " · " + e.turns + " turn(s)"));
    det.appendChild(sum);
    det.addEventListener("toggle", function () { fill(e, det); });
    return det;
  }
  function fill(e, det) {
    if (det.dataset.filled) { return; }
    det.dataset.filled = "1";
    body(e, det);
  }
  function render() {
    var shown = episodes.filter(matches);
    list.textContent = "";
    shown.slice(0, limit).forEach(function (e) { list.appendChild(card(e)); });
    count.textContent = shown.length + " of " + episodes.length + " episodes match";
    count.dataset.matching = String(shown.length);
    more.hidden = shown.length <= limit;
    if (shown.length === 1) { fill(shown[0], list.firstChild); list.firstChild.open = true; }
  }
  function changed() { limit = PAGE; toHash(); render(); }
  Object.keys(f).forEach(function (k) { f[k].addEventListener("input", changed); });
  more.addEventListener("click", function () { limit += PAGE; render(); });
  window.addEventListener("hashchange", function () { fromHash(); render(); });
  fromHash();
  render();
  document.body.dataset.rendered = "1";
})();
"""
