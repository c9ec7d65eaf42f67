// The compose screen's auto-saves must never fail in silence: htmx swaps
// only successful answers, so a server error or a lost connection would
// otherwise leave the step's status line saying nothing.
(() => {
  function notSaved(event, detail) {
    const target = event.detail.target;
    if (!target || !target.classList.contains("save-status")) {
      return;
    }
    const template = target.getAttribute("data-not-saved") || "Not saved: %(reason)s";
    const list = document.createElement("ul");
    list.className = "errorlist";
    list.setAttribute("data-saved", "false");
    const item = document.createElement("li");
    item.textContent = template.replace("%(reason)s", detail);
    list.append(item);
    target.replaceChildren(list);
  }
  document.body.addEventListener("htmx:responseError", (event) => {
    const xhr = event.detail.xhr;
    notSaved(event, `HTTP ${xhr.status}${xhr.statusText ? " " + xhr.statusText : ""}`);
  });
  document.body.addEventListener("htmx:sendError", (event) => {
    notSaved(event, event.target.closest("form")?.getAttribute("data-offline") || "offline");
  });
})();
