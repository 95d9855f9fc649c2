// Small conveniences only; every page works without this file.
document.addEventListener("change", (event) => {
  const el = event.target;
  if (el.matches("select[data-autosubmit]")) el.form.requestSubmit();
  if (el.matches("input[data-check-all]")) {
    el.closest("table").querySelectorAll("tbody input[type=checkbox]").forEach((box) => {
      box.checked = el.checked;
    });
  }
});
