"use strict";
// Objectives on the live dashboard (expvar::objectives): for each indicator of each
// objective, its error budget left and its burn rates with the alerts' thresholds, at
// the top of the page. Used by dashboard.js.

// The SRE workbook's alerts, as the objectives sampler applies them.
const OBJECTIVE_ALERTS = [
  { name: "page", burn: 14.4, long: "1h", short: "5m" },
  { name: "ticket", burn: 6, long: "6h", short: "30m" },
];

// Adds the objectives' charts with dashboard.js's `add`, from the sample's leaves
// (`objectives.<name>.slis.<sli>.<figure>`).
function objectiveCharts(leaves, series, constant, add) {
  const O = "Objectives";
  const indicators = new Map();
  for (const leaf of leaves) {
    if (leaf.path[0] === "objectives" && leaf.path[2] === "slis" && leaf.path.length > 4) {
      indicators.set(leaf.path.slice(0, 4).join("."), leaf.path);
    }
  }
  for (const [base, path] of indicators) {
    const name = path[1] + " · " + path[3];
    add(O, base + ".budget", name + ": error budget left", "%",
      "The share of the error budget (1 − target) of the objective's window not spent yet, counted since the start until a whole window has passed: " + base + ".budget_remaining. Below 0: overspent.",
      [series("budget left", base + ".budget_remaining", "value", 100)]);
    add(O, base + ".burn", name + ": burn rate", "×",
      "The error ratio over the error budget in each window (" + base + ".burn_rate): 1 spends the budget exactly over the window. Page when 1h and 5m both exceed 14.4; ticket when 6h and 30m both exceed 6.",
      [series("5m", base + ".burn_rate.5m", "value"), series("30m", base + ".burn_rate.30m", "value"),
        series("1h", base + ".burn_rate.1h", "value"), series("6h", base + ".burn_rate.6h", "value"),
        ...OBJECTIVE_ALERTS.map((alert) => constant(alert.name, alert.burn))],
      false, base + ".burn_rate");
  }
}

// The alert an indicator's latest burn rates (under `base`) make: `page`, `ticket` or `ok`.
function objectiveVerdict(lastValue, base) {
  const holds = (alert) => [alert.long, alert.short].every((window) => lastValue(base + "." + window) > alert.burn);
  const alert = OBJECTIVE_ALERTS.find(holds);
  return alert ? alert.name : "ok";
}
