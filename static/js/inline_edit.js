// Inline edit of a deal's fields (opportunities.inline): Enter saves, Escape cancels, and
// the focus comes back to the value once the field is shown again. A refused save (400
// invalid, 403 not allowed) comes back as the field with its reason: swapped in like a
// success (409 stale is handled by app.js the same way).
(function () {
  "use strict";

  // The field whose form sent the request, and that request: other regions may settle
  // (they refresh after a save) before the field comes back.
  var returnFocusTo = null;
  var pendingXhr = null;

  document.addEventListener("keydown", function (event) {
    var form = event.target.closest && event.target.closest(".inline-form");
    if (!form) return;
    if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      var cancel = form.querySelector("[data-inline-cancel]");
      if (cancel) cancel.click();
    } else if (event.key === "Enter" && event.target.tagName === "SELECT") {
      // A select does not submit its form on Enter by itself.
      event.preventDefault();
      form.requestSubmit();
    }
  });

  document.addEventListener("htmx:beforeRequest", function (event) {
    var field = event.detail.elt.closest && event.detail.elt.closest(".inline-field");
    if (field && field.classList.contains("is-editing")) {
      returnFocusTo = field.id;
      pendingXhr = event.detail.xhr;
    }
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    var target = event.detail.target;
    if ((status === 400 || status === 403) && target && target.classList.contains("inline-field")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    if (!returnFocusTo || event.detail.xhr !== pendingXhr) return;
    pendingXhr = null;
    var field = document.getElementById(returnFocusTo);
    if (!field || field.classList.contains("is-editing")) {
      // Still a form (the save was invalid): the input has the focus back.
      var input = field && field.querySelector(".inline-input");
      if (input) input.focus();
      returnFocusTo = null;
      return;
    }
    returnFocusTo = null;
    var value = field.querySelector(".inline-value");
    if (value) value.focus();
    else {
      field.setAttribute("tabindex", "-1");
      field.focus();
    }
  });
})();
