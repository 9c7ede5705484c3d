// scancci web page: upload a photo or use the webcam; draw boxes, labels, probability bars and
// the attention overlay returned by POST /predict. No framework, no external requests.
"use strict";

const $ = (id) => document.getElementById(id);
const photo = $("photo"), video = $("video"), boxes = $("boxes"), faces = $("faces");
let webcamTimer = null, busy = false;

function setStatus(text, isError = false) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

async function loadInfo() {
  try {
    const info = await (await fetch("/info")).json();
    const m = info.model;
    $("model-info").textContent =
      `${m.name} (${m.arch}, ${m.backend} ${m.precision}): ${info.classes.join(", ")} - scancci ${info.version}`;
    if (!info.capabilities.attention_overlay) {
      // the model computes no attention maps: the box says so instead of being ignored
      $("attention").checked = false;
      $("attention").disabled = true;
      $("attention-label").title = `${m.name} has no attention maps (only SCAN-CCI models do)`;
      $("attention-label").classList.add("disabled");
    }
  } catch (err) {
    $("model-info").textContent = `could not read /info: ${err}`;
  }
}

async function predict(blob) {
  const form = new FormData();
  form.append("file", blob, "upload.jpg");
  const attention = $("attention").checked && !$("attention").disabled;
  const url = "/predict?attention=" + (attention ? "true" : "false");
  const response = await fetch(url, { method: "POST", body: form });
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

// A face of /predict has the fields of a `scancci predict` row: x1, y1, x2, y2, label, and one
// prob_<class> field per class.
function probabilities(face) {
  return Object.entries(face)
    .filter(([key]) => key.startsWith("prob_"))
    .map(([key, p]) => [key.slice(5), p]);
}

function drawBoxes(result) {
  boxes.replaceChildren();
  result.faces.forEach((face, i) => {
    const { x1, y1, x2, y2 } = face;
    const box = el("div", "box");
    box.style.left = `${(100 * x1) / result.width}%`;
    box.style.top = `${(100 * y1) / result.height}%`;
    box.style.width = `${(100 * (x2 - x1)) / result.width}%`;
    box.style.height = `${(100 * (y2 - y1)) / result.height}%`;
    if (face.attention_png) {
      const overlay = el("img", "attention");
      overlay.src = "data:image/png;base64," + face.attention_png;
      overlay.alt = "attention";
      box.appendChild(overlay);
    }
    const p = face[`prob_${face.label}`];
    const label = el("span", "box-label");
    label.dataset.full = `${i + 1}. ${face.label} ${(100 * p).toFixed(0)}%`;
    label.dataset.short = `${i + 1}`;
    box.appendChild(label);
    boxes.appendChild(box);
  });
  placeLabels();
}

// Each label goes where it stays inside the photo and covers no label placed before it:
// above its box, below it, or inside its top or bottom edge; aligned with the box's left or
// right side, centred on it, or just beside it. Where the full texts do not all fit (small
// faces in a small window) every label shrinks to its face's number, which the list beside
// the photo explains; the least covered spot is the last resort. Re-run on every resize.
function placeLabels() {
  if (layoutLabels("full") > 0) layoutLabels("short");
}

function layoutLabels(text) {
  const stage = boxes.getBoundingClientRect();
  const placed = [];
  let total = 0;
  for (const box of boxes.querySelectorAll(".box")) {
    const label = box.querySelector(".box-label");
    label.textContent = label.dataset[text];
    const [spot, cost] = bestSpot(box, label, stage, placed);
    const b = box.getBoundingClientRect();
    label.style.left = `${spot.left - b.left - box.clientLeft}px`;
    label.style.top = `${spot.top - b.top - box.clientTop}px`;
    placed.push(spot);
    total += cost;
  }
  return total;
}

function bestSpot(box, label, stage, placed) {
  const b = box.getBoundingClientRect(), w = label.offsetWidth, h = label.offsetHeight;
  const clampX = (x) => Math.max(stage.left, Math.min(x, stage.right - w));
  let best = null, bestCost = Infinity;
  for (const top of [b.top - h, b.bottom, b.top, b.bottom - h]) {
    for (const x of [b.left, b.right - w, (b.left + b.right - w) / 2, b.left - w, b.right]) {
      const left = clampX(x);
      const r = { left, top, right: left + w, bottom: top + h };
      const outside = r.top < stage.top - 0.5 || r.bottom > stage.bottom + 0.5;
      const cost = (outside ? 1e9 : 0) + placed.reduce((sum, q) => sum + overlap(r, q), 0);
      if (cost < bestCost) [best, bestCost] = [r, cost];
    }
  }
  return [best, bestCost];
}

function overlap(a, b) {
  const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
  const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
  return w > 0 && h > 0 ? w * h : 0;
}

new ResizeObserver(placeLabels).observe(photo);

function drawBars(result) {
  faces.replaceChildren();
  if (!result.faces.length) faces.appendChild(el("li", "face none", "no face found"));
  result.faces.forEach((face) => {
    const item = el("li", "face");
    item.appendChild(el("strong", "label", face.label));
    const sorted = probabilities(face).sort((a, b) => b[1] - a[1]);
    for (const [name, p] of sorted) {
      const bar = el("div", name === face.label ? "bar top" : "bar");
      bar.appendChild(el("span", "name", name));
      const track = el("span", "track"), fill = el("span", "fill");
      fill.style.display = "block";
      fill.style.width = `${(100 * p).toFixed(1)}%`;
      track.appendChild(fill);
      bar.appendChild(track);
      bar.appendChild(el("span", "value", `${(100 * p).toFixed(1)}%`));
      item.appendChild(bar);
    }
    faces.appendChild(item);
  });
}

function show(result) {
  drawBoxes(result);
  drawBars(result);
  const n = result.faces.length;
  setStatus(`${n} face${n === 1 ? "" : "s"} in ${result.elapsed_ms} ms`);
}

$("file").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  if (!file) return;
  stopWebcam();
  boxes.replaceChildren();
  faces.replaceChildren();
  photo.src = URL.createObjectURL(file);
  setStatus("analysing...");
  try {
    show(await predict(file));
  } catch (err) {
    setStatus(err.message, true);
  }
});

function stopWebcam() {
  if (webcamTimer) clearInterval(webcamTimer);
  webcamTimer = null;
  if (video.srcObject) video.srcObject.getTracks().forEach((t) => t.stop());
  video.srcObject = null;
  video.hidden = true;
  $("webcam").textContent = "Use the webcam";
}

async function webcamFrame() {
  if (busy || !video.videoWidth) return;
  busy = true;
  const canvas = document.createElement("canvas");
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  canvas.getContext("2d").drawImage(video, 0, 0);
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.9));
  try {
    const result = await predict(blob);
    photo.src = canvas.toDataURL("image/jpeg");
    show(result);
  } catch (err) {
    setStatus(err.message, true);
  } finally {
    busy = false;
  }
}

$("webcam").addEventListener("click", async () => {
  if (webcamTimer) return stopWebcam();
  try {
    video.srcObject = await navigator.mediaDevices.getUserMedia({ video: true });
  } catch (err) {
    return setStatus(`webcam unavailable: ${err.message}`, true);
  }
  photo.removeAttribute("src");
  $("webcam").textContent = "Stop the webcam";
  webcamTimer = setInterval(webcamFrame, 700);
});

loadInfo();
