// The explorer's page: read the controls, ask /api/flow (rnnlab.analysis.explore), draw two plots and a table.
//
// Axes: the log plot's ticks are whole decades (10^-3, 10^-2, ...); the linear plot's are 0 and round numbers.
// While the sliders move, the axes are held: they only grow to take a value that falls outside them, so a
// curve that shrinks is seen shrinking. Changing another control (cell, length, ...) or "fit the axes" fits
// them to the curve again.
"use strict";

const ids = ["weight_scale", "bias_scale", "cell", "nonlinearity", "hidden_size", "length", "loss"];
const sliders = new Set(["weight_scale", "bias_scale"]);
const SHOWN_STEPS = 11;   // the compact table's columns: the first and last steps and evenly spaced ones between
let latest = 0;           // only the answer to the newest request is drawn
const held = {hidden_plot: null, grad_plot: null};   // each plot's axis range [lo, hi] while sliders move

function fmt(v) { return v === null ? "overflow" : Number(v).toPrecision(6); }   // null: past float64

function short(v) {   // three significant digits, in e-notation outside 0.001 .. 10000
  if (v === null) return "overflow";
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e4) ? v.toExponential(2) : v.toPrecision(3);
}

const SUPERSCRIPT = {"-": "\u207b", "0": "\u2070", "1": "\u00b9", "2": "\u00b2", "3": "\u00b3", "4": "\u2074",
                     "5": "\u2075", "6": "\u2076", "7": "\u2077", "8": "\u2078", "9": "\u2079"};
function decade(k) { return k === 0 ? "1" : k === 1 ? "10" : "10" + String(k).split("").map(c => SUPERSCRIPT[c]).join(""); }

function settings() {
  const params = new URLSearchParams();
  for (const id of ids) params.set(id, document.getElementById(id).value);
  return params;
}

function niceCeil(v) {   // the smallest of 1, 2, 2.5, 5 x 10^k at or above v
  if (!(v > 0)) return 1;
  const base = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * base >= v * (1 - 1e-12)) return m * base;
  return 10 * base;
}

// The range a plot needs for these values: whole decades (log10 units) or [0, a round number].
function fitted(ys, logScale) {
  const finite = ys.filter(Number.isFinite);
  if (!finite.length) return logScale ? [-1, 0] : [0, 1];
  if (logScale) {
    let lo = Math.floor(Math.min(...finite)), hi = Math.ceil(Math.max(...finite));
    if (hi === lo) hi += 1;
    return [lo, hi];
  }
  const low = Math.min(...finite);
  return [low >= 0 ? 0 : -niceCeil(-low), niceCeil(Math.max(...finite))];
}

