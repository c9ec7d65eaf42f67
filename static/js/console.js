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
// Charts: the value of the bar or point under the pointer or the keyboard
// focus, written under the chart (an SVG title alone shows on hover only).
function showChartValue(event) {
  const mark = event.target instanceof Element && event.target.closest(".chart .bar, .chart .marker");
  if (!mark) return;
  const readout = mark.closest(".chart").querySelector(".chart-readout");
  if (readout) readout.textContent = mark.querySelector("title")?.textContent || "";
}
document.addEventListener("focusin", showChartValue);
document.addEventListener("mouseover", showChartValue);
// A chart wider than a phone scrolls inside its card; one whose latest
// slots matter most (the dashboard's last 30 days) starts scrolled to them.
function scrollChartsToTheirEnd() {
  for (const plot of document.querySelectorAll(".chart-plot[data-scroll-end]")) {
    plot.scrollLeft = plot.scrollWidth;
  }
}
if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", scrollChartsToTheirEnd);
} else {
  scrollChartsToTheirEnd();
}
