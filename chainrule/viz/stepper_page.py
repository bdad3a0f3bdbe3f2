"""The stepper's page: one HTML file with its styles, script, picture and data inline.

The script reads the steps (``DATA``, built by :mod:`chainrule.viz.stepper`; every number
is already formatted there, and each text of a step is a ``{"en": ..., "zh": ...}`` pair)
and the messages of both languages, and draws one step at a
time: the panel's text, and classes on the picture's nodes (``node-<id>``) and edges
(``edge-<src>-<dst>-<k>``). The picture is there once per language, each in a
``<template id="picture-<lang>">`` (outside the document: the ids do not clash); the one of
the page's language is copied into ``#picture``, and again when the language changes. The
address's hash holds the step and the language
(``#step=5&lang=zh``), so a step can be linked to.
"""

from __future__ import annotations

import html

from .i18n import MESSAGES

__all__ = ["page"]

_CSS = """
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans CJK SC",
"Noto Sans SC","Microsoft YaHei",sans-serif;color:#1f2933;background:#f7f8fa}
header{display:flex;flex-wrap:wrap;gap:6px;align-items:center;padding:8px 12px;
background:#fff;border-bottom:1px solid #d9dee5;position:sticky;top:0;z-index:2}
header h1{font-size:16px;margin:0 12px 0 0}
button,select{font:inherit;padding:3px 10px;border:1px solid #b8c2cc;border-radius:5px;
background:#fff;cursor:pointer}
button:hover{background:#eef2f7}
#counter{margin-left:6px;color:#52606d;min-width:8em}
#lang{margin-left:auto}
main{display:grid;grid-template-columns:minmax(0,3fr) minmax(340px,2fr);gap:10px;padding:10px}
#picture,#panel{background:#fff;border:1px solid #d9dee5;border-radius:8px;padding:8px;
overflow:auto;max-height:calc(100vh - 70px)}
#picture svg{max-width:100%;height:auto;display:block;margin:auto}
#panel h2{font-size:15px;margin:2px 0 6px;color:#3d6fb4}
#panel h3{font-size:14px;margin:10px 0 4px;font-family:ui-monospace,Menlo,Consolas,monospace}
.phase-backward #panel h2,.phase-leaves #panel h2{color:#a1262e}
.phase-descent #panel h2{color:#2f7d32}
.intro{color:#52606d;margin:2px 0 8px}
.row{margin:4px 0 4px 8px}
.eq{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px;margin:3px 0 3px 8px;
white-space:pre-wrap;word-break:break-word}
.note{color:#7b5e00;background:#fff8e1;border-radius:4px;padding:2px 6px;margin:4px 0 4px 8px}
.warn{color:#a1262e}
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px}
.val{display:inline-block;vertical-align:top}
.val summary{cursor:pointer}
.val table{border-collapse:collapse;margin:3px 0 3px 14px;font-size:12px}
.val td{border:1px solid #e4e7eb;padding:1px 6px;font-family:ui-monospace,Menlo,monospace}
.val td:first-child{color:#7b8794}
.grad{color:#a1262e}
.sym{color:#3d6fb4}
footer{padding:4px 14px 12px;color:#7b8794;font-size:12px}
footer dl{display:flex;flex-wrap:wrap;gap:2px 14px;margin:4px 0}
footer dt{font-weight:600}footer dd{margin:0 8px 0 0}
svg .future{opacity:.28}
svg .done path{stroke:#3d6fb4!important}
svg .cur path{stroke:#e8590c!important;stroke-width:4px!important}
svg .hot path{stroke:#c92a2a!important;stroke-width:2.6px!important}
svg .hot path[style*="fill: #"],svg .hot path[style*="fill:#"]{fill:#c92a2a!important}
svg .gradlabel{font:bold 10px ui-monospace,Menlo,Consolas,monospace;fill:#c92a2a;
paint-order:stroke;stroke:#fff;stroke-width:3px}
svg g[id^="node-"]{cursor:pointer}
svg .vallabel{font:bold 10px ui-monospace,Menlo,Consolas,monospace;fill:#1c4f8a;
paint-order:stroke;stroke:#fff;stroke-width:3px}
"""

