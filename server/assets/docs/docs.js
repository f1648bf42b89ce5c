// Renders the OpenAPI document of this service as a page: every operation
// by tag, with its scope, parameters, body and answers. Nothing is fetched
// but the document itself, from this service.
"use strict";

/** Escapes text for HTML. */
function esc(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) =>
    ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

/** A schema in one line: a name for a reference, else its type. */
function schemaWords(schema) {
  if (!schema) return "";
  if (schema.$ref) return schema.$ref.split("/").pop();
  if (schema.type === "array") return `[${schemaWords(schema.items)}]`;
  if (Array.isArray(schema.type)) return schema.type.join(" | ");
  if (schema.oneOf) return schema.oneOf.map(schemaWords).join(" | ");
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(" | ");
  return schema.format ? `${schema.type} (${schema.format})` : schema.type || "object";
}

/** The operations of `doc` as [{tag, method, path, op}], in document order. */
function operations(doc) {
  const found = [];
  for (const [path, item] of Object.entries(doc.paths || {})) {
    for (const method of ["get", "post", "put", "delete", "patch"]) {
      const op = item[method];
      if (op) found.push({ tag: (op.tags || ["other"])[0], method, path, op });
    }
  }
  return found;
}

/** One operation as a folded block. */
function renderOperation({ method, path, op }) {
  const scope = op.security?.[0]?.token?.[0];
  const params = (op.parameters || []).map((p) =>
    `<tr><td><code>${esc(p.name)}</code></td><td>${esc(p.in)}${p.required ? ", required" : ""}</td>` +
    `<td>${esc(schemaWords(p.schema))}</td><td>${esc(p.description)}</td></tr>`).join("");
  const body = op.requestBody?.content;
  const bodies = body ? Object.entries(body).map(([type, c]) =>
    `<tr><td><code>${esc(type)}</code></td><td>${esc(schemaWords(c.schema))}</td></tr>`).join("") : "";
  const answers = Object.entries(op.responses || {}).map(([status, r]) => {
    const content = r.content ? Object.values(r.content)[0] : null;
    return `<tr><td>${esc(status)}</td><td>${esc(schemaWords(content?.schema))}</td><td>${esc(r.description)}</td></tr>`;
  }).join("");
  const words = (op.description || op.summary || "").trim();
  return `<details class="operation" id="${esc(op.operationId)}" data-search="${esc(
    `${method} ${path} ${op.operationId} ${words}`.toLowerCase())}">
<summary><span class="method ${method}">${method}</span><span class="path">${esc(path)}</span>
<span class="muted">${esc(op.summary || "")}</span>
<span class="scope">${scope ? esc(scope) : "no token"}</span></summary>
<div><p>${esc(words)}</p><p class="muted">Operation <code>${esc(op.operationId)}</code></p>
${params ? `<h4>Parameters</h4><table>${params}</table>` : ""}
${bodies ? `<h4>Body</h4><table>${bodies}</table>` : ""}
<h4>Answers</h4><table>${answers}</table></div></details>`;
}

/** The whole page body for `doc`: {nav, main} as HTML. */
function render(doc) {
  const byTag = new Map((doc.tags || []).map((t) => [t.name, { about: t.description, ops: [] }]));
  for (const found of operations(doc)) {
    if (!byTag.has(found.tag)) byTag.set(found.tag, { about: "", ops: [] });
    byTag.get(found.tag).ops.push(found);
  }
  const sections = [...byTag].filter(([, t]) => t.ops.length);
  return {
    nav: sections.map(([name]) => `<a href="#tag-${esc(name)}">${esc(name)}</a>`).join(""),
    main: sections.map(([name, t]) =>
      `<section id="tag-${esc(name)}"><h2>${esc(name)}</h2><p class="muted">${esc(t.about)}</p>` +
      t.ops.map(renderOperation).join("") + "</section>").join(""),
  };
}

if (typeof document !== "undefined") {
  document.addEventListener("DOMContentLoaded", async () => {
    const main = document.getElementById("operations");
    try {
      const answer = await fetch("/api/v1/openapi.json");
      if (!answer.ok) throw new Error(`the document answered ${answer.status}`);
      const doc = await answer.json();
      const page = render(doc);
      document.getElementById("version").textContent = doc.info?.version || "";
      document.getElementById("tags").innerHTML = page.nav;
      main.innerHTML = page.main;
    } catch (e) {
      main.innerHTML = `<p class="error">Could not read /api/v1/openapi.json: ${esc(e.message)}</p>`;
    }
    document.getElementById("filter").addEventListener("input", (event) => {
      const words = event.target.value.toLowerCase().trim();
      for (const op of document.querySelectorAll("details.operation")) {
        op.hidden = words !== "" && !op.dataset.search.includes(words);
      }
    });
  });
}

if (typeof module !== "undefined") module.exports = { render, operations, schemaWords, esc };
