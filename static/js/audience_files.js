// Audience files: show that a large upload is on its way (the browser gives
// no feedback while it sends the file), and do not let it be sent twice.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-audience-upload")) {
    return;
  }
  const button = form.querySelector("button[type=submit]");
  if (button) {
    button.disabled = true;
    button.textContent = button.getAttribute("data-uploading-label") || button.textContent;
  }
});
