// The journey builder. A click on a node of the SVG graph opens its side
// panel over htmx: an SVG link is not an HTML anchor, so htmx would not stop
// the browser from following it; its href stays the way without script.
document.addEventListener("click", (event) => {
  const link = event.target.closest("svg.journey-graph a.node-link[data-panel]");
  if (!link || !window.htmx || event.ctrlKey || event.metaKey || event.shiftKey) return;
  event.preventDefault();
  const href = link.getAttribute("href");
  window.htmx
    .ajax("GET", link.getAttribute("data-panel"), { target: "#side-panel", swap: "innerHTML" })
    .then(() => window.history.pushState({}, "", href));
});
// Forms that ask first (remove a node, stop the journey).
document.addEventListener("submit", (event) => {
  const form = event.target.closest(".journey-page form[data-confirm]");
  if (form && !window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
});
