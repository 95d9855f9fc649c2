// Small conveniences only; every page works without this file.
// The page's Content-Security-Policy allows no inline script or style: handlers live here, and
// bars get their length from data attributes.
document.addEventListener("change", (event) => {
  const el = event.target;
  if (el.matches("select[data-navigate]")) window.location.href = el.value;
  if (el.matches("select[data-autosubmit]")) el.form.requestSubmit();
  if (el.matches("input[data-check-all]")) {
    el.closest("table").querySelectorAll("tbody input[type=checkbox]").forEach((box) => {
      box.checked = el.checked;
    });
  }
});

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) event.preventDefault();
});

function drawBars() {
  document.querySelectorAll(".bar[data-p]").forEach((bar) => bar.style.setProperty("--p", bar.dataset.p));
  document.querySelectorAll(".hbar[data-w]").forEach((bar) => bar.style.setProperty("--w", `${bar.dataset.w}%`));
}
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", drawBars);
else drawBars();

// Area picker: a <select multiple data-area-picker> becomes a searchable list of tick boxes,
// divisions with their districts and provinces with their districts (and any local level already
// chosen), instead of Ctrl-clicking through a long list. The select stays in the form, hidden,
// and carries what is ticked, so the page works the same without this script.
function areaPicker(select) {
  const options = Array.from(select.options);
  const byCode = new Map(options.map((o) => [o.value, o]));
  const parentOf = (code) => {
    const [level, value] = code.split(":");
    if (level === "bd_district") return `bd_division:${value.slice(0, 2)}`;
    if (level === "np_district") return `np_province:${value.slice(0, 1)}`;
    if (level === "np_local_level") return `np_district:${value.slice(0, 3)}`;
    return null;
  };
  const picker = document.createElement("div");
  picker.className = "areapicker";
  const search = document.createElement("input");
  search.type = "search";
  search.placeholder = select.dataset.search || "Search";
  search.setAttribute("aria-label", select.dataset.search || "Search");
  const list = document.createElement("div");
  list.className = "arealist";
  picker.append(search, list);
  const boxes = new Map();
  const item = (option) => {
    const label = document.createElement("label");
    label.className = "areaitem";
    const box = document.createElement("input");
    box.type = "checkbox";
    box.value = option.value;
    box.checked = option.selected;
    box.addEventListener("change", () => { option.selected = box.checked; });
    label.append(box, ` ${option.textContent}`);
    label.dataset.text = option.textContent.toLowerCase();
    boxes.set(option.value, label);
    return label;
  };
  const children = new Map();  // a place's code -> the options inside it
  const hasParent = (option) => byCode.has(parentOf(option.value) || "");
  options.filter(hasParent).forEach((option) => {
    const parent = parentOf(option.value);
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(option);
  });
  // A place with places inside is a group to open: its own tick box (the whole of it) first.
  // A Nepal district is one too when the page offers local levels (fetched when first needed).
  const districtBodies = new Map();
  const localLevels = select.dataset.localLevels;
  const node = (option) => {
    const kids = children.get(option.value) || [];
    const nepal = localLevels && option.value.startsWith("np_district:");
    if (!kids.length && !nepal) return item(option);
    const details = document.createElement("details");
    details.className = "areagroup";
    const summary = document.createElement("summary");
    summary.textContent = option.textContent;
    const body = document.createElement("div");
    body.className = "areachildren";
    body.append(item(option), ...kids.map(node));
    details.append(summary, body);
    details.open = body.querySelector("input:checked") !== null;
    if (nepal) {
      districtBodies.set(option.value, body);
      details.addEventListener("toggle", () => { if (details.open) loadLocalLevels(); });
    }
    return details;
  };
  let loading = null;
  const loadLocalLevels = () => {
    if (!localLevels) return Promise.resolve();
    loading = loading || fetch(localLevels, { credentials: "same-origin" })
      .then((response) => (response.ok ? response.json() : {}))
      .then((byDistrict) => {
        districtBodies.forEach((body, district) => {
          (byDistrict[district] || []).forEach(([code, name]) => {
            if (byCode.has(code)) return;  // chosen already: listed under its district
            const option = new Option(name, code);
            select.append(option);
            byCode.set(code, option);
            body.append(item(option));
          });
        });
        filter();
      })
      .catch(() => {});
    return loading;
  };
  options.filter((option) => !hasParent(option)).forEach((option) => list.append(node(option)));
  const filter = () => {
    const query = search.value.trim().toLowerCase();
    boxes.forEach((label) => {
      const hit = !query || label.dataset.text.includes(query);
      label.classList.toggle("nomatch", !hit);
    });
    list.querySelectorAll("details.areagroup").forEach((details) => {
      const hits = details.querySelectorAll("label.areaitem:not(.nomatch)").length;
      const named = details.querySelector("summary").textContent.toLowerCase().includes(query);
      details.classList.toggle("nomatch", query !== "" && hits === 0 && !named);
      if (query) details.open = hits > 0;
      if (query && named && hits === 0) {  // a division found by name: show what is in it
        details.querySelectorAll("label.areaitem").forEach((label) => label.classList.remove("nomatch"));
        details.open = true;
      }
    });
  };
  search.addEventListener("input", () => {
    if (search.value.trim().length > 1) loadLocalLevels();
    filter();
  });
  search.addEventListener("keydown", (event) => { if (event.key === "Enter") event.preventDefault(); });
  select.hidden = true;
  const caption = select.closest("label");  // "hold Ctrl" is advice for the plain list only
  if (caption) {
    caption.querySelectorAll(".ctrlhint").forEach((el) => { el.hidden = true; });
    caption.querySelectorAll(".withpicker").forEach((el) => { el.hidden = false; });
  }
  (select.closest("label") || select).after(picker);
}

function areaPickers() {
  document.querySelectorAll("select[data-area-picker]").forEach(areaPicker);
}
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", areaPickers);
else areaPickers();
