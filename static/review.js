// Keyboard review: j/k move between items, a approves, r rejects, o opens the override form,
// x selects the item for bulk approval, A (shift+a) approves the selection, u undoes the last decision
// and ? shows the keys.
(() => {
  let current = 0;
  let lastDecided = null;
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
  const toggleSelected = (item) => {
    const box = item && item.querySelector("input[name=selected]");
    if (box) box.checked = !box.checked;
  };
  const approveSelected = () => {
    const bulk = document.getElementById("bulk");
    if (bulk && document.querySelector("input[name=selected][form=bulk]:checked")) bulk.requestSubmit();
  };
  document.addEventListener("click", (event) => {
    const item = event.target.closest(".queue .item");
    if (item) current = items().indexOf(item);
    const toggle = event.target.closest(".override-toggle");
    if (toggle) openOverride(toggle.closest(".item"));
  });
  document.addEventListener("keydown", (event) => {
    // A checkbox keeps focus after a click; only fields that take text own the keys.
    const typing = event.target.closest("input:not([type=checkbox]), textarea, select");
    if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
    const item = items()[current];
    const press = (selector) => item && item.querySelector(selector) && item.querySelector(selector).click();
    switch (event.key) {
      case "j": focus(current + 1); break;
      case "k": focus(current - 1); break;
      case "a": press("button.approve"); break;
      case "r": press("button.reject"); break;
      case "o": if (item) { event.preventDefault(); openOverride(item); } break;
      case "x": toggleSelected(item); break;
      case "A": approveSelected(); break;
      case "u": if (lastDecided && lastDecided.isConnected) lastDecided.querySelector("button.undo")?.click(); break;
      case "?": document.getElementById("help")?.showModal(); break;
      default: return;
    }
  });
  // A decided item or a conflict says so in place of the card: show the 409 and 400 answers too.
  document.addEventListener("htmx:beforeSwap", (event) => {
    if ([400, 409].includes(event.detail.xhr.status)) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  // htmx:load fires on the swapped-in card (the replaced one is detached, so its events never reach
  // the document): move on to the next undecided item.
  // When every item on the page is decided, the queue's next items replace them (the empty state
  // when there are none), so the keys go on without a click.
  const nextItems = () => {
    const url = new URL(window.location.href);
    url.searchParams.delete("page");
    htmx.ajax("GET", url.toString(), { target: ".queue", swap: "innerHTML", select: ".queue > li" })
      .then(() => (items().length ? focus(0) : window.location.reload()));
  };
  document.addEventListener("htmx:load", (event) => {
    if (event.target.matches(".queue .item[data-undone]")) {  // an undone decision: decide it again
      focus(items().indexOf(event.target));
      return;
    }
    if (!event.target.matches(".queue .item.decided")) return;
    if (event.target.querySelector("button.undo")) lastDecided = event.target;
    const list = items();
    const at = list.indexOf(event.target);
    const undecided = (el) => !el.classList.contains("decided");
    const next = list.findIndex((el, i) => i > at && undecided(el));
    if (!list.some(undecided)) { nextItems(); return; }
    focus(next === -1 ? list.findIndex(undecided) : next);  // else the first one left above
  });
  document.addEventListener("DOMContentLoaded", () => focus(0));
})();
