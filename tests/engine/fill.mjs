// Fill an XForm headless with ODK's own engine (@getodk/xforms-engine) and print the result.
//
// stdin:  {"xform": "<h:html…>", "media": {"name.csv": "csv text"}, "language": "bn",
//          "answers": [["/data/path", value], ["/data/plans[2]/topic", "ict"], …]}
// stdout: {"ok": bool, "instance_xml": "<data …>", "violations": [{"path", "condition", "message"}],
//          "errors": [{"path", "message"}], "relevant": {"/data/x": true},
//          "options": {"/data/x": ["a", "b"]}, "option_labels": {"/data/x": {"a": "A"}},
//          "values": {"/data/x": "…"}, "languages": ["English (en)", …], "load_ms": 12}
//
// Answers are applied in order. A repeat row named by `[n]` is added when missing; values are
// strings (select_multiple and rank: a list or a space-separated string; upload: a file name).
// `errors` lists answers the engine could not take (unknown path, not relevant, value not offered,
// repeat row that cannot be added). `ok` is true when there are no errors, no violations and
// the engine says the instance is ready to submit.
//
// `node fill.mjs` answers one request; `node fill.mjs --serve` answers one JSON request per stdin
// line with one JSON line each, and loads each distinct form (XForm + media) only once.
import { createHash } from "node:crypto";
import { createInterface } from "node:readline";
import { JSDOM } from "jsdom";

const dom = new JSDOM("");
for (const key of ["DOMParser", "XMLSerializer", "Node", "Element", "Document", "document",
  "XMLDocument", "Attr", "Text", "NodeFilter"]) {
  if (!(key in globalThis)) globalThis[key] = dom.window[key];
}

// The engine's bundled XPath parser (tree-sitter, Emscripten) reads `__dirname` when it sees Node.
globalThis.__dirname = new URL("./node_modules/@getodk/xforms-engine/dist/", import.meta.url).pathname;
const { loadForm } = await import("@getodk/xforms-engine");

const readStdin = async () => {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
};

const loadedForms = new Map();

// Parse a form and its media once; each fill then only creates a fresh instance.
const loadOnce = async (xform, media) => {
  const key = createHash("sha256").update(xform).update(JSON.stringify(media)).digest("hex");
  if (!loadedForms.has(key)) {
    const started = performance.now();
    const form = await loadForm(xform, { fetchFormAttachment: attachmentsFrom(media), missingResourceBehavior: "BLANK" });
    if (form.status === "failure") throw form.error;
    loadedForms.set(key, { form, loadMs: Math.round(performance.now() - started) });
  }
  return loadedForms.get(key);
};

const attachmentsFrom = (media) => async (url) => {
  const name = decodeURIComponent(url.href.split("/").pop());
  if (!(name in media)) {
    return new Response("", { status: 404 });
  }
  const type = name.endsWith(".csv") ? "text/csv" : name.endsWith(".xml") ? "text/xml" : "application/octet-stream";
  return new Response(media[name], { status: 200, headers: { "content-type": type } });
};

