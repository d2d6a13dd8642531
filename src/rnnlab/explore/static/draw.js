// The draw page: a canvas (pointer events: mouse, pen, finger) -> POST /api/read -> the reading drawn.
"use strict";
const pad = document.getElementById("pad");
const ctx = pad.getContext("2d");
const runSelect = document.getElementById("run");
const errorLine = document.getElementById("error");
let drawing = false;
let inked = false;
let pending = 0;

function clearPad() {
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, pad.width, pad.height);
  inked = false;
}

function point(event) {
  const box = pad.getBoundingClientRect();
  return [(event.clientX - box.left) * pad.width / box.width, (event.clientY - box.top) * pad.height / box.height];
}

pad.addEventListener("pointerdown", (event) => {
  drawing = true;
  pad.setPointerCapture(event.pointerId);
  const [x, y] = point(event);
  ctx.strokeStyle = "#000";
  ctx.lineWidth = 18;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  ctx.beginPath();
  ctx.moveTo(x, y);
  ctx.lineTo(x + 0.01, y);
  ctx.stroke();
  inked = true;
});
pad.addEventListener("pointermove", (event) => {
  if (!drawing) return;
  const [x, y] = point(event);
  ctx.lineTo(x, y);
  ctx.stroke();
});
function endStroke() {
  if (!drawing) return;
  drawing = false;
  read();
}
pad.addEventListener("pointerup", endStroke);
pad.addEventListener("pointercancel", endStroke);

function heat(canvas, rows, low, high, colour) {
  // rows: an array of arrays (steps down, units or classes across), drawn as cells
  const c = canvas.getContext("2d");
  c.clearRect(0, 0, canvas.width, canvas.height);
  const h = canvas.height / rows.length;
  const w = canvas.width / rows[0].length;
  rows.forEach((row, i) => row.forEach((value, j) => {
    const t = Math.max(0, Math.min(1, (value - low) / (high - low)));
    c.fillStyle = colour(t);
    c.fillRect(j * w, i * h, Math.ceil(w), Math.ceil(h));
  }));
}
const greens = (t) => `rgb(${Math.round(255 - 200 * t)},${Math.round(255 - 90 * t)},${Math.round(255 - 200 * t)})`;
const grays = (t) => `rgb(${Math.round(255 * t)},${Math.round(255 * t)},${Math.round(255 * t)})`;
const redBlue = (t) => t < 0.5
  ? `rgb(${Math.round(510 * t)},${Math.round(510 * t)},255)`
  : `rgb(255,${Math.round(510 * (1 - t))},${Math.round(510 * (1 - t))})`;

function heatMap(title, rows, signed) {
  const figure = document.createElement("figure");
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(120, Math.min(512, rows[0].length * 4));
  canvas.height = rows.length * 8;
  figure.appendChild(canvas);
  const caption = document.createElement("figcaption");
  caption.textContent = `${title}: steps down, units across (${signed ? "-1 blue, +1 red" : "0 white, 1 green"})`;
  figure.appendChild(caption);
  document.getElementById("maps").appendChild(figure);
  heat(canvas, rows, signed ? -1 : 0, 1, signed ? redBlue : greens);
}

function show(result) {
  heat(document.getElementById("seen"), result.image, 0, 1, grays);
  document.getElementById("prediction").textContent = String(result.prediction);
  document.getElementById("confidence").textContent =
    `${(100 * result.probabilities[result.prediction]).toFixed(1)} %`;
  heat(document.getElementById("rows_plot"), result.row_probabilities, 0, 1, greens);
  document.getElementById("row_values").textContent =
    result.row_probabilities.map((row) => row.map((v) => v.toFixed(4)).join(" ")).join("\n");
  const maps = document.getElementById("maps");
  maps.replaceChildren();
  if (result.hidden) heatMap("hidden state h_t", result.hidden, true);
  for (const [name, values] of Object.entries(result.gates)) {
    heatMap(`${name} gate`, values, name === "cell" || name === "new");
  }
  document.getElementById("note").textContent = result.note;
}

async function read() {
  if (!inked || !runSelect.value) return;
  const ticket = ++pending;
  errorLine.textContent = "";
  const response = await fetch("api/read", {
    method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({run: runSelect.value, png: pad.toDataURL("image/png")}),
  });
  const result = await response.json();
  if (ticket !== pending) return;   // a newer stroke's answer is on its way
  if (!response.ok) {
    errorLine.textContent = result.error;
    return;
  }
  show(result);
  document.body.dataset.read = String(ticket);   // for tests: which request the page shows
}

async function loadRuns() {
  const response = await fetch("api/runs");
  const {runs} = await response.json();
  runSelect.replaceChildren(...runs.map((run) => {
    const option = document.createElement("option");
    option.value = run.id;
    const accuracy = run.test_accuracy === null ? "" : `, ${(100 * run.test_accuracy).toFixed(2)} % on its test set`;
    option.textContent = `${run.id} (${run.model}, ${run.task}${accuracy})`;
    return option;
  }));
  if (!runs.length) errorLine.textContent = "no trained run of an image task in the runs folder: train one first "
    + "(rnnlab train --task mnist-rows)";
  document.body.dataset.runs = String(runs.length);
}

document.getElementById("clear").addEventListener("click", clearPad);
runSelect.addEventListener("change", read);
clearPad();
loadRuns();
