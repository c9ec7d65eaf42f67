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
// A split branch's segment conditions are built as in the segment editor
// (static/js/segments.js), which writes them into the branch's textarea.
function mountBranchSegments(root) {
  const configNode = document.getElementById("segment-builder-config");
  if (!window.MunjaSegmentBuilder || !configNode) return;
  const config = JSON.parse(configNode.textContent);
  root.querySelectorAll(".branch-segment-builder:not([data-mounted])").forEach((node) => {
    const textarea = document.getElementById(node.getAttribute("data-textarea"));
    if (!textarea) return;
    node.setAttribute("data-mounted", "true");
    window.MunjaSegmentBuilder.mount(node, textarea, config);
  });
}
// The A/B split's total follows the typing.
document.addEventListener("input", (event) => {
  if (!event.target.matches(".ab-percent")) return;
  const output = document.getElementById("ab-total");
  if (!output) return;
  let total = 0;
  for (const input of document.querySelectorAll(".ab-percent")) {
    const text = input.value.trim();
    if (!/^-?\d+(\.\d+)?$/.test(text)) {
      output.textContent = "—";
      output.setAttribute("data-total", "");
      return;
    }
    total += Number(text);
  }
  const shown = String(Math.round(total * 1e6) / 1e6);
  output.textContent = `${shown}%`;
  output.setAttribute("data-total", shown);
});
document.addEventListener("DOMContentLoaded", () => mountBranchSegments(document));
document.addEventListener("htmx:load", (event) => mountBranchSegments(event.target));
// The counters over the graph poll every 2 s (templates/journeys/_counts.html)
// while the tab is visible; a tab coming back asks at once.
document.addEventListener("htmx:beforeRequest", (event) => {
  if (event.detail.elt.id === "journey-counts" && document.visibilityState !== "visible") {
    event.preventDefault();
  }
});
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") document.body.dispatchEvent(new CustomEvent("journey-visible"));
});
