// SMS settings page: reveal/hide the signing secret (copy is console.js's data-copy).
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-reveal]");
  if (!button) return;
  const value = document.getElementById(button.getAttribute("data-reveal"));
  const mask = document.getElementById(button.getAttribute("data-mask"));
  if (!value || !mask) return;
  const revealing = value.hidden;
  value.hidden = !revealing;
  mask.hidden = revealing;
  if (!button.hasAttribute("data-show-label")) {
    button.setAttribute("data-show-label", button.textContent);
  }
  button.textContent = revealing
    ? button.getAttribute("data-hide-label")
    : button.getAttribute("data-show-label");
});
