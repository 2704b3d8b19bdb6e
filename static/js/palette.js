// Keyboard first: the command palette (Ctrl/⌘+K or "/"), the shortcuts help (?), j/k on
// lists, and the saved views menu of the list pages. Pages work without it.
(function () {
  "use strict";

  function typing(target) {
    if (!target) return false;
    var tag = target.tagName;
    return target.isContentEditable || tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT";
  }

  // --- command palette ---------------------------------------------------------------

  var palette, input, listbox, opener = null, sequence = 0, timer = null;
  // Enter pressed while the options of what was just typed are on their way: chosen once in.
  var loading = false, enterWaiting = false;

  function options() {
    return Array.prototype.slice.call(listbox.querySelectorAll('[role="option"]:not([aria-disabled="true"])'));
  }

  function activate(option) {
    options().forEach(function (other) { other.setAttribute("aria-selected", other === option ? "true" : "false"); });
    if (option) {
      input.setAttribute("aria-activedescendant", option.id);
      option.scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function current() {
    var id = input.getAttribute("aria-activedescendant");
    return id ? document.getElementById(id) : null;
  }

  function move(step) {
    var all = options();
    if (!all.length) return;
    var index = all.indexOf(current());
    index = index < 0 ? (step > 0 ? 0 : all.length - 1) : (index + step + all.length) % all.length;
    activate(all[index]);
  }

  function load() {
    var mine = ++sequence;
    var url = palette.getAttribute("data-palette-url") + "?q=" + encodeURIComponent(input.value) +
      "&from=" + encodeURIComponent(location.pathname);
    fetch(url, { headers: { "HX-Request": "true" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : ""; })
      .then(function (html) {
        if (mine !== sequence) return;  // an older answer arriving late
        listbox.innerHTML = html;
        activate(options()[0] || null);
        loading = false;
        palette.setAttribute("data-ready", "true");
        if (enterWaiting) { enterWaiting = false; choose(current()); }
      });
  }

  function openPalette() {
    if (!palette || palette.open) return;
    opener = document.activeElement;
    closeDialogs();
    input.value = "";
    listbox.innerHTML = "";
    loading = true;
    enterWaiting = false;
    palette.removeAttribute("data-ready");
    palette.showModal();
    input.focus();
    load();
  }

  function closeDialogs() {
    document.querySelectorAll("dialog[open]").forEach(function (dialog) { dialog.close(); });
  }

  function showShortcuts() {
    var help = document.getElementById("shortcuts-help");
    if (!help || help.open) return;
    var from = palette && palette.open ? opener : document.activeElement;
    closeDialogs();
    help.addEventListener("close", function () { if (from && from.focus) from.focus(); }, { once: true });
    help.showModal();
  }

  function choose(option) {
    if (!option) return;
    var action = option.getAttribute("data-action");
    if (action === "shortcuts") { showShortcuts(); return; }
    if (action === "focus") {
      var field = document.querySelector(option.getAttribute("data-target"));
      opener = null;
      palette.close();
      if (field) { field.scrollIntoView({ block: "center" }); field.focus(); }
      return;
    }
    var href = option.getAttribute("data-href");
    if (href) { opener = null; palette.close(); window.location.assign(href); }
  }

  function setUpPalette() {
    palette = document.getElementById("command-palette");
    if (!palette) return;
    input = document.getElementById("palette-input");
    listbox = document.getElementById("palette-listbox");
    input.addEventListener("input", function () {
      // An answer still on its way is for older text: dropped, so Enter waits for this one.
      sequence++;
      loading = true;
      enterWaiting = false;
      clearTimeout(timer);
      timer = setTimeout(load, 150);
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { event.preventDefault(); palette.close(); }
      else if (event.key === "ArrowDown") { event.preventDefault(); move(1); }
      else if (event.key === "ArrowUp") { event.preventDefault(); move(-1); }
      else if (event.key === "Home" && event.ctrlKey) { event.preventDefault(); activate(options()[0] || null); }
      else if (event.key === "End" && event.ctrlKey) { event.preventDefault(); var all = options(); activate(all[all.length - 1] || null); }
      else if (event.key === "Enter") {
        event.preventDefault();
        if (loading) enterWaiting = true; else choose(current());
      }
    });
    listbox.addEventListener("click", function (event) {
      var option = event.target.closest('[role="option"]');
      if (option && option.getAttribute("aria-disabled") !== "true") choose(option);
    });
    listbox.addEventListener("mousemove", function (event) {
      var option = event.target.closest('[role="option"]');
      if (option && option !== current() && option.getAttribute("aria-disabled") !== "true") activate(option);
    });
    // A click on the backdrop closes it, as Escape does.
    palette.addEventListener("click", function (event) { if (event.target === palette) palette.close(); });
    palette.addEventListener("close", function () {
      if (opener && opener.focus && document.contains(opener)) opener.focus();
      opener = null;
    });
  }

  document.addEventListener("keydown", function (event) {
    if ((event.ctrlKey || event.metaKey) && !event.altKey && (event.key === "k" || event.key === "K")) {
      if (!palette) return;
      event.preventDefault();
      if (palette.open) palette.close(); else openPalette();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    if (document.querySelector("dialog[open]")) return;
    if (event.key === "/") { event.preventDefault(); openPalette(); }
    else if (event.key === "?") { event.preventDefault(); showShortcuts(); }
    else if (event.key === "j" || event.key === "k") { listStep(event, event.key === "j" ? 1 : -1); }
  });

  // --- j / k on lists: the focus goes from row to row (its first link); Enter opens it.

  function listStep(event, step) {
    // The review screen has its own j / k (next and previous deal).
    if (document.querySelector("[data-review-next], [data-review-prev]")) return;
    var links = Array.prototype.slice.call(document.querySelectorAll(".data-table tbody tr"))
      .map(function (row) { return row.querySelector("a[href]"); })
      .filter(Boolean);
    if (!links.length) return;
    event.preventDefault();
    var index = links.indexOf(document.activeElement);
    index = index < 0 ? (step > 0 ? 0 : links.length - 1) : Math.min(Math.max(index + step, 0), links.length - 1);
    links[index].focus();
    links[index].scrollIntoView({ block: "nearest" });
  }

  // --- saved views: the menu is read when opened, with the filters of the moment -------

  document.addEventListener("toggle", function (event) {
    var menu = event.target;
    if (!menu.matches || !menu.matches("details[data-views-menu]") || !menu.open) return;
    var panel = menu.querySelector("[data-views-url]");
    if (!panel || !window.htmx) return;
    var url = panel.getAttribute("data-views-url") + "&current=" + encodeURIComponent(location.search.replace(/^\?/, ""));
    window.htmx.ajax("GET", url, { target: panel, swap: "innerHTML" });
  }, true);

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setUpPalette);
  else setUpPalette();
})();