const fillOne = async (request) => {
  const { form, loadMs } = await loadOnce(request.xform, request.media ?? {});
  const root = form.createInstance().root;

  if (request.language) {
    const wanted = root.languages.find((l) => l.language === request.language
      || l.language.endsWith(`(${request.language})`));
    if (wanted) root.setLanguage(wanted);
  }

  // Strip positional predicates `[1]` so `/data/plans/topic` means the first row.
  const normalise = (ref) => ref.replace(/\[1\]/g, "");

  const walk = (node, visit) => {
    visit(node);
    for (const child of node.currentState.children ?? []) walk(child, visit);
  };

  const findNode = (path) => {
    let found = null;
    walk(root, (node) => {
      if (!found && normalise(node.currentState.reference) === normalise(path)) found = node;
    });
    return found;
  };

  // Make sure every `[n]` repeat row on the way to `path` exists; return an error text or null.
  const ensureRepeatRows = (path) => {
    const parts = path.split("/").filter(Boolean);
    let prefix = "";
    for (const part of parts) {
      const match = part.match(/^(.+)\[(\d+)\]$/);
      const name = match ? match[1] : part;
      if (match) {
        const want = Number(match[2]);
        let range = null;
        walk(root, (node) => {
          if (!range && node.nodeType.startsWith("repeat-range")
            && normalise(node.currentState.reference) === normalise(`${prefix}/${name}`)) range = node;
        });
        if (range) {
          const have = range.currentState.children.length;
          if (want > have) {
            if (typeof range.addInstances !== "function") {
              return `repeat row ${want} cannot be added: the form fixes the number of rows at ${have}`;
            }
            range.addInstances(undefined, want - have);
          }
        }
      }
      prefix += `/${part}`;
    }
    return null;
  };

  const asList = (value) => (Array.isArray(value) ? value.map(String)
    : String(value ?? "").split(/\s+/).filter(Boolean));

  const errors = [];
  for (const [path, value] of request.answers ?? []) {
    const repeatError = ensureRepeatRows(path);
    if (repeatError) {
      errors.push({ path, message: repeatError });
      continue;
    }
    const node = findNode(path);
    if (!node) {
      errors.push({ path, message: "no such question in the form" });
      continue;
    }
    if (!node.currentState.relevant) {
      errors.push({ path, message: "question is not relevant, so it cannot be answered" });
      continue;
    }
    if (node.currentState.readonly) {
      errors.push({ path, message: "question is read-only" });
      continue;
    }
    if (node.nodeType === "select") {
      const values = asList(value);
      const offered = new Set(node.currentState.valueOptions.map((item) => item.value));
      const missing = values.filter((v) => !offered.has(v));
      if (missing.length) {
        errors.push({ path, message: `not offered: ${missing.join(" ")}` });
        continue;
      }
      node.selectValues(values);
    } else if (node.nodeType === "rank") {
      node.setValues(asList(value));
    } else if (node.nodeType === "upload") {
      node.setValue(value ? new File([Buffer.from("test file")], String(value), { type: "image/jpeg" }) : null);
    } else if (typeof node.setValue === "function") {
      node.setValue(value === null ? null : String(value));
    } else {
      errors.push({ path, message: `a ${node.nodeType} cannot take a value` });
    }
  }

  const relevant = {};
  const options = {};
  const optionLabels = {};
  const values = {};
  walk(root, (node) => {
    const ref = node.currentState.reference;
    relevant[ref] = node.currentState.relevant;
    if (node.nodeType === "select" || node.nodeType === "rank") {
      const items = node.currentState.valueOptions;
      options[ref] = items.map((item) => item.value);
      optionLabels[ref] = Object.fromEntries(items.map((item) => [item.value, item.label?.asString ?? ""]));
    }
    if (!node.currentState.children && node.instanceState) {
      values[ref] = node.instanceState.instanceXML?.replace(/^<[^>]*>|<\/[^>]*>$/g, "") ?? null;
    }
  });

  const violations = root.validationState.violations.map((v) => ({
    path: v.reference,
    condition: v.violation.condition,
    message: v.violation.message?.asString ?? "",
  }));

  const payload = await root.prepareInstancePayload();
  const instanceFile = payload.data[0].get("xml_submission_file");
  const instanceXml = instanceFile ? await instanceFile.text() : root.instanceState.instanceXML;

  return {
    ok: errors.length === 0 && violations.length === 0 && payload.status === "ready",
    instance_xml: instanceXml,
    violations,
    errors,
    relevant,
    options,
    option_labels: optionLabels,
    values,
    languages: root.languages.map((l) => l.language),
    load_ms: loadMs,
  };
};

if (process.argv[2] === "--serve") {
  for await (const line of createInterface({ input: process.stdin })) {
    if (!line.trim()) continue;
    let answer;
    try {
      answer = await fillOne(JSON.parse(line));
    } catch (error) {
      answer = { crash: String(error?.stack ?? error) };
    }
    process.stdout.write(JSON.stringify(answer) + "\n");
  }
} else {
  process.stdout.write(JSON.stringify(await fillOne(JSON.parse(await readStdin()))));
}
