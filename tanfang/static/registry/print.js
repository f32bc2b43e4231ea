// The "打印" button of the printable registration form: shown only where a
// script runs (without one the browser's own print command does the same).
document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("[data-print]")) {
    button.hidden = false;
    button.addEventListener("click", () => window.print());
  }
});
