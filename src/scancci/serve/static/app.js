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
    if (!info.capabilities.attention_overlay) $("attention").checked = false;
  } catch (err) {
    $("model-info").textContent = `could not read /info: ${err}`;
  }
}

async function predict(blob) {
  const form = new FormData();
  form.append("file", blob, "upload.jpg");
  const url = "/predict?attention=" + ($("attention").checked ? "true" : "false");
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

function drawBoxes(result) {
  boxes.replaceChildren();
  result.faces.forEach((face, i) => {
    const [x1, y1, x2, y2] = face.box;
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
    const p = face.probabilities[face.label];
    box.appendChild(el("span", "box-label", `${i + 1}. ${face.label} ${(100 * p).toFixed(0)}%`));
    boxes.appendChild(box);
  });
}

function drawBars(result) {
  faces.replaceChildren();
  if (!result.faces.length) faces.appendChild(el("li", "face none", "no face found"));
  result.faces.forEach((face) => {
    const item = el("li", "face");
    item.appendChild(el("strong", "label", face.label));
    const sorted = Object.entries(face.probabilities).sort((a, b) => b[1] - a[1]);
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
