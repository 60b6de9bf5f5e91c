// sadpnet web page: inspect the chosen files (POST /api/inspect), classify them (POST /api/classify),
// show the best-matching simulated pattern (POST /api/match). Plain JS, no build step.
"use strict";

// gen counts file choices: answers that arrive for an earlier choice are dropped
const state = { files: [], inspections: [], result: null, match: null, shown: 0, gen: 0, defaultTopK: 3 };
const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";

function setStatus(text) { $("status").textContent = text; }
function showError(text) {
  const box = $("error");
  box.textContent = text;
  box.hidden = !text;
}
function pct(p) { return (100 * p).toFixed(1) + " %"; }

async function apiError(resp) {
  try {
    const body = await resp.json();
    if (typeof body.detail === "string") return body.detail;
    if (Array.isArray(body.detail)) return body.detail.map((d) => (d.loc || []).slice(-1)[0] + ": " + d.msg).join("; ");
  } catch (e) { /* not JSON */ }
  return "the server answered " + resp.status + " " + resp.statusText;
}

async function loadModelLine(name) {
  try {
    const resp = await fetch("/api/model" + (name ? "?model=" + encodeURIComponent(name) : ""));
    const card = await resp.json();
    const classes = (card.classes || []).join(", ");
    $("model-line").textContent = "Model: " + (card.name || "?") + " (" + (card.architecture || "?") + ")" +
      (classes ? "; classes: " + classes : "");
  } catch (e) {
    $("model-line").textContent = "Model card unavailable.";
  }
}

// the model choice (GET /api/models): the shipped models by name, the server's own selected; and the
// server's default top-k (sadpnet.model.DEFAULT_TOP_K, the same as the CLI's)
async function loadModelChoice() {
  try {
    const offer = await (await fetch("/api/models")).json();
    const options = [];
    if (offer.default === null) options.push(new Option("server's model (" + (offer.default_card_name || "?") + ")", ""));
    offer.shipped.forEach((n) => options.push(new Option(n + (n === offer.default ? " (server's default)" : ""), n)));
    $("model").replaceChildren(...options);
    $("model").value = offer.default === null ? "" : offer.default;
    state.defaultTopK = offer.default_top_k;
    if (!$("top-k").dataset.touched) $("top-k").value = String(offer.default_top_k);
  } catch (e) {
    $("model").replaceChildren(new Option("server's model", ""));
  }
}

function fileCalibrationText(ins) {
  if (ins.pixel_size_inv_a) {
    return "calibration " + ins.pixel_size_inv_a.toPrecision(5) + " 1/\u00c5 per pixel (from the " +
      (ins.calibration_source === "file" ? "file" : ins.calibration_source || "file") + ")";
  }
  const cal = calibrationValue();
  return cal === null ? "no calibration in the file: enter it below"
    : "no calibration in the file: using " + cal + " 1/\u00c5 per pixel (entered below)";
}

function renderFileList() {
  const list = $("file-list");
  list.replaceChildren();
  state.files.forEach((file, i) => {
    const li = document.createElement("li");
    const ins = state.inspections[i];
    const name = document.createElement("strong");
    name.textContent = file.name;
    li.append(name, " ");
    const info = document.createElement("span");
    if (!ins) info.textContent = "reading\u2026";
    else if (ins.error) { info.textContent = "cannot be read: " + ins.error; info.className = "bad"; }
    else {
      info.textContent = ins.width_px + "\u00d7" + ins.height_px + " px, " + fileCalibrationText(ins) +
        ", " + ins.spots.length + " spots found";
      if (!ins.pixel_size_inv_a) info.className = "warn";
    }
    li.append(info);
    list.append(li);
  });
}

function needsCalibration() {
  return state.inspections.some((ins) => ins && !ins.error && !ins.pixel_size_inv_a);
}

function calibrationValue() {
  const v = parseFloat($("calibration").value);
  return Number.isFinite(v) && v > 0 ? v : null;
}

