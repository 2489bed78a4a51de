// The notice sheet's print button (no inline script: the pages run under a strict CSP).
document.addEventListener("click", (event) => {
  if (event.target.closest(".print-button")) window.print();
});
