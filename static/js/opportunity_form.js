// Shows the loss fields only for Closed Lost and the closing review only for closed deals,
// and the reason for the change only when the change goes backward (opportunities.reasons:
// close date out of its month, amount lowered, stage moved back, category lowered). Without
// JavaScript the reason is always shown; the server decides either way.
(function () {
  "use strict";
  var LADDER = ["qualification", "needs_analysis", "proposal", "negotiation", "closed_won"];
  var CATEGORIES = ["omitted", "pipeline", "best_case", "commit", "closed"];

  function value(form, name) {
    var input = form.querySelector('[name="' + name + '"]');
    return input ? input.value : null;
  }

  function goesBackward(form) {
    if (!form.dataset.closeDate) return false;  // a new deal
    var stage = value(form, "stage");
    var lost = stage === "closed_lost";
    var closeDate = value(form, "close_date");
    if (closeDate && closeDate.slice(0, 7) > form.dataset.closeDate.slice(0, 7)) return true;
    var amount = value(form, "amount");
    if (form.dataset.amount !== "" && amount !== null) {
      var before = parseFloat(form.dataset.amount);
      var after = amount === "" ? 0 : parseFloat(amount);
      if (after < before) return true;
    }
    if (!lost && stage && LADDER.indexOf(stage) < LADDER.indexOf(form.dataset.stage)) return true;
    var category = value(form, "forecast_category");
    if (!lost && category && CATEGORIES.indexOf(category) < CATEGORIES.indexOf(form.dataset.category)) {
      return true;
    }
    return false;
  }

  function updateReason(form) {
    var reason = form.querySelector('[data-section="reason"]');
    if (!reason) return;
    var code = reason.querySelector('[name="reason_code"]');
    var needed = goesBackward(form);
    var hasError = reason.querySelector(".field-error") !== null;
    reason.hidden = !needed && !hasError && !(code && code.value);
    if (code) code.required = needed;
  }

  function update(form) {
    var select = form.querySelector("[data-stage-select]");
    var stage = select ? select.value : form.dataset.stage;
    var loss = form.querySelector('[data-section="loss"]');
    var closing = form.querySelector('[data-section="closing"]');
    if (loss) {
      var hasError = loss.querySelector(".field-error") !== null;
      loss.hidden = stage !== "closed_lost" && !hasError;
    }
    if (closing) {
      closing.hidden = stage !== "closed_lost" && stage !== "closed_won";
    }
    updateReason(form);
  }
  function init() {
    document.querySelectorAll("form.opportunity-form").forEach(function (form) {
      update(form);
      var select = form.querySelector("[data-stage-select]");
      if (select) {
        select.addEventListener("change", function () { update(form); });
      }
      form.addEventListener("input", function () { updateReason(form); });
      form.addEventListener("change", function () { updateReason(form); });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
