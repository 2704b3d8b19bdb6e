// The pipeline board: drag and drop between columns, and the "move to stage" menu.
// Without JavaScript the menu posts a plain form (post/redirect/get); with it, both paths
// post the same request and swap in the card and column headers the server returns.
(function () {
  "use strict";

  var texts = {};

  function readTexts() {
    var node = document.getElementById("kanban-texts");
    if (!node) return;
    try { texts = JSON.parse(node.textContent) || {}; } catch (e) { texts = {}; }
  }

  function toast(text, kind) {
    if (window.climcrm && window.climcrm.showToast) window.climcrm.showToast(text, kind);
  }

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (e) {
      return "";
    }
  }

  function boardQuery() {
    var board = document.getElementById("kanban-board");
    return board ? board.getAttribute("data-query") || "" : "";
  }

  function indexIn(parent, item) {
    return Array.prototype.indexOf.call(parent.children, item);
  }

  // A column says "no deal in this stage" exactly when its list holds no card.
  function syncEmpty(root) {
    var columns = (root || document).querySelectorAll(".kanban-column");
    Array.prototype.forEach.call(columns, function (column) {
      var empty = column.querySelector(".kanban-empty");
      if (empty) empty.hidden = !!column.querySelector(".kanban-list .kanban-card");
    });
  }

  // Put a card back where it was before the drag.
  function putBack(item, from, oldIndex) {
    var reference = from.children[oldIndex] || null;
    if (reference !== item) from.insertBefore(item, reference);
    var select = item.querySelector(".kanban-move-form select");
    if (select) select.value = item.getAttribute("data-stage");
    syncEmpty(document);
  }

  // Open a dialog; resolve with its form data, or null when cancelled.
  function ask(dialogId, item) {
    return new Promise(function (resolve) {
      var dialog = document.getElementById(dialogId);
      if (!dialog || typeof dialog.showModal !== "function") { resolve(new FormData()); return; }
      var form = dialog.querySelector("form");
      var cancel = dialog.querySelector("[data-dialog-cancel]");
      var label = dialog.querySelector(".kanban-dialog-deal");
      var done = false;
      form.reset();
      if (label) label.textContent = item.getAttribute("data-name") || "";

      function finish(value) {
        if (done) return;
        done = true;
        form.removeEventListener("submit", onSubmit);
        cancel.removeEventListener("click", onCancel);
        dialog.removeEventListener("close", onClose);
        if (dialog.open) dialog.close();
        resolve(value);
      }
      function onSubmit(event) {
        event.preventDefault();
        if (!form.reportValidity()) return;
        finish(new FormData(form));
      }
      function onCancel() { finish(null); }
      function onClose() { finish(null); }

      form.addEventListener("submit", onSubmit);
      cancel.addEventListener("click", onCancel);
      dialog.addEventListener("close", onClose);
      dialog.showModal();
      var first = form.querySelector("select, input, textarea");
      if (first) first.focus();
    });
  }

  // Swap in what the server returned: the card, and the headers marked hx-swap-oob.
  function applyResult(item, html) {
    var template = document.createElement("template");
    template.innerHTML = html;
    var heads = template.content.querySelectorAll("[hx-swap-oob]");
    Array.prototype.forEach.call(heads, function (head) {
      head.removeAttribute("hx-swap-oob");
      var old = document.getElementById(head.id);
      if (!old) return;
      var column = old.closest(".kanban-column");
      old.replaceWith(head);
      syncCollapse(column);
      if (window.htmx) window.htmx.process(head);
    });
    var card = template.content.querySelector(".kanban-card");
    if (card) {
      item.replaceWith(card);
      if (window.htmx) window.htmx.process(card);
    }
    syncEmpty(document);
    return card;
  }

  // A move refused as stale comes back with the card as it is now: show it in the column it
  // is in, so the board shows the other change and the next move carries the new version.
  function showCurrent(item, html) {
    var card = applyResult(item, html);
    if (!card) return;
    var list = listFor(card.getAttribute("data-stage"));
    if (list && card.parentNode !== list) list.insertBefore(card, list.firstElementChild);
    syncEmpty(document);
  }

  function serverMessage(response, body) {
    var header = response.headers.get("X-Error-Message");
    if (header) {
      try { return decodeURIComponent(header); } catch (e) { return header; }
    }
    return body || texts.error || "Error";
  }

  function successMessage(response) {
    var header = response.headers.get("HX-Trigger");
    if (!header) return "";
    try { return (JSON.parse(header).toast || {}).text || ""; } catch (e) { return ""; }
  }

  function post(item, stage, extra, from, oldIndex, focusAfter) {
    var body = new FormData();
    body.append("stage", stage);
    body.append("version", item.getAttribute("data-version"));
    if (extra) extra.forEach(function (value, key) { body.append(key, value); });
    var query = boardQuery();
    var url = item.getAttribute("data-move-url") + (query ? "?" + query : "");
    item.classList.add("is-saving");
    item.setAttribute("aria-busy", "true");
    return fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "HX-Request": "true" }
    }).then(function (response) {
      return response.text().then(function (text) {
        item.classList.remove("is-saving");
        item.removeAttribute("aria-busy");
        if (!response.ok) {
          putBack(item, from, oldIndex);
          var stale = response.status === 409;
          if (stale) showCurrent(item, text);
          toast(serverMessage(response, stale ? "" : text), "error");
          return;
        }
        var card = applyResult(item, text);
        var message = successMessage(response);
        if (message) toast(message, "success");
        if (focusAfter && card) {
          var select = card.querySelector(".kanban-move-form select");
          if (select) select.focus();
        }
      });
    }).catch(function () {
      item.classList.remove("is-saving");
      item.removeAttribute("aria-busy");
      putBack(item, from, oldIndex);
      toast(texts.offline || "The server cannot be reached.", "error");
    });
  }

  // A move to a lower step of the ladder (lost aside) needs a reason (opportunities.reasons).
  function movesBack(from, to) {
    var node = document.getElementById("kanban-ladder");
    if (!node || !from) return false;
    var ladder = JSON.parse(node.textContent);
    var before = ladder.indexOf(from);
    var after = ladder.indexOf(to);
    return before >= 0 && after >= 0 && after < before;
  }

  // A card arrived in another column (drop or menu): ask what the stage needs, then post.
  function moveCard(item, stage, from, oldIndex, focusAfter) {
    var question = Promise.resolve(new FormData());
    var amount = parseFloat(item.getAttribute("data-amount") || "");
    if (stage === "closed_lost") {
      question = ask("kanban-lost-dialog", item);
    } else if (stage === "closed_won" && !(amount > 0)) {
      question = ask("kanban-won-dialog", item);
    } else if (movesBack(item.getAttribute("data-stage"), stage)) {
      question = ask("kanban-reason-dialog", item);
    }
    question.then(function (extra) {
      if (extra === null) { putBack(item, from, oldIndex); return; }
      post(item, stage, extra, from, oldIndex, focusAfter);
    });
  }

  function listFor(stage) {
    return document.getElementById("kanban-list-" + stage);
  }

  function initLists(root) {
    if (typeof window.Sortable === "undefined") return;
    var lists = (root || document).querySelectorAll(".kanban .kanban-list[id]");
    Array.prototype.forEach.call(lists, function (list) {
      // Sortable.get, not a marker attribute: htmx's history snapshots keep attributes.
      if (window.Sortable.get(list)) return;
      window.Sortable.create(list, {
        group: "kanban",
        draggable: ".kanban-card",
        // Drag starts anywhere on the card, its title included; only the move menu is left
        // to the keyboard and the pointer.
        filter: ".kanban-move-form, .kanban-edit, .kanban-edit-form",
        preventOnFilter: false,
        forceFallback: true,
        fallbackTolerance: 4,
        animation: 150,
        ghostClass: "kanban-ghost",
        onEnd: function (event) {
          syncEmpty(document);
          if (event.from === event.to) return;
          moveCard(event.item, event.to.getAttribute("data-stage"), event.from, event.oldIndex, false);
        }
      });
    });
  }

  // The keyboard and touch alternative: the card's "move to stage" menu.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("kanban-move-form")) return;
    var item = form.closest(".kanban-card");
    var stage = form.querySelector("select[name=stage]").value;
    var target = listFor(stage);
    if (!item || !target || typeof window.fetch !== "function") return;
    event.preventDefault();
    if (stage === item.getAttribute("data-stage")) return;
    var from = item.parentNode;
    var oldIndex = indexIn(from, item);
    target.insertBefore(item, target.firstElementChild);
    syncEmpty(document);
    moveCard(item, stage, from, oldIndex, true);
  });

  // Closed columns fold away; the choice is remembered in this browser.
  function storageKey(column) { return "kanban-collapsed-" + column.getAttribute("data-stage"); }

  function syncCollapse(column) {
    if (!column) return;
    var button = column.querySelector(".kanban-collapse");
    if (button) button.setAttribute("aria-expanded", column.classList.contains("is-collapsed") ? "false" : "true");
  }

  function restoreCollapse(root) {
    var columns = (root || document).querySelectorAll(".kanban-column.is-closed");
    Array.prototype.forEach.call(columns, function (column) {
      var collapsed = false;
      try { collapsed = window.localStorage.getItem(storageKey(column)) === "1"; } catch (e) { collapsed = false; }
      column.classList.toggle("is-collapsed", collapsed);
      syncCollapse(column);
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest(".kanban-collapse");
    if (!button) return;
    var column = button.closest(".kanban-column");
    var collapsed = column.classList.toggle("is-collapsed");
    try { window.localStorage.setItem(storageKey(column), collapsed ? "1" : "0"); } catch (e) { /* private mode */ }
    syncCollapse(column);
  });

  // The deal just converted from a lead: bring its card into view once.
  function showHighlighted() {
    var card = document.querySelector(".kanban-card.is-highlighted:not([data-shown])");
    if (!card) return;
    card.setAttribute("data-shown", "");
    card.scrollIntoView({ block: "center", inline: "center" });
  }

  // A card shown first because it was highlighted may come again with the next page.
  function dropDuplicates() {
    var seen = {};
    Array.prototype.forEach.call(document.querySelectorAll(".kanban-card[id]"), function (card) {
      if (seen[card.id]) card.remove();
      else seen[card.id] = true;
    });
  }

  function init(root) {
    initLists(root);
    restoreCollapse(root);
    dropDuplicates();
    syncEmpty(root);
    showHighlighted();
  }

  document.addEventListener("DOMContentLoaded", function () {
    readTexts();
    init(document);
  });
  // The filters swap the whole board in.
  document.addEventListener("htmx:afterSettle", function () { init(document); });
  document.addEventListener("htmx:historyRestore", function () { init(document); });
})();