function updateControls() {
  const good = state.inspections.filter((ins) => ins && !ins.error);
  const missing = needsCalibration();
  const cal = $("calibration");
  cal.required = missing;
  cal.setAttribute("aria-invalid", missing && calibrationValue() === null ? "true" : "false");
  $("classify-button").disabled = !(good.length > 0 && good.length === state.files.length &&
                                    (!missing || calibrationValue() !== null));
}

async function inspectFile(file) {
  const form = new FormData();
  form.append("file", file, file.name);
  const cal = calibrationValue();
  if (cal !== null) form.append("calibration_inv_a_per_px", String(cal));
  const resp = await fetch("/api/inspect", { method: "POST", body: form });
  if (!resp.ok) return { error: await apiError(resp) };
  return resp.json();
}

async function chooseFiles(fileList) {
  const gen = ++state.gen;
  state.files = Array.from(fileList);
  state.inspections = state.files.map(() => null);
  state.result = null;
  $("result").hidden = true;
  showError("");
  if (state.files.length === 0) { updateControls(); return; }
  if (!$("ensemble").dataset.touched) $("ensemble").checked = state.files.length > 1;
  renderFileList();
  setStatus("Reading " + state.files.length + " file(s)\u2026");
  const t0 = performance.now();
  // Inspect and classify at once: the server reads each file once for both (its pattern cache), and the
  // classification is simply not shown if a file turns out to need a calibration first.
  const classifying = requestClassify();
  const inspections = await Promise.all(state.files.map((f) => inspectFile(f).catch((e) => ({ error: String(e) }))));
  if (gen !== state.gen) return;
  state.inspections = inspections;
  renderFileList();
  updateControls();
  const bad = state.inspections.filter((ins) => ins.error);
  if (bad.length) {
    showError(bad.map((ins) => ins.error).join("\n"));
    setStatus("Some files cannot be read; choose others.");
    return;
  }
  if (needsCalibration() && calibrationValue() === null) {
    setStatus("Enter the calibration (1/\u00c5 per pixel) for files without one, then press Classify.");
    $("calibration").focus();
    return;
  }
  setStatus("Read in " + ((performance.now() - t0) / 1000).toFixed(2) + " s; classifying\u2026");
  await showClassification(classifying, t0, gen);
}

function requestClassify() {
  const form = new FormData();
  state.files.forEach((f) => form.append("file", f, f.name));
  const cal = calibrationValue();
  if (cal !== null) form.append("calibration_inv_a_per_px", String(cal));
  form.append("ensemble", $("ensemble").checked ? "true" : "false");
  form.append("top_k", String(parseInt($("top-k").value, 10) || state.defaultTopK));
  if ($("model").value) form.append("model", $("model").value);
  return fetch("/api/classify", { method: "POST", body: form }).then(
    async (resp) => (resp.ok ? { result: await resp.json() } : { error: await apiError(resp) }),
    (e) => ({ error: "the request failed: " + e }));
}

async function classify() {
  showError("");
  if (!state.files.length) return;
  const t0 = performance.now();
  await showClassification(requestClassify(), t0, state.gen);
}

async function showClassification(classifying, t0, gen) {
  $("classify-button").disabled = true;
  setStatus("Classifying\u2026");
  try {
    const answer = await classifying;
    if (gen !== state.gen) return;
    if (answer.error) { showError(answer.error); setStatus("Not classified."); return; }
    state.result = answer.result;
    renderResult();
    setStatus("Classified in " + ((performance.now() - t0) / 1000).toFixed(2) + " s; simulating the best match\u2026");
    $("result").focus();
    await showMatch(state.shown);
    if (gen !== state.gen) return;
    setStatus("Done in " + ((performance.now() - t0) / 1000).toFixed(2) + " s (from choosing the file).");
  } catch (e) {
    showError("Something went wrong: " + e);
  } finally {
    updateControls();
  }
}

