// The matcalc playground: a spec editor, the derivation as KaTeX, and a formula checker.
// Text from the server is put on the page as text or through KaTeX, never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
let presets = [];

function status(text) { $("status").textContent = text; }

function math(tex, display) {
  const element = document.createElement(display ? "div" : "span");
  element.className = display ? "math-block" : "math-inline";
  katex.render(tex, element, { displayMode: display, throwOnError: false, strict: "ignore" });
  return element;
}

// A sentence with its LaTeX between dollar signs, as text and inline math.
function sentence(text, container) {
  const pieces = text.split("$");
  pieces.forEach((piece, i) => {
    if (i % 2 === 1) container.appendChild(math(piece, false));
    else if (piece) container.appendChild(document.createTextNode(piece));
  });
  return container;
}

// The Markdown that `derive --format markdown` prints: headings, paragraphs, $$ blocks.
function renderMarkdown(markdown, container) {
  container.replaceChildren();
  const text = markdown.replace(/<!--[\s\S]*?-->/g, "");
  const lines = text.split("\n");
  let paragraph = [];
  const flush = () => {
    if (paragraph.length) container.appendChild(sentence(paragraph.join(" "), document.createElement("p")));
    paragraph = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.trim() === "$$") {
      flush();
      const body = [];
      for (i++; i < lines.length && lines[i].trim() !== "$$"; i++) body.push(lines[i]);
      container.appendChild(math(body.join("\n"), true));
    } else if (/^#{1,6} /.test(line)) {
      flush();
      const level = Math.min(6, line.indexOf(" ") + 1); // under the page's own h1
      container.appendChild(sentence(line.slice(line.indexOf(" ") + 1), document.createElement("h" + level)));
    } else if (!line.trim()) {
      flush();
    } else {
      paragraph.push(line.trim());
    }
  }
  flush();
}

function notation() {
  const options = {};
  document.querySelectorAll("#notation [data-option]").forEach((input) => {
    const key = input.dataset.option;
    if (input.type === "checkbox") { if (input.checked) options[key] = true; }
    else if (input.value) options[key] = input.value;
  });
  if ($("no-shapes").checked) options.shapes = false;
  return options;
}

function isNetwork(spec) { return !/^\s*\[shapes\]/m.test(spec); }

function deriveRequest(format) {
  const spec = $("spec").value;
  const request = { spec: spec, format: format };
  if (isNetwork(spec)) {
    request.notation = notation();
    request.steps = $("steps").checked;
    request.diagram = $("diagram").checked;
  }
  return request;
}

async function post(path, body) {
  let response;
  try {
    response = await fetch(path, {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body),
    });
  } catch (error) {
    return { ok: false, status: 0, data: { error: "the server cannot be reached" } };
  }
  let data;
  if ((response.headers.get("content-type") || "").includes("application/json")) {
    try { data = await response.json(); } catch (error) { data = { error: "an unreadable answer" }; }
  }
  return { ok: response.ok, status: response.status, data: data, response: response };
}

function failure(container, message) {
  const element = document.createElement("p");
  element.className = "failure";
  element.textContent = message;
  container.replaceChildren(element);
}

let derivations = 0;

async function derive() {
  const number = ++derivations;
  status("deriving…");
  const answer = await post("/derive", deriveRequest("markdown"));
  if (number !== derivations) return; // a later request's answer is the one to show
  status("");
  if (!answer.ok) return failure($("derivation"), (answer.data && answer.data.error) || "failed");
  renderMarkdown(answer.data.output, $("derivation"));
}

function field(name, content) {
  const element = document.createElement("div");
  element.className = "field";
  const label = document.createElement("span");
  label.className = "name";
  label.textContent = name;
  element.append(label, content);
  return element;
}

function showVerdict(record) {
  const box = $("verdict");
  box.replaceChildren();
  const badge = document.createElement("span");
  badge.className = "badge " + record.verdict;
  badge.id = "verdict-badge";
  badge.textContent = record.verdict;
  box.appendChild(badge);
  const reason = sentence(record.reason_markdown || record.reason, document.createElement("span"));
  reason.id = "reason";
  box.appendChild(field("Why:", reason));
  if (record.diagnosis) {
    const diagnosis = sentence(record.diagnosis_markdown || record.diagnosis, document.createElement("span"));
    diagnosis.id = "diagnosis";
    box.appendChild(field("Diagnosis:", diagnosis));
  }
  if (record.verdict !== "correct") {
    const expected = math(record.target + " = " + record.expected, true);
    expected.id = "expected";
    box.appendChild(field("Correct formula:", expected));
    if (record.where) box.appendChild(field("where", math(record.where, true)));
  }
}

function showError(data, formula) {
  const box = $("verdict");
  box.replaceChildren();
  const badge = document.createElement("span");
  badge.className = "badge error";
  badge.id = "verdict-badge";
  badge.textContent = "error";
  box.appendChild(badge);
  const message = document.createElement("p");
  message.id = "error-message";
  message.textContent = data.reason || data.error || "failed";
  box.appendChild(message);
  if (typeof data.position === "number" && data.in_equation) {
    const caret = document.createElement("pre");
    caret.className = "caret";
    caret.id = "caret";
    caret.textContent = formula + "\n" + " ".repeat(data.position) + "^ column " + (data.position + 1);
    box.appendChild(caret);
    const input = $("formula");
    input.focus();
    input.setSelectionRange(data.position, data.position);
  }
}

async function check() {
  const formula = $("formula").value;
  status("checking…");
  const answer = await post("/verify?markdown=1", { spec: $("spec").value, equation: formula });
  status("");
  if (answer.ok) showVerdict(answer.data);
  else showError(answer.data || { error: "failed (" + answer.status + ")" }, formula);
}

function preview() {
  const container = $("formula-preview");
  const formula = $("formula").value;
  container.replaceChildren();
  if (formula.trim()) container.appendChild(math(formula, false));
}

async function download(format) {
  status("preparing the download…");
  const answer = await post("/download", deriveRequest(format));
  status("");
  if (!answer.ok) return failure($("derivation"), (answer.data && answer.data.error) || "failed");
  const disposition = answer.response.headers.get("content-disposition") || "";
  const name = (disposition.match(/filename="([^"]+)"/) || [])[1] || "derivation";
  const url = URL.createObjectURL(await answer.response.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function choosePreset() {
  const preset = presets.find((p) => p.name === $("preset").value);
  if (!preset) return;
  $("spec").value = preset.spec;
  $("formula").value = preset.formula;
  $("verdict").replaceChildren();
  preview();
  derive();
}

async function start() {
  const response = await fetch("/presets");
  const data = await response.json();
  presets = data.presets;
  for (const preset of presets) {
    const option = document.createElement("option");
    option.value = preset.name;
    option.textContent = preset.title;
    $("preset").appendChild(option);
  }
  $("pdf-download").hidden = !data.pdf;
  $("preset").addEventListener("change", choosePreset);
  $("derive").addEventListener("click", derive);
  $("check").addEventListener("click", check);
  $("formula").addEventListener("input", preview);
  $("formula").addEventListener("keydown", (event) => { if (event.key === "Enter") check(); });
  document.querySelectorAll("#notation select, #notation input").forEach((input) => {
    input.addEventListener("change", derive);
  });
  document.querySelectorAll("button.download").forEach((button) => {
    button.addEventListener("click", () => download(button.dataset.format));
  });
  choosePreset();
  document.body.dataset.ready = "true";
}

window.addEventListener("DOMContentLoaded", start);
