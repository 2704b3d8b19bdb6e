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

  // --- Design system ------------------------------------------------------------------

  function setCookie(name, value) {
    var age = value ? 31536000 : 0;
    document.cookie = name + "=" + (value || "") + "; path=/; max-age=" + age + "; samesite=lax" +
      (location.protocol === "https:" ? "; secure" : "");
  }

  // Theme switch: applied at once and kept in the "theme" cookie (the server renders it).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute || !form.hasAttribute("data-theme-switch")) return;
    var button = event.submitter;
    if (!button || !button.value) return;
    event.preventDefault();
    var theme = button.value === "auto" ? "" : button.value;
    if (theme) document.documentElement.setAttribute("data-theme", theme);
    else document.documentElement.removeAttribute("data-theme");
    setCookie("theme", theme);
    form.querySelectorAll("button[name=theme]").forEach(function (other) {
      other.setAttribute("aria-pressed", other === button ? "true" : "false");
    });
  });

  // Side navigation: collapsed to icons (kept in the "sidebar" cookie), or a drawer on
  // narrow screens that Escape closes.
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest("[data-sidebar-toggle]");
    if (!toggle) return;
    var root = document.documentElement;
    var collapsed = root.getAttribute("data-sidebar") !== "collapsed";
    if (collapsed) root.setAttribute("data-sidebar", "collapsed");
    else root.removeAttribute("data-sidebar");
    toggle.setAttribute("aria-expanded", collapsed ? "false" : "true");
    setCookie("sidebar", collapsed ? "collapsed" : "");
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      var drawer = document.getElementById("nav-toggle");
      if (drawer && drawer.checked) drawer.checked = false;
      document.querySelectorAll("details.dropdown[open]").forEach(function (menu) {
        menu.removeAttribute("open");
      });
    }
    // "/" and Ctrl/⌘+K open the command palette (palette.js).
  });
  // A menu closes when one clicks elsewhere.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.dropdown[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  });

  // Dialogs: data-dialog-open="<id>" opens a native <dialog>, data-dialog-close closes it;
  // the focus goes back to the opener.
  document.addEventListener("click", function (event) {
    var opener = event.target.closest("[data-dialog-open]");
    if (opener) {
      var dialog = document.getElementById(opener.getAttribute("data-dialog-open"));
      if (dialog && dialog.showModal) {
        event.preventDefault();
        dialog.addEventListener("close", function () { opener.focus(); }, { once: true });
        dialog.showModal();
      }
      return;
    }
    var closer = event.target.closest("[data-dialog-close]");
    if (closer) {
      var open = closer.closest("dialog");
      if (open) { event.preventDefault(); open.close(); }
    }
  });

  // Multiple choices become a multi-select with search (Tom Select); the <select> stays
  // the form's control, so filters, HTMX and pages without JavaScript work the same.
  function enhanceSelects(root) {
    if (!window.TomSelect || !root.querySelectorAll) return;
    var texts = document.body.dataset;
    var selects = root.querySelectorAll(".filter-bar select[multiple], .form-field select[multiple], select[data-multiselect]");
    Array.prototype.forEach.call(selects, function (select) {
      if (select.tomselect) return;
      var label = labelOf(select);
      var control = new window.TomSelect(select, {
        plugins: { remove_button: { title: texts.removeText || "Remove" } },
        maxOptions: null,
        hideSelected: true,
        closeAfterSelect: false,
        placeholder: texts.chooseText || "",
        render: {
          no_results: function () {
            return '<div class="no-results">' + (texts.noResultsText || "No results") + "</div>";
          },
        },
      });
      // The hidden list box keeps its name too (tools read it even out of sight).
      labelControl(select, label, control);
    });
  }

  // Tom Select points the label at its search box: find the label before enhancing.
  function labelOf(select) {
    return select.id && document.querySelector("label[for='" + select.id + "']");
  }

  function labelControl(select, label, control) {
    // The search box is what the label names once the list box is hidden.
    if (!label) return;
    control.control_input.setAttribute("aria-label", label.textContent.trim());
    if (!label.id) label.id = select.id + "-label";
    select.setAttribute("aria-labelledby", label.id);
  }

  // Selects of accounts or contacts past a few hundred rows carry only their chosen option
  // and data-lookup-url: the options come from that address as the user types (the
  // server ranks them). data-lookup-forward names fields of the form sent along
  // (a deal's contact is looked up within its account).
  function enhanceLookups(root) {
    if (!window.TomSelect || !root.querySelectorAll) return;
    var texts = document.body.dataset;
    var selects = root.querySelectorAll("select[data-lookup-url]");
    Array.prototype.forEach.call(selects, function (select) {
      if (select.tomselect) return;
      var forward = (select.dataset.lookupForward || "").split(" ").filter(Boolean);
      function lookupUrl(query) {
        var url = new URL(select.dataset.lookupUrl, window.location.href);
        url.searchParams.set("q", query);
        forward.forEach(function (name) {
          var field = select.form && select.form.elements[name];
          if (field && field.value) url.searchParams.set(name, field.value);
        });
        return url.toString();
      }
      var label = labelOf(select);
      var ranks = {};
      var control = new window.TomSelect(select, {
        valueField: "value",
        labelField: "text",
        searchField: ["text"],
        maxOptions: null,
        preload: "focus",
        loadThrottle: 250,
        placeholder: texts.lookupText || "",
        shouldLoad: function () { return true; },
        // Show exactly the rows of the last answer, in the server's order (names starting
        // with the text first), not the options kept from earlier answers.
        score: function () {
          return function (option) {
            var rank = ranks[option.value];
            return rank === undefined ? 0 : 1 / (rank + 1);
          };
        },
        load: function (query, callback) {
          fetch(lookupUrl(query), {
            credentials: "same-origin",
            headers: { Accept: "application/json" },
          })
            .then(function (response) { return response.ok ? response.json() : []; })
            .then(function (rows) {
              ranks = {};
              rows.forEach(function (row, index) { ranks[String(row.value)] = index; });
              callback(rows);
            }, function () { callback(); });
        },
        render: {
          no_results: function () {
            return '<div class="no-results">' + (texts.noResultsText || "No results") + "</div>";
          },
        },
      });
      labelControl(select, label, control);
      forward.forEach(function (name) {
        var field = select.form && select.form.elements[name];
        if (!field || !field.addEventListener) return;
        field.addEventListener("change", function () {
          // Options found for the former value no longer apply.
          control.loadedSearches = {};
          control.clearOptions();
        });
      });
    });
  }

  function enhance(root) {
    enhanceSelects(root);
    enhanceLookups(root);
  }
  if (window.htmx) window.htmx.onLoad(enhance);
  else document.addEventListener("DOMContentLoaded", function () { enhance(document); });
})();
