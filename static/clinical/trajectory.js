/* Draws the trajectory figures embedded as JSON data (json_script) with plotly.js, switches the
   x axis between calendar dates and months since the AIMSS diagnosis, and narrows a long
   history to its last 12 months. No inline script:
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

  function toMonths(copy, origin, title) {
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
    var axis = { type: "linear", title: { text: title } };
    if (Array.isArray(copy.layout.xaxis.range)) {
      /* the same span as the dates (autorange would widen it for the event labels) */
      axis.range = copy.layout.xaxis.range.map(function (x) { return monthsSince(origin, x); });
    } else {
      axis.autorange = true;
    }
    copy.layout.xaxis = Object.assign({}, copy.layout.xaxis, axis);
    return copy;
  }

  /* The x range that shows the last `months` up to the figure's latest point (ISO dates, or
     months since diagnosis), with 2% to spare on each side for the markers. */
  function lastMonths(figure, months) {
    var last = null;
    figure.data.forEach(function (trace) {
      (trace.x || []).forEach(function (x) {
        if (x !== null && (last === null || x > last)) { last = x; }
      });
    });
    var spare = months * 0.02;
    if (last === null) { return figure.layout.xaxis.range; }
    if (typeof last === "number") { return [last - months - spare, last + spare]; }
    var month = DAYS_PER_MONTH * DAY_MS;
    var end = Date.parse(last) + spare * month;
    var iso = function (ms) { return new Date(ms).toISOString().slice(0, 10); };
    return [iso(end - (months + 2 * spare) * month), iso(end)];
  }

  /* On a phone the legend wraps to about one entry a line; the figure grows to hold it, or
     plotly.js would shrink the plot and cut the legend off at the figure's foot. */
  var NARROW = 600; /* px */
  var LEGEND_LINE = 22; /* px */
  function fitLegend(figure, width) {
    if (width >= NARROW || !figure.layout.height) { return; }
    var entries = figure.data.filter(function (trace) {
      return trace.showlegend !== false;
    }).length + (figure.layout.shapes || []).filter(function (shape) {
      return shape.showlegend === true;
    }).length;
    figure.layout.height += LEGEND_LINE * entries;
  }

  function draw(element) {
    var source = document.getElementById(element.getAttribute("data-figure"));
    if (!source || !window.Plotly) { return; }
    /* plotly.js keeps and changes the objects it draws: each view gets its own copy */
    function fresh() { return JSON.parse(source.textContent); }
    var config = { responsive: true, displaylogo: false, displayModeBar: false };
    var tools = element.parentNode;
    var axisButton = tools.querySelector(".js-axis-toggle");
    var windowGroup = tools.querySelector(".chart-window");
    var diagnosis = element.getAttribute("data-diagnosis");
    var origin = diagnosis ? Date.parse(diagnosis) : null;
    var state = { months: false, window: null };

    function render(first) {
      var shown = fresh();
      if (state.months) {
        shown = toMonths(shown, origin, element.getAttribute("data-months-title"));
      }
      if (state.window) {
        shown.layout.xaxis.range = lastMonths(shown, state.window);
      }
      fitLegend(shown, element.clientWidth);
      /* plotly.js's responsive resize takes the height from the element: give it the figure's */
      element.style.height = shown.layout.height + "px";
      if (first) {
        window.Plotly.newPlot(element, shown.data, shown.layout, config);
      } else {
        window.Plotly.react(element, shown.data, shown.layout, config);
      }
    }
    render(true);
    /* a phone turned, or a window narrowed: the legend needs another height */
    var narrow = element.clientWidth < NARROW;
    window.addEventListener("resize", function () {
      if ((element.clientWidth < NARROW) !== narrow) {
        narrow = !narrow;
        render(false);
      }
    });

    /* A history longer than 15 months can be narrowed to its last year, readable on a phone. */
    var range = fresh().layout.xaxis.range;
    if (windowGroup && Array.isArray(range) &&
        Date.parse(range[1]) - Date.parse(range[0]) > 15 * DAYS_PER_MONTH * DAY_MS) {
      windowGroup.hidden = false;
      var windowButtons = windowGroup.querySelectorAll(".js-window");
      Array.prototype.forEach.call(windowButtons, function (button) {
        button.addEventListener("click", function () {
          state.window = Number(button.getAttribute("data-months")) || null;
          Array.prototype.forEach.call(windowButtons, function (other) {
            other.setAttribute("aria-pressed", other === button ? "true" : "false");
          });
          render(false);
        });
      });
    }
    if (axisButton && origin !== null) {
      axisButton.addEventListener("click", function () {
        state.months = axisButton.getAttribute("aria-pressed") !== "true";
        render(false);
        axisButton.setAttribute("aria-pressed", state.months ? "true" : "false");
        axisButton.textContent = axisButton.getAttribute(state.months ? "data-dates" : "data-months");
      });
    }
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
