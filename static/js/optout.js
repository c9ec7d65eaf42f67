// Opt-out list: ask before a number is removed (CSP forbids inline handlers).
document.addEventListener("click", (event) => {
  const button = event.target.closest("#optout-table [data-confirm]");
  if (button && !window.confirm(button.getAttribute("data-confirm"))) {
    event.preventDefault();
  }
});