function mainAnswer() {
  const r = state.result;
  return r.ensemble ? r.ensemble : r.images[0];
}

function sgText(entry) {
  if (entry.space_group === undefined) return String(entry.label);
  return "space group " + entry.space_group + (entry.symbol ? " (" + entry.symbol + ")" : "");
}

function topList(top, caption) {
  const table = document.createElement("table");
  table.className = "top";
  const cap = document.createElement("caption");
  cap.textContent = caption;
  table.append(cap);
  const head = table.insertRow();
  ["Space group", "Crystal system", "Probability"].forEach((h) => {
    const th = document.createElement("th"); th.scope = "col"; th.textContent = h; head.append(th);
  });
  top.forEach((e) => {
    const row = table.insertRow();
    const sg = row.insertCell();
    sg.textContent = e.space_group !== undefined ? e.space_group + (e.symbol ? " " + e.symbol : "") : e.label;
    row.insertCell().textContent = e.crystal_system || "";
    const pc = row.insertCell();
    const bar = document.createElement("span");
    bar.className = "bar";
    bar.setAttribute("aria-hidden", "true");
    const fill = document.createElement("span");
    fill.style.width = Math.max(0.5, 100 * e.probability).toFixed(1) + "%";
    bar.append(fill);
    const txt = document.createElement("span");
    txt.textContent = " " + pct(e.probability);
    pc.append(bar, txt);
  });
  return table;
}

function renderResult() {
  const r = state.result;
  const ans = mainAnswer();
  const verdict = $("verdict");
  verdict.replaceChildren();
  const p = document.createElement("p");
  const best = ans.prediction;
  if (ans.unknown && ans.unknown.verdict) {
    p.className = "unknown";
    p.textContent = "Unknown: this pattern is unlike anything the model was trained on " +
      "(score " + ans.unknown.score.toFixed(2) + (ans.unknown.threshold !== undefined ?
        " > threshold " + Number(ans.unknown.threshold).toFixed(2) : "") + "). Its closest class is " +
      sgText(best) + ", " + pct(best.probability) + ".";
  } else {
    p.className = "known";
    p.textContent = "Most likely " + sgText(best) + (best.crystal_system ? ", " + best.crystal_system : "") +
      ": " + pct(best.probability) + (r.ensemble ? " (ensemble of " + r.ensemble.n_images + " patterns)" : "") + ".";
  }
  verdict.append(p);
  if (ans.groups && best.space_group !== undefined && ans.groups.cubic > best.probability + 0.005) {
    const g = document.createElement("p");  // a spot-indexing model answers group first (docs/classifier-v2.md)
    g.textContent = "A cubic crystal of the five: " + pct(ans.groups.cubic) + ", shared among the classes below " +
      "(one pattern often cannot tell them apart; several zone axes can).";
    verdict.append(g);
  }
  const sig = ans.unknown && ans.unknown.defect_signature;
  const nFlag = ans.unknown && ans.unknown.n_defect_flagged;
  if ((sig && sig.flagged) || (nFlag && 2 * nFlag > (r.ensemble ? r.ensemble.n_images : 1))) {
    const w = document.createElement("p");
    w.className = "unknown";
    w.textContent = sig ? "Warning: the defect detector sees a " + sig.classes.join(" or ") + " signature (p " +
      Number(sig.probability).toFixed(2) + " > " + Number(sig.threshold).toFixed(2) + "): the space group may be wrong."
      : "Warning: the defect detector sees a dislocation or twin signature in most of these patterns.";
    verdict.append(w);
  }
  if (ans.defect_gate) {  // a defect-gated mixture model (sadpnet.model.mixture)
    const q = document.createElement("p");
    q.textContent = "Defect gate " + Number(ans.defect_gate.probability).toFixed(2) + ": the weight of the " +
      "defect-trained network in this answer (the clean-trained one has the rest).";
    verdict.append(q);
  }
  $("top-list").replaceChildren(topList(ans.top, r.ensemble ? "Ensemble of all files" : "Top space groups"));
  const per = $("per-image");
  per.replaceChildren();
  if (r.images.length > 1) {
    r.images.forEach((im) => per.append(topList(im.top, im.source + (im.unknown.verdict ? " (unknown)" : ""))));
  }
  const pick = $("show-file");
  pick.replaceChildren(...state.files.map((f, i) => new Option(f.name, String(i))));
  $("show-file-field").hidden = state.files.length < 2;
  state.shown = 0;
  drawMeasured(0);
  state.match = null;
  const blob = new Blob([JSON.stringify(r, null, 2)], { type: "application/json" });
  const link = $("download-json");
  if (link.dataset.url) URL.revokeObjectURL(link.dataset.url);
  link.dataset.url = URL.createObjectURL(blob);
  link.href = link.dataset.url;
  $("result").hidden = false;
}

