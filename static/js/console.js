// Small behaviours that CSP forbids as inline handlers.
document.addEventListener("change", (event) => {
  const el = event.target;
  if (el instanceof HTMLSelectElement && el.hasAttribute("data-autosubmit")) {
    if (el.form.method.toLowerCase() === "get" && el.form.classList.contains("project-switcher")) {
      window.location.href = el.form.action + "?project=" + encodeURIComponent(el.value);
    } else {
      el.form.submit();
    }
  }
});
document.addEventListener("click", (event) => {
  const el = event.target.closest("[data-copy]");
  if (el) {
    navigator.clipboard?.writeText(el.getAttribute("data-copy"));
  }
});
