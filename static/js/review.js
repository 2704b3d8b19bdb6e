// The review screen: keyboard navigation between sections and deals.
// 1–5 jump to a section; j / → next deal; k / ← previous deal. Typing in a field is left alone.
(function () {
  "use strict";

  function typing(target) {
    if (!target) return false;
    var tag = target.tagName;
    return target.isContentEditable || tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT";
  }

  function go(selector) {
    var link = document.querySelector(selector);
    if (link) link.click();
  }

  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey || typing(event.target)) return;
    var key = event.key;
    if (key === "j" || key === "ArrowRight") {
      event.preventDefault();
      go("[data-review-next]");
    } else if (key === "k" || key === "ArrowLeft") {
      event.preventDefault();
      go("[data-review-prev]");
    } else if (/^[1-5]$/.test(key)) {
      var step = document.querySelector('.review-steps a[data-step="' + key + '"]');
      if (!step) return;
      event.preventDefault();
      var section = document.querySelector(step.getAttribute("href"));
      if (section) {
        section.scrollIntoView({ block: "start" });
        section.focus({ preventScroll: true });
        history.replaceState(null, "", step.getAttribute("href"));
      }
    }
  });

  // After moving to another deal, keep the deal in view and focus its first field.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (target && target.id === "deal-panel") {
      var panel = document.getElementById("deal-panel");
      if (panel && event.detail.requestConfig && event.detail.requestConfig.verb === "get") {
        panel.scrollIntoView({ block: "nearest" });
      }
    }
  });
})();
