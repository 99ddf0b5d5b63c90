// Draws the cohort report's Plotly figures: the figure JSON is embedded by the page as
// <script type="application/json" id="analytics-charts">, each chart's place is a
// <div data-chart="name">. No inline script (CSP).
(function () {
  "use strict";
  var data = document.getElementById("analytics-charts");
  if (!data || typeof Plotly === "undefined") { return; }
  var figures = JSON.parse(data.textContent);
  document.querySelectorAll("[data-chart]").forEach(function (place) {
    var figure = figures[place.getAttribute("data-chart")];
    if (figure) {
      Plotly.newPlot(place, figure.data, figure.layout, { responsive: true, displaylogo: false });
    }
  });
})();