function ticks(lo, hi, logScale) {
  if (logScale) {
    const step = Math.max(1, Math.ceil((hi - lo) / 8));   // at most about 8 decades labelled
    const out = [];
    for (let k = Math.ceil(lo / step) * step; k <= hi; k += step) out.push(k);
    return out;
  }
  const step = niceCeil((hi - lo) / 5);
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function draw(canvasId, values, logScale, refit) {
  const canvas = document.getElementById(canvasId);
  const ctx = canvas.getContext("2d");
  const W = canvas.width, H = canvas.height, pad = 52;
  ctx.clearRect(0, 0, W, H);
  const ys = values.map(v => v === null ? NaN : logScale ? Math.log10(Math.max(v, 1e-300)) : v);
  const need = fitted(ys, logScale);
  const range = refit || !held[canvasId] ? need
    : [Math.min(held[canvasId][0], need[0]), Math.max(held[canvasId][1], need[1])];
  held[canvasId] = range;
  const [lo, hi] = range;
  const x = i => pad + (W - 1.5 * pad) * (values.length > 1 ? i / (values.length - 1) : 0.5);
  const y = v => H - pad - (H - 1.5 * pad) * (v - lo) / (hi - lo);
  ctx.font = "13px sans-serif";
  for (const v of ticks(lo, hi, logScale)) {      // grid lines and labels
    ctx.strokeStyle = "#eee"; ctx.beginPath(); ctx.moveTo(pad, y(v)); ctx.lineTo(W - pad / 2, y(v)); ctx.stroke();
    ctx.fillStyle = "#444"; ctx.textAlign = "right";
    ctx.fillText(logScale ? decade(v) : String(v), pad - 6, y(v) + 4);
  }
  ctx.strokeStyle = "#999";
  ctx.beginPath(); ctx.moveTo(pad, pad / 2); ctx.lineTo(pad, H - pad); ctx.lineTo(W - pad / 2, H - pad); ctx.stroke();
  ctx.textAlign = "center";
  const every = values.length <= 20 ? 1 : Math.ceil(values.length / 10);
  values.forEach((_, i) => { if (i % every === 0 || i === values.length - 1) ctx.fillText(String(i + 1), x(i), H - pad + 16); });
  ctx.fillText("step t", (W + pad / 2) / 2, H - 10);
  ctx.strokeStyle = logScale ? "#c0392b" : "#2c6fbb"; ctx.lineWidth = 2;
  ctx.beginPath();
  let pen = false;   // a gap where a value overflowed
  ys.forEach((v, i) => { if (!Number.isFinite(v)) { pen = false; return; }
    if (pen) ctx.lineTo(x(i), y(v)); else ctx.moveTo(x(i), y(v)); pen = true; });
  ctx.stroke();
  ctx.lineWidth = 1;
  ctx.fillStyle = ctx.strokeStyle;
  const dots = values.length <= 60;
  ys.forEach((v, i) => { if (!dots || !Number.isFinite(v)) return; ctx.beginPath(); ctx.arc(x(i), y(v), 3, 0, 2 * Math.PI); ctx.fill(); });
  canvas.dataset.axis = JSON.stringify(range);    // for tests: the range the axis shows
}

function shownSteps(count) {   // indices of the steps the compact table shows
  if (count <= SHOWN_STEPS) return [...Array(count).keys()];
  const picked = new Set();
  for (let k = 0; k < SHOWN_STEPS; k++) picked.add(Math.round(k * (count - 1) / (SHOWN_STEPS - 1)));
  return [...picked].sort((a, b) => a - b);
}

function table(data) {
  const steps = shownSteps(data.grad_norms.length);
  const row = (head, cells, tag) => "<tr><th>" + head + "</th>" + cells.map(c => `<${tag}>${c}</${tag}>`).join("") + "</tr>";
  document.getElementById("numbers").innerHTML =
    row("step t", steps.map(i => String(i + 1)), "th") +
    row("||h<sub>t</sub>||", steps.map(i => short(data.h_norms[i])), "td") +
    row("||dL/dh<sub>t</sub>||", steps.map(i => short(data.grad_norms[i])), "td");
  document.getElementById("numbers_note").textContent = steps.length < data.grad_norms.length
    ? `${steps.length} of ${data.grad_norms.length} steps shown; every value below.` : "";
  document.getElementById("grad_values").textContent = data.grad_norms.map(fmt).join(" ");
  document.getElementById("h_values").textContent = data.h_norms.map(fmt).join(" ");
}

async function update(event) {
  const request = ++latest;
  const refit = !event || !sliders.has(event.target.id);   // the page's start, another control, "fit the axes"
  document.getElementById("weight_scale_value").textContent = Number(document.getElementById("weight_scale").value).toFixed(2);
  document.getElementById("bias_scale_value").textContent = Number(document.getElementById("bias_scale").value).toFixed(2);
  const error = document.getElementById("error");
  let response, data;
  try {
    response = await fetch("/api/flow?" + settings().toString());
    data = await response.json();
  } catch (err) {   // the server stopped, or answered something that is not JSON
    if (request === latest) error.textContent = "no answer from the explorer's server: " + err;
    return;
  }
  if (request !== latest) return;
  if (!response.ok) { error.textContent = data.error; return; }
  error.textContent = "";
  draw("hidden_plot", data.h_norms, false, refit);
  draw("grad_plot", data.grad_norms, true, refit);
  document.getElementById("eigenvalue").textContent = data.eigenvalue === null ? "— (RNN only)" : fmt(data.eigenvalue);
  document.getElementById("ratio").textContent = fmt(data.ratio);
  document.getElementById("loss_value").textContent = fmt(data.loss);
  table(data);
  document.body.dataset.settings = settings().toString();   // what the numbers on the page belong to
}

for (const id of ids) {
  // a slider fires "input" while it moves and "change" when let go: the axes are held through both
  document.getElementById(id).addEventListener("input", update);
  if (!sliders.has(id)) document.getElementById(id).addEventListener("change", update);
}
document.getElementById("fit").addEventListener("click", update);
update();
