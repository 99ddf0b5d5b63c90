/* Draws the trajectory figures embedded as JSON data (json_script) with plotly.js, and switches
   the x axis between calendar dates and months since the AIMSS diagnosis. No inline script:
   the page's CSP allows scripts from 'self' only. */
(function () {
  "use strict";
  var DAY_MS = 86400000;
  var DAYS_PER_MONTH = 30.4375;

  function monthsSince(origin, value) {
    if (value === null || value === undefined) { return value; }
    var t = Date.parse(value);
    if (isNaN(t)) { return value; }
    return Math.round(((t - origin) / DAY_MS / DAYS_PER_MONTH) * 100) / 100;
  }

  function toMonths(figure, origin, title) {
    var copy = JSON.parse(JSON.stringify(figure));
    copy.data.forEach(function (trace) {
      if (Array.isArray(trace.x)) {
        trace.x = trace.x.map(function (x) { return monthsSince(origin, x); });
      }
    });
    (copy.layout.shapes || []).forEach(function (shape) {
      if (shape.xref === "x") {
        shape.x0 = monthsSince(origin, shape.x0);
        shape.x1 = monthsSince(origin, shape.x1);
      }
    });
    (copy.layout.annotations || []).forEach(function (note) {
      if (note.xref === "x") { note.x = monthsSince(origin, note.x); }
    });
    copy.layout.xaxis = Object.assign({}, copy.layout.xaxis, {
      type: "linear", title: { text: title }, autorange: true
    });
    return copy;
  }

  function draw(element) {
    var source = document.getElementById(element.getAttribute("data-figure"));
    if (!source || !window.Plotly) { return; }
    var figure = JSON.parse(source.textContent);
    var config = { responsive: true, displaylogo: false, displayModeBar: false };
    window.Plotly.newPlot(element, figure.data, figure.layout, config);
    var diagnosis = element.getAttribute("data-diagnosis");
    var button = element.parentNode.querySelector(".js-axis-toggle");
    if (!button || !diagnosis) { return; }
    var origin = Date.parse(diagnosis);
    var months = null;
    button.addEventListener("click", function () {
      var showMonths = button.getAttribute("aria-pressed") !== "true";
      if (showMonths && months === null) {
        months = toMonths(figure, origin, element.getAttribute("data-months-title"));
      }
      var shown = showMonths ? months : figure;
      window.Plotly.react(element, shown.data, shown.layout, config);
      button.setAttribute("aria-pressed", showMonths ? "true" : "false");
      button.textContent = button.getAttribute(showMonths ? "data-dates" : "data-months");
    });
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-figure]"), draw);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
  /* Print at the page's width: redraw to fit before and after printing. */
  window.addEventListener("beforeprint", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-figure]"), function (el) {
      if (window.Plotly) { window.Plotly.Plots.resize(el); }
    });
  });
}());
