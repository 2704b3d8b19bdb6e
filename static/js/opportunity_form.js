// Shows the loss fields only for Closed Lost and the closing review only for closed deals.
(function () {
  "use strict";
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
  }
  function init() {
    document.querySelectorAll("form.opportunity-form").forEach(function (form) {
      update(form);
      var select = form.querySelector("[data-stage-select]");
      if (select) {
        select.addEventListener("change", function () { update(form); });
      }
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
