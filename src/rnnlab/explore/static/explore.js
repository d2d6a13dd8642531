// The explorer's page: read the controls, ask /api/flow (rnnlab.analysis.explore), draw two plots.
"use strict";

const ids = ["weight_scale", "bias_scale", "cell", "nonlinearity", "hidden_size", "length", "loss"];
let latest = 0;   // only the answer to the newest request is drawn

function fmt(v) { return v === null ? "overflow" : Number(v).toPrecision(6); }   // null: past float64

function settings() {
  const params = new URLSearchParams();
  for (const id of ids) params.set(id, document.getElementById(id).value);
  return params;
}

function draw(canvasId, values, logScale) {
  const canvas = document.getElementById(canvasId);
  const ctx = canvas.getContext("2d");
  const W = canvas.width, H = canvas.height, pad = 48;
  ctx.clearRect(0, 0, W, H);
  const ys = values.map(v => v === null ? NaN : logScale ? Math.log10(Math.max(v, 1e-12)) : v);
  const finite = ys.filter(Number.isFinite);
  let lo = finite.length ? Math.min(...finite) : 0, hi = finite.length ? Math.max(...finite) : 1;
  if (!logScale) lo = Math.min(0, lo);
  if (hi - lo < 1e-9) { hi += 1; lo -= logScale ? 1 : 0; }
  const x = i => pad + (W - 2 * pad) * (values.length > 1 ? i / (values.length - 1) : 0.5);
  const y = v => H - pad - (H - 2 * pad) * (v - lo) / (hi - lo);
  ctx.strokeStyle = "#999"; ctx.fillStyle = "#444"; ctx.font = "11px sans-serif";
  ctx.beginPath(); ctx.moveTo(pad, pad / 2); ctx.lineTo(pad, H - pad); ctx.lineTo(W - pad / 2, H - pad); ctx.stroke();
  for (let k = 0; k <= 4; k++) {
    const v = lo + (hi - lo) * k / 4;
    ctx.fillText(logScale ? "1e" + v.toFixed(1) : v.toPrecision(3), 2, y(v) + 4);
  }
  values.forEach((_, i) => { if (values.length <= 20 || i % Math.ceil(values.length / 10) === 0) ctx.fillText(String(i + 1), x(i) - 3, H - pad + 14); });
  ctx.fillText("step t", W / 2 - 15, H - 8);
  ctx.strokeStyle = logScale ? "#c0392b" : "#2c6fbb"; ctx.lineWidth = 2;
  ctx.beginPath();
  let pen = false;   // a gap where a value overflowed
  ys.forEach((v, i) => { if (!Number.isFinite(v)) { pen = false; return; }
    if (pen) ctx.lineTo(x(i), y(v)); else ctx.moveTo(x(i), y(v)); pen = true; });
  ctx.stroke();
  ctx.fillStyle = ctx.strokeStyle;
  ys.forEach((v, i) => { if (!Number.isFinite(v)) return; ctx.beginPath(); ctx.arc(x(i), y(v), 3, 0, 2 * Math.PI); ctx.fill(); });
}

async function update() {
  const request = ++latest;
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
  draw("hidden_plot", data.h_norms, false);
  draw("grad_plot", data.grad_norms, true);
  document.getElementById("eigenvalue").textContent = data.eigenvalue === null ? "— (RNN only)" : fmt(data.eigenvalue);
  document.getElementById("ratio").textContent = fmt(data.ratio);
  document.getElementById("loss_value").textContent = fmt(data.loss);
  document.getElementById("grad_values").textContent = data.grad_norms.map(fmt).join(" ");
  document.getElementById("h_values").textContent = data.h_norms.map(fmt).join(" ");
  document.body.dataset.settings = settings().toString();   // what the numbers on the page belong to
}

for (const id of ids) {
  document.getElementById(id).addEventListener("input", update);
  document.getElementById(id).addEventListener("change", update);
}
update();
