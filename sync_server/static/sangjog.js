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
