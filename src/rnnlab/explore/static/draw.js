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

function clearResult() {
  // "clear": the pad and everything read from the last picture; an answer still on its way is dropped
  pending++;
  clearPad();
  for (const id of ["seen", "rows_plot"]) {
    const canvas = document.getElementById(id);
    canvas.getContext("2d").clearRect(0, 0, canvas.width, canvas.height);
  }
  document.getElementById("prediction").textContent = "?";
  document.getElementById("confidence").textContent = "-";
  document.getElementById("maps").replaceChildren();
  document.getElementById("note").textContent = "";
  document.getElementById("row_values").textContent = "";
  document.getElementById("status").textContent = "";
  errorLine.textContent = "";
  document.body.dataset.state = "cleared";
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

const MARGIN = {left: 44, top: 18, bottom: 30};   // room for the heat maps' axis labels

function heat(canvas, rows, low, high, colour, axes) {
  // rows: an array of arrays (steps down, units or classes across), drawn as cells; with ``axes``
  // ({x: title, y: title, xFirst: number of the first column}) the axes are labelled in a margin
  const c = canvas.getContext("2d");
  c.clearRect(0, 0, canvas.width, canvas.height);
  const left = axes ? MARGIN.left : 0, top = axes ? MARGIN.top : 0, bottom = axes ? MARGIN.bottom : 0;
  const h = (canvas.height - top - bottom) / rows.length;
  const w = (canvas.width - left) / rows[0].length;
  rows.forEach((row, i) => row.forEach((value, j) => {
    const t = Math.max(0, Math.min(1, (value - low) / (high - low)));
    c.fillStyle = colour(t);
    c.fillRect(left + j * w, top + i * h, Math.ceil(w), Math.ceil(h));
  }));
  if (!axes) return;
  c.fillStyle = "#444";
  c.font = "11px sans-serif";
  c.textAlign = "right";
  for (const step of [1, 7, 14, 21, 28].filter((k) => k <= rows.length)) {
    c.fillText(String(step), left - 4, top + (step - 0.5) * h + 4);
  }
  c.textAlign = "center";
  const columns = rows[0].length;
  const every = Math.max(1, Math.ceil(22 / w), columns <= 10 ? 1 : Math.ceil(columns / 6));   // labels >= 22 px apart
  const labelled = [];
  for (let j = 0; j < columns; j += every) labelled.push(j);
  if (labelled[labelled.length - 1] !== columns - 1) {      // the last column is labelled, and never crowded
    if (columns - 1 - labelled[labelled.length - 1] < every / 2 + 0.5 && labelled.length > 1) labelled.pop();
    labelled.push(columns - 1);
  }
  for (const j of labelled) c.fillText(String(j + axes.xFirst), left + (j + 0.5) * w, top - 5);
  c.fillText(axes.x, left + (canvas.width - left) / 2, canvas.height - 10);
  c.save();
  c.translate(12, top + (canvas.height - top - bottom) / 2);
  c.rotate(-Math.PI / 2);
  c.fillText(axes.y, 0, 0);
  c.restore();
}
const greens = (t) => `rgb(${Math.round(255 - 200 * t)},${Math.round(255 - 90 * t)},${Math.round(255 - 200 * t)})`;
const grays = (t) => `rgb(${Math.round(255 * t)},${Math.round(255 * t)},${Math.round(255 * t)})`;
const redBlue = (t) => t < 0.5
  ? `rgb(${Math.round(510 * t)},${Math.round(510 * t)},255)`
  : `rgb(255,${Math.round(510 * (1 - t))},${Math.round(510 * (1 - t))})`;

function heatMap(title, rows, signed) {
  const figure = document.createElement("figure");
  const canvas = document.createElement("canvas");
  canvas.width = MARGIN.left + Math.max(120, Math.min(512, rows[0].length * 6));
  canvas.height = MARGIN.top + rows.length * 8 + MARGIN.bottom;
  figure.appendChild(canvas);
  const caption = document.createElement("figcaption");
  caption.textContent = `${title} (${signed ? "-1 blue, 0 white, +1 red" : "0 white, 1 green"})`;
  figure.appendChild(caption);
  document.getElementById("maps").appendChild(figure);
  heat(canvas, rows, signed ? -1 : 0, 1, signed ? redBlue : greens, {x: "unit", y: "row read (step)", xFirst: 1});
}

function show(result) {
  heat(document.getElementById("seen"), result.image, 0, 1, grays);
  document.getElementById("prediction").textContent = String(result.prediction);
  document.getElementById("confidence").textContent =
    `${(100 * result.probabilities[result.prediction]).toFixed(1)} %`;
  heat(document.getElementById("rows_plot"), result.row_probabilities, 0, 1, greens,
       {x: "class", y: "row read (step)", xFirst: 0});
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
  const status = document.getElementById("status");
  status.textContent = "reading\u2026";   // the first reading of a run loads its model: a second or two
  document.body.dataset.state = "reading";
  let response, result;
  try {
    response = await fetch("api/read", {
      method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({run: runSelect.value, png: pad.toDataURL("image/png")}),
    });
    result = await response.json();
  } catch (err) {   // the server stopped, or answered something that is not JSON
    if (ticket === pending) { status.textContent = ""; errorLine.textContent = "no answer from the server: " + err; }
    return;
  }
  if (ticket !== pending) return;   // a newer stroke's answer is on its way, or the pad was cleared
  status.textContent = "";
  document.body.dataset.state = "read";
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

document.getElementById("clear").addEventListener("click", clearResult);
runSelect.addEventListener("change", read);
clearPad();
loadRuns();
