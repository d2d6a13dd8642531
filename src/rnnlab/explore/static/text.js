// The text page: typed text -> POST /api/units -> each character coloured by the chosen unit, the units that
// track quotes, brackets, line position and word boundaries listed first, and the gradient of the next prediction.
"use strict";
const runSelect = document.getElementById("run");
const ofSelect = document.getElementById("of");
const unitSelect = document.getElementById("unit");
const typed = document.getElementById("typed");
const errorLine = document.getElementById("error");
const SAMPLE = 'He said "it is (not) so".\nThe end, (he wrote) "of the line".\n';
let pending = 0;
let timer = null;
let result = null;

// colours as matplotlib's RdBu_r (signed) and Greens (0..1) run: a few stops, interpolated linearly
const RDBU = [[5, 48, 97], [67, 147, 195], [247, 247, 247], [214, 96, 77], [103, 0, 31]];
const GREENS = [[247, 252, 245], [161, 217, 155], [65, 171, 93], [0, 109, 44], [0, 68, 27]];
function colour(t, stops) {
  t = Math.max(0, Math.min(1, Number.isFinite(t) ? t : 0)) * (stops.length - 1);
  const k = Math.min(Math.floor(t), stops.length - 2);
  const f = t - k;
  const rgb = stops[k].map((a, i) => Math.round(a + f * (stops[k + 1][i] - a)));
  return `rgb(${rgb.join(",")})`;
}

function paint(element, text, shades, titles) {
  // one span per character, its background the colour of its shade; a newline is shown as ↵ and kept
  element.replaceChildren(...Array.from(text).map((c, t) => {
    const span = document.createElement("span");
    span.textContent = c === "\n" ? "↵\n" : c;
    span.style.background = shades[t];
    span.title = titles[t];
    return span;
  }));
}

function showUnit() {
  if (!result) return;
  const unit = Number(unitSelect.value);
  const values = result.values.map((row) => row[unit]);
  const shades = values.map((v) => result.signed ? colour(0.5 + 0.5 * v, RDBU) : colour(v, GREENS));
  paint(document.getElementById("coloured"), result.text, shades, values.map((v) => v.toFixed(3)));
  document.getElementById("unit_name").textContent = `${result.of} unit ${unit}`;
  document.body.dataset.shown = `${result.text.length}:${result.of}:${unit}`;   // for tests: what the page shows
}

function showGradient() {
  const gradient = result.connectivity;
  const target = document.getElementById("gradient");
  if (!gradient) {
    target.textContent = "(this model's gradient is not available: the NumPy engine has no such model)";
    document.getElementById("next").textContent = "?";
    return;
  }
  const top = Math.max(...gradient.norms);
  const shades = gradient.norms.map((g) => colour(top > 0 && g > 0 ? 1 + Math.log10(g / top) / 4 : 0, GREENS));
  paint(target, result.text, shades, gradient.norms.map((g) => g.toExponential(2)));
  const shown = gradient.predicted === "\n" ? "↵ (a new line)" : gradient.predicted === " " ? "␣ (a space)"
    : gradient.predicted;
  document.getElementById("next").textContent = `${shown} (p = ${gradient.probability.toFixed(2)})`;
}

function fillUnits() {
  // the best units per signal first (in the order of the signals), then every other unit
  const keep = unitSelect.value;
  const options = [];
  const rows = [];
  for (const [signal, pairs] of Object.entries(result.best)) {
    for (const [unit, r] of pairs) rows.push([signal, unit, r]);
  }
  const first = new Map();
  for (const [signal, unit, r] of rows) if (!first.has(unit)) first.set(unit, `${result.meanings[signal]}, r = ${r.toFixed(2)}`);
  for (const unit of result.ranked) {
    const option = document.createElement("option");
    option.value = String(unit);
    option.textContent = first.has(unit) ? `unit ${unit} (${first.get(unit)})` : `unit ${unit}`;
    options.push(option);
  }
  unitSelect.replaceChildren(...options);
  unitSelect.value = keep !== "" && Number(keep) < result.units ? keep : String(result.ranked[0]);
  const body = document.querySelector("#best tbody");
  body.replaceChildren(...rows.map(([signal, unit, r]) => {
    const tr = document.createElement("tr");
    for (const text of [result.meanings[signal], `unit ${unit}`, r.toFixed(3)]) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.appendChild(td);
    }
    tr.addEventListener("click", () => { unitSelect.value = String(unit); showUnit(); });
    return tr;
  }));
}

function fillSources() {
  const keep = ofSelect.value;
  ofSelect.replaceChildren(...result.sources.map((name) => {
    const option = document.createElement("option");
    option.value = name;
    option.textContent = name === "hidden" ? "hidden state h_t" : `${name} gate`;
    return option;
  }));
  ofSelect.value = result.sources.includes(keep) ? keep : "hidden";
}

async function read() {
  if (!runSelect.value || !typed.value) return;
  const ticket = ++pending;
  const response = await fetch("api/units", {
    method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({run: runSelect.value, text: typed.value, of: ofSelect.value}),
  });
  const answer = await response.json();
  if (ticket !== pending) return;   // a newer text's answer is on its way
  if (!response.ok) {
    errorLine.textContent = answer.error;
    return;
  }
  errorLine.textContent = "";
  result = answer;
  fillSources();
  fillUnits();
  showUnit();
  showGradient();
}

function soon() {
  clearTimeout(timer);
  timer = setTimeout(read, 120);
}

async function loadRuns() {
  const response = await fetch("api/text-runs");
  const {runs} = await response.json();
  runSelect.replaceChildren(...runs.map((run) => {
    const option = document.createElement("option");
    option.value = run.id;
    option.textContent = `${run.id} (${run.model}, ${run.task}, ${run.characters.length} characters)`;
    option.dataset.characters = run.characters;
    return option;
  }));
  document.body.dataset.runs = String(runs.length);
  if (!runs.length) {
    errorLine.textContent = "no trained character-level run in the runs folder (word-level runs are not listed: this page reads characters): train one first (rnnlab train --task text)";
    return;
  }
  const known = new Set(runs[0].characters);
  typed.value = Array.from(SAMPLE).filter((c) => known.has(c)).join("");
  read();
}

typed.addEventListener("input", soon);
runSelect.addEventListener("change", () => { unitSelect.value = ""; read(); });
ofSelect.addEventListener("change", read);
unitSelect.addEventListener("change", showUnit);
loadRuns();