function svgPlot(imgUrl, width, height, alt) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 " + width + " " + height);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", alt);
  const img = document.createElementNS(SVG, "image");
  img.setAttribute("href", imgUrl);
  img.setAttribute("x", "0"); img.setAttribute("y", "0");
  img.setAttribute("width", width); img.setAttribute("height", height);
  img.setAttribute("preserveAspectRatio", "none");
  svg.append(img);
  return svg;
}

function drawMeasured(i) {
  const ins = state.inspections[i];
  const plot = $("measured-plot");
  plot.replaceChildren();
  if (!ins || ins.error) return;
  const w = ins.width_px, h = ins.height_px;
  const svg = svgPlot(ins.preview_png, w, h, "Pattern " + ins.filename + " with " + ins.spots.length +
    " spots marked" + (ins.centre_xy ? " and the direct-beam centre" : ""));
  const r = Math.max(4, Math.min(w, h) / 80);
  ins.spots.forEach((s) => {
    const c = document.createElementNS(SVG, "circle");
    c.setAttribute("cx", s.x); c.setAttribute("cy", s.y); c.setAttribute("r", r);
    c.setAttribute("class", "spot");
    svg.append(c);
  });
  if (ins.centre_xy) {
    const [cx, cy] = ins.centre_xy;
    const path = document.createElementNS(SVG, "path");
    const a = 2.5 * r;
    path.setAttribute("d", `M${cx - a},${cy}H${cx + a}M${cx},${cy - a}V${cy + a}`);
    path.setAttribute("class", "centre");
    svg.append(path);
  }
  plot.append(svg);
  $("measured-caption").textContent = ins.filename + " (log-scaled): " + ins.spots.length +
    " spots found (circles), direct-beam centre (cross)" +
    (ins.centre_xy ? " at (" + ins.centre_xy[0].toFixed(1) + ", " + ins.centre_xy[1].toFixed(1) + ") px" : "");
}

function drawOverlay() {
  // the matched simulated spots on the measured pattern (diamonds), when asked for
  const svg = $("measured-plot").querySelector("svg");
  if (!svg) return;
  svg.querySelectorAll(".sim-spot").forEach((el) => el.remove());
  const ins = state.inspections[state.shown];
  const m = state.match;
  const cal = ins && (ins.pixel_size_inv_a || calibrationValue());
  if (!m || !cal || !ins.centre_xy || !$("overlay").checked) return;
  const [cx, cy] = ins.centre_xy;
  const r = Math.max(4, Math.min(ins.width_px, ins.height_px) / 90);
  m.spots.forEach((s) => {
    const x = cx + s.g_inv_a[0] / cal, y = cy - s.g_inv_a[1] / cal;
    if (x < 0 || y < 0 || x > ins.width_px || y > ins.height_px) return;
    const d = document.createElementNS(SVG, "path");
    d.setAttribute("d", `M${x},${y - r}L${x + r},${y}L${x},${y + r}L${x - r},${y}Z`);
    d.setAttribute("class", "sim-spot");
    const title = document.createElementNS(SVG, "title");
    title.textContent = "(" + s.hkl.join(" ") + ")";
    d.append(title);
    svg.append(d);
  });
}

