// Keyboard review: j/k move between items, a approves, r rejects, o opens the override form.
(() => {
  let current = 0;
  const items = () => Array.from(document.querySelectorAll(".queue .item"));
  const focus = (index) => {
    const list = items();
    if (!list.length) return;
    current = Math.max(0, Math.min(index, list.length - 1));
    list.forEach((el, i) => el.classList.toggle("current", i === current));
    list[current].focus();
    list[current].scrollIntoView({ block: "nearest" });
  };
  const openOverride = (item) => {
    const form = item.querySelector("form.override");
    if (!form) return;
    form.hidden = false;
    form.querySelector("input[name=subject]").focus();
  };
  document.addEventListener("click", (event) => {
    const toggle = event.target.closest(".override-toggle");
    if (toggle) openOverride(toggle.closest(".item"));
  });
  document.addEventListener("keydown", (event) => {
    if (event.target.closest("input, textarea, select") || event.ctrlKey || event.metaKey || event.altKey) return;
    const item = items()[current];
    const press = (selector) => item && item.querySelector(selector) && item.querySelector(selector).click();
    switch (event.key) {
      case "j": focus(current + 1); break;
      case "k": focus(current - 1); break;
      case "a": press("button.approve"); break;
      case "r": press("button.reject"); break;
      case "o": if (item) { event.preventDefault(); openOverride(item); } break;
      default: return;
    }
  });
  // After a decision replaces an item, move on to the next undecided one.
  document.addEventListener("htmx:afterSwap", () => {
    const list = items();
    const next = list.findIndex((el, i) => i >= current && !el.classList.contains("decided"));
    focus(next === -1 ? current : next);
  });
  document.addEventListener("DOMContentLoaded", () => focus(0));
})();