_JS = r"""
"use strict";
const D = JSON.parse(document.getElementById("data").textContent);
const S = D.steps;
let cur = 0, lang = D.lang, timer = null;
const $ = (id) => document.getElementById(id);
function t(key, f) {
  let s = (D.messages[lang] || D.messages.en)[key] || D.messages.en[key] || key;
  for (const k in (f || {})) s = s.split("{" + k + "}").join(f[k]);
  return s;
}
function L(x) { return x !== null && typeof x === "object" ? (x[lang] || x.en || "") : x; }
function esc(s) {
  return String(s).replace(/[&<>"]/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;",
    '"': "&quot;"})[c]);
}
function val(v, cls) {
  const c = cls ? ' class="' + cls + '"' : "";
  if (!v.el) return '<code' + c + ' data-v="' + esc(v.t) + '">' + esc(v.t) + "</code>";
  let rows = v.el.map((e) => "<tr><td>[" + e[0] + "]</td><td>" + esc(e[1]) + "</td></tr>");
  if (v.n > v.el.length) rows.push("<tr><td>...</td><td>" + (v.n - v.el.length) + "</td></tr>");
  return '<details class="val"><summary><code' + c + ' data-v="' + esc(v.t) + '">' +
    esc(v.t) + "</code> <small>" + esc(v.shape) + " " + t("elements") + "</small></summary>" +
    "<table>" + rows.join("") + "</table></details>";
}
function eq(lhs, rhs) { return '<div class="eq">' + lhs + " = " + rhs + "</div>"; }
function intro(s) { return '<p class="intro">' + s + "</p>"; }
function note(s) { s = L(s); return s ? '<div class="note">' + esc(s) + "</div>" : ""; }
const PANEL = {
  inputs(s) {
    return intro(t("inputs_intro")) + s.items.map((o) => '<div class="row"><b>' + esc(o.name) +
      "</b> <small>" + esc(o.v.shape) + " " + (o.kind === "param" ? t("requires_grad") :
      t("input")) + "</small> " + val(o.v) + "</div>").join("");
  },
  op(s) {
    let h = intro(t("forward_intro")) + "<h3>" + esc(s.name + " = " + s.call) + "</h3>";
    if (s.group) h += '<div class="row"><small>' + esc(t("module", {group: s.group})) +
      "</small></div>";
    h += '<div class="row">' + t("inputs") + ":</div>";
    h += s.args.map((a) => '<div class="row">&nbsp;&nbsp;<b>' + esc(a.name) + "</b> = " +
      val(a.v) + "</div>").join("");
    return h + '<div class="row">' + t("output") + ": <b>" + esc(s.name) + "</b> = " +
      val(s.out) + "</div>";
  },
  seed(s) {
    return intro(esc(t("seed_intro", {name: s.name, seed: s.seed.t}))) +
      (s.many ? intro(esc(t("seed_sum", {name: s.name}))) : "") +
      eq("dL/d" + esc(s.name), val(s.seed, "grad"));
  },
  step(s) {
    let h = intro(t("chain")) + "<h3>" + esc(s.name + " = " + s.call) + "</h3>";
    h += '<div class="row">' + t("local") + ': <span class="sym">' + esc(L(s.local)) +
      "</span></div>";
    if (s.saturates) h += '<div class="note">' + esc(t("vanishing", {max: s.saturates})) +
      "</div>";
    if (!s.G) return h + '<div class="row warn">' + t("no_grad") + "</div>";
    if (s.parts.length) {
      h += '<div class="row">' + esc(t("used_n", {name: s.name, n: s.parts.length})) + "</div>";
      h += eq("G = dL/d" + esc(s.name), s.parts.map((p) => val(p, "grad")).join(" + ") +
        " = " + val(s.G, "grad"));
    } else {
      h += '<div class="row">' + esc(t("receives", {gsym: s.gsym})) + " " +
        (s.alias ? esc(t("same_as", {alias: s.alias})) : "") + "</div>";
      h += eq("G", val(s.G, "grad"));
    }
    h += note(s.note);
    for (const c of s.contribs) h += contrib(c);
    for (const n of s.constants) h += '<div class="row"><small>' +
      esc(t("constant", {name: n})) + "</small></div>";
    return h;
  },
  leaf(s) {
    let h = intro(esc(t("leaf_intro", {name: s.name, call: s.call})));
    if (s.parts.length) {
      h += '<div class="row">' + esc(t("used_n", {name: s.name, n: s.parts.length})) + "</div>";
      h += eq(esc(s.name) + ".grad", s.parts.map((p) => val(p, "grad")).join(" + ") + " = " +
        val(s.grad, "grad"));
    } else h += eq(esc(s.name) + ".grad", val(s.grad, "grad"));
    return h + note(s.note);
  },
  descent(s) {
    let h = intro(esc(t("descent_intro", {lr: s.lr})));
    for (const u of s.updates) {
      h += "<h3>" + esc(u.name) + "</h3>";
      h += eq(esc(u.name) + " <small>(" + t("old") + ")</small>", val(u.old));
      h += eq("dL/d" + esc(u.name), val(u.grad, "grad"));
      h += eq(esc(u.name) + " <small>(" + t("new") + ")</small>", esc(u.name) + " - " + s.lr +
        " * dL/d" + esc(u.name) + " = " + val(u.new));
    }
    return h;
  },
};
function contrib(c) {
  let lhs = "dL/d" + esc(c.input);
  if (c.path) lhs += " <small>(" + esc(t("path", {k: c.path[0], n: c.path[1]})) + ")</small>";
  let h = "<h3>&rarr; " + esc(t("sent", {input: c.input})) + "</h3>";
  h += eq(lhs, '<span class="sym">' + esc(L(c.expr)) + "</span>");
  if (c.ops.length) h += eq(" ".repeat(2), c.ops.map((o) => (o[0] ? esc(o[0]) + " " : "") +
    val(o[1], o[0] ? "" : "grad")).join(" "));
  h += eq(" ".repeat(2), val(c.axes === null ? c.v : c.raw, "grad"));
  if (c.axes !== null) {
    const axes = t(c.many_axes ? "axes" : "axis", {a: c.axes});
    h += '<div class="row"><small>' + esc(t("summed", {axes: axes, frm: c.raw.shape,
      to: c.v.shape, input: c.input})) + "</small></div>" + eq(" ".repeat(2), val(c.v, "grad"));
  }
  if (c.path) h += '<div class="row"><small>' + esc(t("adds_up", {input: c.input})) +
    "</small></div>";
  return h + note(c.note);
}
function label(s, i) {
  if (s.kind === "descent") return (i + 1) + ". " + t("phase_descent");
  const name = s.kind === "inputs" ? t("inputs") : s.name;
  return (i + 1) + ". " + t("phase_" + s.phase) + (lang === "zh" ? ":" : ": ") + name;
}
function center(g) { const b = g.getBBox(); return [b.x + b.width / 2, b.y + b.height / 2]; }
function edgeAt(g) {  // no position from Python (a Graphviz picture): the edge's middle
  const p = g.querySelector("path"), m = g.id.match(/^edge-([^-]+)-([^-]+)-\d+$/);
  const a = m && node(m[1]), b = m && node(m[2]);
  if (!p || !p.getTotalLength || !a || !b) return null;
  const mid = p.getPointAtLength(p.getTotalLength() / 2), s = center(a), d = center(b);
  const up = Math.abs(d[1] - s[1]) >= Math.abs(d[0] - s[0]);  // the way backward sends it
  return [mid.x + 5, mid.y, up ? (s[1] < d[1] ? "\u2191" : "\u2193") :
    (s[0] < d[0] ? "\u2190" : "\u2192"), "left"];
}
let shown = null;  // the language of the picture shown
function OV() { return (D.overlays || {})[shown] || {}; }
function nodeAt(id) {
  if (OV()["node:" + id]) return OV()["node:" + id];
  const g = node(id);
  if (!g || !g.getBBox) return null;
  const b = g.getBBox();
  return [b.x + b.width, b.y + b.height / 2];
}
function text(x, y, s, cls, anchor) {
  const e = document.createElementNS("http://www.w3.org/2000/svg", "text");
  e.setAttribute("x", x); e.setAttribute("y", y); e.setAttribute("class", cls);
  if (anchor) e.setAttribute("text-anchor", anchor);
  e.textContent = s.length > 44 ? s.slice(0, 42) + "..." : s;
  document.getElementById("overlay").appendChild(e);
}
function nodes() { return document.querySelectorAll('svg g[id^="node-"]'); }
function node(id) { return document.getElementById("node-" + id); }
function edges(prefix) {
  return document.querySelectorAll('svg g[id^="edge-' + prefix + '"]');
}
function mark() {
  const s = S[cur];
  document.querySelectorAll("svg .cur, svg .done, svg .future, svg .hot").forEach((e) =>
    e.classList.remove("cur", "done", "future", "hot"));
  const ov = document.getElementById("overlay");
  if (ov) ov.textContent = "";
  const seen = new Set();
  for (let k = 0; k <= cur; k++) {
    const q = S[k];
    if (q.node) seen.add(q.node);
    for (const n of (q.nodes || [])) seen.add(n);
  }
  if (s.phase === "forward") nodes().forEach((g) => {
    if (!seen.has(g.id.slice(5))) g.classList.add("future");
    else g.classList.add("done");
  });
  else nodes().forEach((g) => g.classList.add("done"));
  for (const n of (s.nodes || []).concat(s.node ? [s.node] : [])) {
    const g = node(n);
    if (g) { g.classList.remove("done"); g.classList.add("cur"); }
  }
  const hot = (s.contribs || []).map((c) => [c.edge, c.v]).concat((s.edges || []).map(
    (e) => [e, null]));
  for (const [prefix, v] of hot) edges(prefix).forEach((g) => {
    g.classList.add("hot");
    const at = OV()[g.id.slice(5)] || edgeAt(g);
    if (v && at && ov) text(at[0], at[1] + 3, at[2] + " " + v.t, "gradlabel",
      at[3] === "center" ? "middle" : "start");
  });
  const at = s.node && nodeAt(s.node);  // the number the step computes
  const v = s.kind === "op" ? s.out : s.kind === "step" ? s.G : s.kind === "seed" ? s.seed :
    s.kind === "leaf" ? s.grad : null;
  if (at && v && ov) text(at[0] + 8, at[1] + 4, (s.phase === "forward" ? "= " : "G = ") + v.t,
    s.phase === "forward" ? "vallabel" : "gradlabel");
}
function render() {
  const s = S[cur];
  document.body.className = "phase-" + s.phase;
  $("phase").textContent = t("phase_" + s.phase);
  $("body").innerHTML = PANEL[s.kind](s);
  $("counter").textContent = t("step_of", {i: cur + 1, n: S.length});
  $("jump").value = String(cur);
  mark();
  const g = s.node && node(s.node);
  if (g && g.scrollIntoView) g.scrollIntoView({block: "nearest", inline: "nearest"});
  try {  // (not allowed in a sandboxed notebook frame: the step is simply not linked there)
    history.replaceState(null, "", "#step=" + (cur + 1) + "&lang=" + lang);
  } catch (e) { /* an opaque origin */ }
}
function texts() {
  document.querySelectorAll("[data-t]").forEach((e) => { e.textContent = t(e.dataset.t); });
  document.title = t("title");
  $("jump").innerHTML = S.map((s, i) => '<option value="' + i + '">' + esc(label(s, i)) +
    "</option>").join("");
  $("play").textContent = t(timer ? "pause" : "play");
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
}
function go(i) { cur = Math.max(0, Math.min(S.length - 1, i)); render(); }
function play() {
  if (timer) { clearInterval(timer); timer = null; }
  else {
    if (cur === S.length - 1) go(0);
    timer = setInterval(() => { if (cur >= S.length - 1) play(); else go(cur + 1); }, 1400);
  }
  $("play").textContent = t(timer ? "pause" : "play");
}
function setLang(l) { lang = l; texts(); picture(); render(); }
function fromHash() {
  const h = new URLSearchParams(location.hash.slice(1));
  if (h.get("lang") && D.messages[h.get("lang")]) lang = h.get("lang");
  const k = parseInt(h.get("step") || "1", 10);
  cur = isNaN(k) ? 0 : Math.max(0, Math.min(S.length - 1, k - 1));
}
function picture() {  // the picture in the page's language (else the English one)
  const tpl = $("picture-" + lang) || $("picture-en");
  const want = tpl ? tpl.id.slice(8) : null;
  if (!tpl || want === shown) return;
  shown = want;
  $("picture").textContent = "";
  $("picture").appendChild(document.importNode(tpl.content, true));
  const svg = document.querySelector("#picture svg");
  if (svg) {
    svg.querySelectorAll("g.node").forEach((g) => {  // (ids set by chainrule are kept)
      const ti = g.querySelector("title");
      if (ti && !g.id.startsWith("node-")) g.id = "node-" + ti.textContent;
    });
    svg.querySelectorAll("g.edge").forEach((g, k) => {
      const ti = g.querySelector("title");
      if (ti && !g.id.startsWith("edge-")) {
        g.id = "edge-" + ti.textContent.replace("->", "-") + "-" + k;
      }
    });
    const vb = (svg.getAttribute("viewBox") || "").split(/[ ,]+/).map(Number);
    if (vb.length === 4 && vb[2] > 0) {  // room on the right for the numbers written on it
      const w = parseFloat(svg.getAttribute("width")) || vb[2];
      svg.setAttribute("viewBox", [vb[0], vb[1], vb[2] + 260, vb[3]].join(" "));
      svg.setAttribute("width", (w * (vb[2] + 260) / vb[2]) + "pt");
    }
    const ov = document.createElementNS("http://www.w3.org/2000/svg", "g");
    ov.id = "overlay";  // in the nodes' coordinates (Graphviz transforms its g.graph)
    (Object.keys(OV()).length ? svg : svg.querySelector("g.graph") || svg).appendChild(ov);
    nodes().forEach((g) => g.addEventListener("click", () => {
      const id = g.id.slice(5);
      const back = S[cur].phase !== "forward";
      let k = S.findIndex((s) => s.node === id && (s.phase !== "forward") === back);
      if (k < 0) k = S.findIndex((s) => s.node === id || (s.nodes || []).includes(id));
      if (k >= 0) go(k);
    }));
  }
}
function init() {
  fromHash();
  picture();
  $("first").onclick = () => go(0);
  $("back").onclick = () => go(cur - 1);
  $("next").onclick = () => go(cur + 1);
  $("last").onclick = () => go(S.length - 1);
  $("play").onclick = play;
  $("jump").onchange = (e) => go(parseInt(e.target.value, 10));
  $("lang").onclick = () => setLang(lang === "en" ? "zh" : "en");
  document.addEventListener("keydown", (e) => {
    if (e.target.tagName === "SELECT") return;
    if (e.key === "ArrowRight" || e.key === "PageDown") go(cur + 1);
    else if (e.key === "ArrowLeft" || e.key === "PageUp") go(cur - 1);
    else if (e.key === "Home") go(0);
    else if (e.key === "End") go(S.length - 1);
    else if (e.key === " ") play();
    else return;
    e.preventDefault();
  });
  window.addEventListener("hashchange", () => { fromHash(); texts(); picture(); render(); });
  texts();
  render();
}
init();
"""

