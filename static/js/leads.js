// Lead list: "select all" for the bulk actions; the export link follows the filters.
(function () {
  "use strict";

  document.addEventListener("change", function (event) {
    if (event.target.id !== "select-all") return;
    document.querySelectorAll("input.lead-select").forEach(function (box) {
      box.checked = event.target.checked;
    });
  });

  document.addEventListener("htmx:pushedIntoHistory", function () {
    var link = document.getElementById("export-link");
    var next = document.querySelector("#bulk-form input[name=next]");
    var query = window.location.search.replace(/^\?/, "");
    if (link) link.href = link.href.split("?")[0] + (query ? "?" + query : "");
    if (next) next.value = query;
  });
})();