function measuredG(ins) {
  const cal = ins.pixel_size_inv_a || calibrationValue();
  if (!cal || !ins.centre_xy) return [];
  const [cx, cy] = ins.centre_xy;
  return ins.spots.map((s) => [(s.x - cx) * cal, -(s.y - cy) * cal]);
}

async function showMatch(i) {
  const best = mainAnswer().prediction;
  const plot = $("simulated-plot");
  const ins = state.inspections[i];
  const g = measuredG(ins);
  if (best.space_group === undefined || g.length < 3) {
    plot.replaceChildren(Object.assign(document.createElement("p"), {
      className: "muted", textContent: "No simulated match: too few spots found." }));
    return;
  }
  const body = {
    space_group: best.space_group, spots_g_inv_a: g,
    pixel_size_inv_a: ins.pixel_size_inv_a || calibrationValue(),
    voltage_kv: ins.voltage_kv || 200.0,
    field_radius_inv_a: 0.5 * Math.max(ins.width_px, ins.height_px) * (ins.pixel_size_inv_a || calibrationValue()),
  };
  const resp = await fetch("/api/match", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  if (!resp.ok) {
    plot.replaceChildren(Object.assign(document.createElement("p"), {
      className: "muted", textContent: "No simulated match: " + (await apiError(resp)) }));
    return;
  }
  const m = await resp.json();
  state.match = m;
  const za = "[" + m.zone_axis.join(" ") + "]";
  const svg = svgPlot(m.image_png, m.size_px, m.size_px, "Simulated pattern of " + m.crystal.name +
    ", space group " + m.space_group + ", zone axis " + za);
  plot.replaceChildren(svg);
  drawOverlay();
  $("simulated-caption").textContent = "Simulated " + m.crystal.name + " (" + m.crystal.formula + "), space group " +
    m.space_group + " " + m.symbol + ", zone axis " + za + ", rotated " + m.inplane_rotation_deg +
    "\u00b0; spot fit " + pct(m.score) + ", " + m.voltage_kv + " kV";
}

function setupDropzone() {
  const zone = $("dropzone");
  ["dragenter", "dragover"].forEach((ev) => zone.addEventListener(ev, (e) => {
    e.preventDefault(); zone.classList.add("over");
  }));
  ["dragleave", "drop"].forEach((ev) => zone.addEventListener(ev, (e) => {
    e.preventDefault(); zone.classList.remove("over");
  }));
  zone.addEventListener("drop", (e) => {
    if (e.dataTransfer && e.dataTransfer.files.length) chooseFiles(e.dataTransfer.files);
  });
}

document.addEventListener("DOMContentLoaded", () => {
  loadModelLine();
  loadModelChoice();
  setupDropzone();
  $("file-input").addEventListener("change", (e) => chooseFiles(e.target.files));
  $("calibration").addEventListener("input", () => { updateControls(); renderFileList(); });
  $("ensemble").addEventListener("change", () => { $("ensemble").dataset.touched = "1"; });
  $("top-k").addEventListener("change", () => { $("top-k").dataset.touched = "1"; });
  $("model").addEventListener("change", () => {
    loadModelLine($("model").value);
    if (state.result) classify();  // the shown answer was another model's: ask the chosen one
  });
  $("overlay").addEventListener("change", drawOverlay);
  $("show-file").addEventListener("change", async (e) => {
    state.shown = parseInt(e.target.value, 10) || 0;
    state.match = null;
    drawMeasured(state.shown);
    setStatus("Simulating the best match for " + state.files[state.shown].name + "\u2026");
    await showMatch(state.shown);
    setStatus("Showing " + state.files[state.shown].name + ".");
  });
  $("classify-form").addEventListener("submit", (e) => { e.preventDefault(); classify(); });
});
