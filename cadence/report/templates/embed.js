// Draw every chart placeholder from its inline Vega-Lite spec. No network: actions are off so
// vega-embed never links to the online editor, and all data is inline.
(function () {
  var charts = document.querySelectorAll(".cadence-chart");
  charts.forEach(function (el) {
    var source = document.getElementById("cadence-spec-" + el.dataset.chart);
    if (!source) { el.textContent = "Chart data missing."; return; }
    var spec = JSON.parse(source.textContent);
    vegaEmbed(el, spec, { actions: false, renderer: "svg" })
      .then(function () { el.dataset.drawn = "true"; })
      .catch(function (err) { el.textContent = "This chart could not be drawn: " + err; console.error(err); });
  });
})();
