// ClimCRM's own script: small helpers around htmx. Pages work without it.
(function () {
  "use strict";

  function showToast(text, kind) {
    var toast = document.getElementById("toast");
    if (!toast || !text) return;
    toast.textContent = text;
    toast.className = "toast toast-" + (kind || "info");
    toast.hidden = false;
    clearTimeout(showToast.timer);
    showToast.timer = setTimeout(function () { toast.hidden = true; }, 6000);
  }
  window.climcrm = window.climcrm || {};
  window.climcrm.showToast = showToast;

  // Servers send {"toast": {"text": "...", "kind": "error"}} in HX-Trigger.
  document.addEventListener("toast", function (event) {
    var detail = event.detail || {};
    showToast(detail.text || detail.value, detail.kind);
  });

  // A 409 with a body is a write refused because someone else changed the record: the body
  // is the form or row as it is now (with the new version), swapped in like a success so
  // the next save is not refused again. Its toast comes in HX-Trigger.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (xhr.status === 409 && xhr.responseText) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    // The server already said why in its own toast.
    if (/"toast"/.test(xhr.getResponseHeader("HX-Trigger") || "")) return;
    var message = xhr.getResponseHeader("X-Error-Message");
    showToast(message ? decodeURIComponent(message) : document.body.dataset.errorText || "Error", "error");
  });
  document.addEventListener("htmx:sendError", function () {
    showToast(document.body.dataset.offlineText || "The server cannot be reached.", "error");
  });

  // Elements with data-confirm ask before submitting (no inline script under the CSP).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var text = form.getAttribute("data-confirm");
    if (text && !window.confirm(text)) event.preventDefault();
  }, true);

  // Auto-submit filter forms marked data-autosubmit when a select changes.
  document.addEventListener("change", function (event) {
    var form = event.target.form;
    if (form && form.hasAttribute("data-autosubmit") && event.target.tagName === "SELECT") {
      if (window.htmx && form.hasAttribute("hx-get")) return;
      form.requestSubmit();
    }
  });

  // Print buttons.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-print]");
    if (button) { event.preventDefault(); window.print(); }
  });
})();
