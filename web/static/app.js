// The nacsearch result page: upload or click an image, show the k nearest as thumbnails.
"use strict";
const $ = (id) => document.getElementById(id);
let bits = 64;

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
}

function params() {
  const p = { k: $("k").value || "12" };
  if ($("use-radius").checked) p.radius = $("radius").value;
  return p;
}

async function call(url, options) {
  const res = await fetch(url, options);
  let body;
  try { body = await res.json(); } catch (e) { body = { detail: res.statusText }; }
  if (!res.ok) throw new Error(typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail));
  return body;
}

function render(answer, label) {
  showError("");
  $("query").hidden = false;
  $("query-text").textContent = `${label}: ${answer.hits.length} hit(s) of ${answer.records} in ${answer.took_ms} ms`;
  const grid = $("results");
  grid.replaceChildren();
  if (!answer.hits.length) {
    grid.textContent = answer.radius === null ? "The index is empty." : "Nothing within this radius.";
    return;
  }
  for (const h of answer.hits) {
    const card = document.createElement("figure");
    card.className = "hit";
    card.dataset.id = h.id;
    card.title = h.path;
    const img = document.createElement("img");
    img.src = h.thumbnail;
    img.alt = h.name;
    img.loading = "lazy";
    const cap = document.createElement("figcaption");
    const d = document.createElement("div");
    d.className = "distance";
    d.textContent = `distance ${h.distance}`;
    const n = document.createElement("div");
    n.className = "name";
    n.textContent = h.name;
    cap.append(d, n);
    card.append(img, cap);
    card.addEventListener("click", () => searchId(h.id, h.thumbnail, h.name));
    grid.append(card);
  }
}

async function searchFile(file) {
  const form = new FormData();
  form.append("image", file);
  for (const [key, value] of Object.entries(params())) form.append(key, value);
  $("query-img").src = URL.createObjectURL(file);
  try {
    render(await call("/api/search", { method: "POST", body: form }), file.name);
  } catch (e) {
    $("results").replaceChildren();
    showError(`${file.name}: ${e.message}`);
  }
}

async function searchId(id, thumb, name) {
  $("query-img").src = thumb;
  const q = new URLSearchParams({ id, ...params() });
  try {
    render(await call(`/api/search?${q}`), name);
  } catch (e) {
    showError(e.message);
  }
}

async function loadInfo() {
  try {
    const info = await call("/api/info");
    bits = info.bits;
    $("radius").max = bits;
    $("info").textContent = `${info.records} images · ${info.bits}-bit codes · ${info.index_type} index`;
    if (!info.records) showError("The index is empty: add images with 'nacsearch add'.");
  } catch (e) {
    showError(`cannot read the index: ${e.message}`);
  }
}

$("file").addEventListener("change", (ev) => { if (ev.target.files[0]) searchFile(ev.target.files[0]); });
const drop = $("drop");
drop.addEventListener("dragover", (ev) => { ev.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (ev) => {
  ev.preventDefault();
  drop.classList.remove("over");
  if (ev.dataTransfer.files[0]) searchFile(ev.dataTransfer.files[0]);
});
$("use-radius").addEventListener("change", () => { $("radius").disabled = !$("use-radius").checked; });
$("radius").addEventListener("input", () => { $("radius-value").textContent = $("radius").value; });
loadInfo();