_BODY = """<header>
<h1 data-t="title"></h1>
<button id="first" data-t="first"></button><button id="back" data-t="back"></button>
<button id="play"></button><button id="next" data-t="next"></button>
<button id="last" data-t="last"></button>
<label><span data-t="jump"></span> <select id="jump"></select></label>
<span id="counter"></span>
<button id="lang" data-t="lang_switch"></button>
</header>
<main>
<div id="picture">{picture}</div>
<div id="panel"><h2 id="phase"></h2><div id="body"></div></div>
</main>
<footer><div data-t="legend"></div><div data-t="keys"></div>
<dl><dt data-t="glossary"></dt>{glossary}</dl></footer>
"""

_TERMS = ("forward", "backward", "graph", "chain", "bias", "mse", "vanishing")


def page(data_json: str, svgs: dict[str, str]) -> str:
    """The whole page: ``data_json`` is the steps and messages, ``svgs`` the picture in each
    language (none: the page says how to get one)."""
    templates = "".join(f'<template id="picture-{lang}">{svg}</template>\n'
                        for lang, svg in svgs.items())
    picture = "" if svgs else '<p data-t="no_picture"></p>'
    glossary = "".join(f"<dd>{html.escape(MESSAGES['en']['term_' + k])} / "
                       f"{html.escape(MESSAGES['zh']['term_' + k])}</dd>" for k in _TERMS)
    body = _BODY.replace("{picture}", picture).replace("{glossary}", glossary)
    # JSON inside <script>: only "</" could end the element early
    data = data_json.replace("</", "<\\/")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{html.escape('chainrule stepper')}</title>\n<style>{_CSS}</style>\n"
            f"</head><body>\n{body}\n{templates}"
            f'<script type="application/json" id="data">{data}</script>\n'
            f"<script>{_JS}</script>\n</body></html>\n")
