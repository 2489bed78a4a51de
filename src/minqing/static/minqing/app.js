// Small behaviours that need no framework. No inline scripts: the CSP forbids them.
document.addEventListener("change", (event) => {
  const target = event.target;
  if (target instanceof HTMLSelectElement && target.classList.contains("autosubmit")) {
    target.form.submit();
  }
});

// The top bar's menus: opening one closes the others; a click elsewhere or Esc closes them.
function closeMenus(except) {
  document.querySelectorAll("details.nav-group[open]").forEach((menu) => {
    if (menu !== except) menu.removeAttribute("open");
  });
}
document.addEventListener("click", (event) => {
  closeMenus(event.target instanceof Element ? event.target.closest("details.nav-group") : null);
});
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape") closeMenus(null);
});
