// Charts of the metrics page: each <canvas data-chart="ID"> draws the JSON of the
// <script type="application/json" id="ID"> beside it (written by json_script). The
// tables next to each chart carry the same numbers.
(function () {
  "use strict";

  var COLORS = ["#1f6feb", "#2da44e", "#bf8700", "#cf222e", "#8250df"];

  // Figures as the tables beside the charts write them (climcrm/figures.py): rounded half
  // up to the unit, grouped with the language's separator sent in the chart's data.
  function formatter(spec) {
    var thousands = typeof spec.thousands === "string" ? spec.thousands : ",";
    return function (value) {
      if (value === null || value === undefined) return "—";
      var whole = Math.round(Math.abs(value));
      var digits = String(whole).replace(/\B(?=(\d{3})+(?!\d))/g, thousands);
      return (value < 0 && whole ? "-" : "") + digits + (spec.percent ? "\u00a0%" : "");
    };
  }

  function draw(canvas) {
    if (!window.Chart || canvas.dataset.drawn) return;
    var source = document.getElementById(canvas.dataset.chart);
    if (!source) return;
    var spec = JSON.parse(source.textContent);
    var format = formatter(spec);
    canvas.dataset.drawn = "1";
    new window.Chart(canvas, {
      type: spec.type,
      data: {
        labels: spec.labels,
        datasets: spec.datasets.map(function (dataset, index) {
          var color = COLORS[index % COLORS.length];
          return {
            label: dataset.label,
            data: dataset.data,
            backgroundColor: color,
            borderColor: color,
            spanGaps: true,
            tension: 0.2,
          };
        }),
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: {
          y: {
            beginAtZero: true,
            max: spec.percent ? 100 : undefined,
            ticks: { callback: format },
          },
        },
        plugins: {
          tooltip: {
            callbacks: {
              label: function (context) {
                return context.dataset.label + ": " + format(context.parsed.y);
              },
            },
          },
        },
      },
    });
  }

  function drawAll(root) {
    (root || document).querySelectorAll("canvas[data-chart]").forEach(draw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { drawAll(); });
  } else {
    drawAll();
  }
  document.addEventListener("htmx:afterSwap", function (event) { drawAll(event.target); });
})();
