/* Progressive enhancement of the BPI-SF form; the form works fully without it.
 * - the body-map spots light up for the ticked areas;
 * - answers are kept in sessionStorage while the tab is open (a reload or going back does not
 *   lose them); the server-side draft ("Save and continue later") is the durable copy;
 * - one painful area ticked is preselected as the worst (she can change it);
 * - choosing the recall period rewords every item at once ("in the last 7 days");
 * - the submit buttons are disabled once pressed (the server also stores one response only). */
(function () {
  "use strict";
  var form = document.querySelector("form.questionnaire");
  if (!form) { return; }
  var key = form.getAttribute("data-autosave");
  var storageKey = key ? "aimss-questionnaire-" + key : null;

  function paintSpots() {
    var boxes = form.querySelectorAll("input[name=pain_locations]");
    Array.prototype.forEach.call(boxes, function (box) {
      var spots = form.querySelectorAll("label.spot[for='" + box.id + "']");
      Array.prototype.forEach.call(spots, function (spot) {
        spot.classList.toggle("is-on", box.checked);
      });
    });
  }

  function save() {
    if (!storageKey) { return; }
    var data = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.type === "hidden" || el.type === "submit") { return; }
      if ((el.type === "radio" || el.type === "checkbox") && !el.checked) { return; }
      (data[el.name] = data[el.name] || []).push(el.value);
    });
    try { window.sessionStorage.setItem(storageKey, JSON.stringify(data)); } catch (e) { /* full or off */ }
  }

  function restore() {
    if (!storageKey || form.querySelector("input:checked")) { return; }  // server values win
    var raw = null;
    try { raw = window.sessionStorage.getItem(storageKey); } catch (e) { return; }
    if (!raw) { return; }
    var data = JSON.parse(raw);
    Array.prototype.forEach.call(form.elements, function (el) {
      var values = data[el.name];
      if (!values) { return; }
      if (el.type === "radio" || el.type === "checkbox") { el.checked = values.indexOf(el.value) !== -1; }
      else if (el.tagName === "TEXTAREA" || el.type === "text") { el.value = values[0]; }
    });
  }

  // One painful area marked and no worst area chosen yet: that one is the worst.
  function preselectWorst(event) {
    if (!event || !event.target || event.target.name !== "pain_locations") { return; }
    var ticked = form.querySelectorAll("input[name=pain_locations]:checked");
    if (ticked.length !== 1 || form.querySelector("input[name=worst_location]:checked")) { return; }
    var worst = form.querySelector("input[name=worst_location][value='" + ticked[0].value + "']");
    if (worst) { worst.checked = true; }
  }

  // Every item names the recall period she chose; the server sends each wording.
  function reword() {
    var chosen = form.querySelector("input[name=recall_period]:checked");
    if (!chosen) { return; }
    var texts = form.querySelectorAll(".recall-text");
    Array.prototype.forEach.call(texts, function (span) {
      var words = span.getAttribute("data-recall-" + chosen.value);
      if (words) { span.textContent = words; }
    });
  }

  restore();
  paintSpots();
  reword();
  form.addEventListener("change", function (event) { preselectWorst(event); paintSpots(); reword(); save(); });
  form.addEventListener("submit", function (event) {
    var submitter = event.submitter;
    if (submitter && submitter.name === "submit" && storageKey) {
      try { window.sessionStorage.removeItem(storageKey); } catch (e) { /* ignore */ }
    }
    window.setTimeout(function () {
      Array.prototype.forEach.call(form.querySelectorAll("button[type=submit]"), function (b) { b.disabled = true; });
    }, 0);
  });
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
}());
