"use strict";
// The expvar live dashboard: reads samples from `<page>/events` (Server-Sent Events) and
// draws them on small hand-written canvas line charts. No library, no network access
// beyond the page's own server. Over 600 lines as one closure: the page is inlined
// without a build step, and its parts (schema, chart specs, drawing, formats) share
// that closure's state; the objectives' charts are apart in objectives.js.
(() => {
  const KEEP_SECONDS = 610; // the longest window (10 min) and a little more
  const MAX_SERIES = 12; // per chart; a huge map shows its first keys
  const BUILTIN = new Set(["cmdline", "memstats", "process", "functions", "objectives"]);
  const COLORS = ["#2e6fd8", "#e8590c", "#12805c", "#ae3ec9", "#d6336c", "#0c8599", "#f59f00", "#5c7cfa",
    "#66a80f", "#c92a2a", "#868e96", "#1098ad"];

  const hook = { charts: {}, values: {}, errors: [], samples: 0, schema: null, connected: false, stream: null, acks: 0 };
  window.__expvarDashboard = hook;
  window.addEventListener("error", (event) => hook.errors.push(String(event.message || event.error)));
  window.addEventListener("unhandledrejection", (event) => hook.errors.push(String(event.reason)));

  const $ = (id) => document.getElementById(id);
  const main = $("charts");
  const tip = $("tip");
  const history = new Map(); // path key -> { t: [seconds], v: [raw values] }
  let schema = null; // { id, leaves: [{ kind, path, mask, key }] }
  let charts = new Map(); // chart id -> chart
  let lastTime = 0;
  let paused = false;
  let pausedAt = 0;
  let windowSeconds = Number($("window").value);
  let filterText = "";

  // ---- Theme: follows the system unless toggled; the choice is remembered. ----
  const root = document.documentElement;
  const stored = readStorage("expvar-theme");
  if (stored === "light" || stored === "dark") root.dataset.theme = stored;
  $("theme").addEventListener("click", () => {
    const dark = getComputedStyle(root).getPropertyValue("--bg").trim() === "#101318";
    root.dataset.theme = dark ? "light" : "dark";
    writeStorage("expvar-theme", root.dataset.theme);
    draw();
  });
  matchMedia("(prefers-color-scheme: dark)").addEventListener("change", draw);

  // ---- Controls ----
  $("pause").addEventListener("click", () => {
    paused = !paused;
    pausedAt = lastTime;
    $("pause").textContent = paused ? "Resume" : "Pause";
    setStatus(hook.connected ? (paused ? "paused" : "live") : "reconnecting…", hook.connected);
    draw();
  });
  $("window").addEventListener("change", (event) => {
    windowSeconds = Number(event.target.value);
    draw();
  });
  $("filter").addEventListener("input", (event) => {
    filterText = event.target.value.trim().toLowerCase();
    draw();
  });
  window.addEventListener("resize", draw);

  // ---- The stream (stream.js): reconnects by itself, acknowledges what it receives. ----
  openStream(location, {
    open() {
      hook.connected = true;
      setStatus(paused ? "paused" : "live", true);
    },
    lost() {
      hook.connected = false;
      setStatus("reconnecting…", false);
    },
    stream(id) { hook.stream = id; },
    acked() { hook.acks += 1; },
    schema: onSchema,
    sample: onSample,
  });

  function onSchema(message) {
    schema = {
      id: message.id,
      leaves: message.leaves.map(([kind, path, mask]) => ({ kind, path, mask, key: path.join(".") })),
    };
    hook.schema = message.id;
    rebuildCharts();
  }

  function onSample(message) {
    if (!schema || message.s !== schema.id) return;
    const t = message.t / 1000;
    if (t <= lastTime) return;
    lastTime = t;
    schema.leaves.forEach((leaf, index) => {
      const value = message.v[index];
      let series = history.get(leaf.key);
      if (!series) history.set(leaf.key, (series = { t: [], v: [] }));
      series.t.push(t);
      series.v.push(value);
      while (series.t.length && series.t[0] < t - KEEP_SECONDS) {
        series.t.shift();
        series.v.shift();
      }
      hook.values[leaf.key] = value;
    });
    hook.samples += 1;
    draw();
  }

  // ---- Which charts exist, from the schema ----
  function rebuildCharts() {
    const specs = chartSpecs(schema.leaves);
    const next = new Map();
    let section = null;
    main.replaceChildren();
    for (const spec of specs) {
      if (spec.section !== section) {
        section = spec.section;
        const heading = document.createElement("h2");
        heading.textContent = section;
        main.append(heading);
      }
      const chart = charts.get(spec.id) || makeChart(spec);
      chart.spec = spec;
      chart.title.textContent = spec.title;
      chart.unit.textContent = spec.unit ? "(" + spec.unit + ")" : "";
      chart.info.title = spec.info;
      main.append(chart.element);
      next.set(spec.id, chart);
    }
    for (const id of Object.keys(hook.charts)) if (!next.has(id)) delete hook.charts[id];
    charts = next;
    if (!specs.length) main.append(Object.assign(document.createElement("p"), { className: "empty", textContent: "No numeric variables yet." }));
    draw();
  }

  function chartSpecs(leaves) {
    const byKey = new Map(leaves.map((leaf) => [leaf.key, leaf]));
    const runtimeRoots = leaves.filter((leaf) => leaf.path.length === 2 && leaf.path[1] === "alive_tasks").map((leaf) => leaf.path[0]);
    const has = (key) => byKey.has(key);
    const specs = [];
    // `minus`: another leaf subtracted from this one, sample by sample.
    const series = (label, path, mode, scale, minus) => ({ label, path, mode, scale: scale || 1, minus });
    // A horizontal line at `value`: an alert's threshold.
    const constant = (label, value) => ({ label, path: null, mode: "value", scale: 1, constant: value });
    const add = (section, id, title, unit, info, list, needsAlloc, verdict) => {
      list = list.filter((entry) => entry.constant !== undefined || has(entry.path));
      if (list.some((entry) => entry.constant === undefined)) {
        specs.push({ section, id, title, unit, info, series: list.slice(0, MAX_SERIES), type: "line", needsAlloc, verdict });
      }
    };

    // Objectives first: whether users are served within the promise (objectives.js).
    objectiveCharts(leaves, series, constant, add);

    // Process and memory, when the process publishes them.
    const P = "Process";
    add(P, "memory", "Memory", "bytes",
      "From the allocator's own statistics (process.memstats_source says which: glibc's mallinfo2, jemalloc, or only the resident set). allocated: memstats.HeapAlloc, bytes of live blocks. in use: memstats.HeapInuse, what those blocks occupy in the allocator. free in heap: HeapIdle − HeapReleased, held by the allocator for reuse. released: memstats.HeapReleased, given back to the OS. resident: process.resident_memory_bytes, the process in RAM.",
      [series("allocated", "memstats.HeapAlloc", "value"), series("in use", "memstats.HeapInuse", "value"),
        series("free in heap", "memstats.HeapIdle", "value", 1, "memstats.HeapReleased"),
        series("released", "memstats.HeapReleased", "value"), series("resident", "process.resident_memory_bytes", "value")]);
    add(P, "allocs", "Allocation and free rate", "/s",
      "memstats.Mallocs and memstats.Frees per second: allocations and deallocations counted by expvar::CountingAlloc, or jemalloc's own counts when it is the global allocator (zero otherwise).",
      [series("allocs", "memstats.Mallocs", "rate"), series("frees", "memstats.Frees", "rate")], true);
    add(P, "alloc_bytes", "Bytes allocated", "bytes/s",
      "memstats.TotalAlloc per second: bytes allocated, counted by expvar::CountingAlloc or jemalloc.",
      [series("allocated", "memstats.TotalAlloc", "rate")], true);
    add(P, "objects", "Live objects", "objects",
      "memstats.HeapObjects: allocations not yet freed, counted by expvar::CountingAlloc or jemalloc.",
      [series("live objects", "memstats.HeapObjects", "value")], true);
    const classes = leaves.filter((leaf) => leaf.path[0] === "memstats" && leaf.path[1] === "BySize" && leaf.path[3] === "Mallocs");
    if (classes.length) {
      specs.push({
        section: P, id: "size_classes", title: "Live objects by size class", unit: "objects", type: "bars",
        info: "memstats.BySize: Mallocs − Frees per allocation size class (Go's classes, by the largest size in bytes each holds), counted by expvar::CountingAlloc or jemalloc.",
        series: [], classes: classes.map((leaf) => leaf.path.slice(0, 3).join(".")), needsAlloc: true,
      });
    }
    // A published expvar::TokioRuntime, under whatever name: it has `alive_tasks`.
    const tokioTasks = [];
    const tokioBusy = [];
    for (const root of runtimeRoots) {
      for (const field of ["alive_tasks", "global_queue_depth", "workers"]) {
        tokioTasks.push(series(root + " " + field.replace(/_/g, " "), root + "." + field, "value"));
      }
      tokioBusy.push(series(root + " busy", root + ".busy_seconds", "rate", 100));
    }
    add(P, "threads", runtimeRoots.length ? "Threads and tokio tasks" : "Threads", "count",
      "process.threads: OS threads of the process. Then, for each published expvar::TokioRuntime: its alive tasks (like Go's goroutines), tasks waiting in the global queue, and workers.",
      [series("threads", "process.threads", "value"), ...tokioTasks]);
    add(P, "cpu", "CPU", "% of one core",
      "process.cpu_seconds per second, as a percentage of one core (200% is two cores busy); for a tokio runtime, the time its workers spent running tasks.",
      [series("process", "process.cpu_seconds", "rate", 100), ...tokioBusy]);
    add(P, "fds", "Open file descriptors", "count",
      "process.open_fds: file descriptors (files, sockets, pipes) the process has open.",
      [series("open", "process.open_fds", "value")]);

    // Instrumented functions: #[counted] and #[timed].
    const F = "Functions";
    const functionKeys = [...new Set(leaves.filter((leaf) => leaf.path[0] === "functions" && leaf.path.length > 2).map((leaf) => leaf.path[1]))];
    for (const name of functionKeys) {
      const base = "functions." + name;
      add(F, base + ".calls", name + (has(base + ".errors") ? ": calls and errors" : ": calls"), "/s",
        "Calls per second of " + name + " (#[counted] or #[timed]); errors per second for functions that return Result or Option.",
        [series("calls", base + ".calls", "rate"), series("errors", base + ".errors", "rate")]);
      add(F, base + ".latency", name + ": latency", "s",
        "p50 and p99 of the call duration of " + name + " (#[timed]), over every call since the start, as /debug/vars reports them.",
        [series("p50", base + ".duration.p50", "value"), series("p99", base + ".duration.p99", "value")]);
    }

    // Every other published number, automatically.
    const V = "Variables";
    const histogramParents = new Set(leaves.filter((leaf) => leaf.kind === "q").map((leaf) => leaf.path.slice(0, -1).join(".")));
    const groups = new Map();
    for (const leaf of leaves) {
      if (BUILTIN.has(leaf.path[0]) || runtimeRoots.includes(leaf.path[0])) continue;
      // `#[counted(name = "x")]` publishes `x` and `functions.x.calls`: one chart, under Functions.
      if (leaf.path.length === 1 && leaf.kind === "c" && functionKeys.includes(leaf.path[0])) continue;
      const parent = leaf.path.slice(0, -1);
      const last = leaf.path[leaf.path.length - 1];
      const mode = leaf.kind === "c" ? "rate" : "value";
      let base = chartId(leaf.path, leaf.mask);
      let id = base;
      let label = seriesLabel(leaf.path, leaf.mask, last);
      if (histogramParents.has(parent.join("."))) {
        base = chartId(parent, leaf.mask);
        const keys = seriesLabel(parent, leaf.mask, "");
        if (leaf.kind === "q" && (last === "p50" || last === "p90" || last === "p99")) id = base + " quantiles";
        else if (last === "count") id = base + " count";
        else continue;
        label = keys ? keys + " " + last : last;
      }
      let group = groups.get(id);
      if (!group) groups.set(id, (group = { base, count: id.endsWith(" count"), kinds: new Set(), series: [], maps: leaf.mask !== 0 }));
      group.kinds.add(leaf.kind);
      group.series.push(series(label, leaf.key, mode));
    }
    for (const [id, group] of groups) {
      const rate = group.series[0].mode === "rate";
      const what = rate ? "A counter, shown as a rate per second; its total is in /debug/vars." :
        group.kinds.has("q") ? "Quantiles of a histogram, over every value recorded since the start." : "A gauge or number, shown as its value.";
      add(V, "var:" + id, id, group.count ? "/s" : unitByName(group.base, rate), what + (group.maps ? " One series per map key." : ""), group.series);
    }
    return specs;
  }

  // The unit a name ends with, by the Prometheus naming convention (`_seconds`, `_bytes`).
  function unitByName(name, rate) {
    if (/_bytes(_total)?$/.test(name)) return rate ? "bytes/s" : "bytes";
    if (/_seconds$/.test(name) && !rate) return "s";
    return rate ? "/s" : "";
  }

  // `web.responses_by_status.200` (a map entry) charts as `web.responses_by_status`.
  function chartId(path, mask) {
    const parts = path.map((segment, index) => (isKey(mask, index) ? "*" : segment));
    while (parts.length > 1 && parts[parts.length - 1] === "*") parts.pop();
    return parts.join(".");
  }

  function seriesLabel(path, mask, last) {
    const keys = path.filter((_, index) => isKey(mask, index));
    return keys.length ? keys.join("/") : last;
  }

  function isKey(mask, index) {
    return Math.floor(mask / 2 ** index) % 2 === 1;
  }

  function lastValue(key) {
    const series = history.get(key);
    return series && series.v.length ? series.v[series.v.length - 1] : undefined;
  }

  // ---- One chart: a card with a title, units, an info tooltip, a canvas and a legend ----
  function makeChart(spec) {
    const element = document.createElement("section");
    element.className = "chart";
    element.dataset.id = spec.id;
    const head = document.createElement("div");
    head.className = "head";
    const title = document.createElement("span");
    title.className = "title";
    const unit = document.createElement("span");
    unit.className = "unit";
    const info = document.createElement("span");
    info.className = "info";
    info.textContent = "i";
    info.tabIndex = 0;
    const badge = document.createElement("span");
    badge.hidden = true;
    head.append(title, unit, badge, info);
    const canvas = document.createElement("canvas");
    const legend = document.createElement("div");
    legend.className = "legend";
    element.append(head, canvas, legend);
    const chart = { element, title, unit, info, badge, canvas, legend, spec, hoverX: null };
    canvas.addEventListener("mousemove", (event) => {
      chart.hoverX = event.offsetX;
      drawChart(chart);
      showTip(chart, event.clientX, event.clientY);
    });
    canvas.addEventListener("mouseleave", () => {
      chart.hoverX = null;
      tip.hidden = true;
      drawChart(chart);
    });
    return chart;
  }

  // Hidden when filtered out; the allocation charts also while nothing counts
  // allocations (neither expvar::CountingAlloc nor jemalloc is the global allocator).
  function visible(chart) {
    const text = (chart.spec.id + " " + chart.spec.title).toLowerCase();
    if (filterText !== "" && !text.includes(filterText)) return false;
    return !chart.spec.needsAlloc || lastValue("memstats.Mallocs") > 0;
  }

  // Rates are averaged over this many sample intervals, so a 1 s sample of a bursty
  // counter does not draw a comb; the tooltip also shows the last interval's raw rate.
  const SMOOTH_INTERVALS = 5;

  /// Points of one series within the window, as [time, value, raw]: counters become
  /// rates (`value` smoothed, `raw` over the last interval); gauges are their value.
  function points(entry, start, end) {
    if (entry.constant !== undefined) return [[start, entry.constant, entry.constant], [end, entry.constant, entry.constant]];
    const raw = history.get(entry.path);
    const other = entry.minus ? history.get(entry.minus) : null;
    const out = [];
    if (!raw) return out;
    const scale = (value) => (value == null ? null : value * entry.scale);
    for (let i = 0; i < raw.t.length; i++) {
      const t = raw.t[i];
      if (t < start || t > end) continue;
      let value = raw.v[i];
      if (other) value = minusAt(value, other, raw.t.length - i, t);
      let last = value;
      if (entry.mode === "rate") {
        last = rateBetween(raw, i - 1, i);
        value = null;
        // The widest span back with no gap and no restart (a drop) within it.
        for (let k = 1; k <= SMOOTH_INTERVALS && rateBetween(raw, i - k, i - k + 1) !== null; k++) value = rateBetween(raw, i - k, i);
      }
      out.push([t, scale(value), scale(last)]);
    }
    return out;
  }

  // Counter `series` per second from sample `a` to sample `b`; null across a gap or a
  // drop (the process restarted and its counters began again).
  function rateBetween(series, a, b) {
    if (a < 0) return null;
    const before = series.v[a], after = series.v[b], dt = series.t[b] - series.t[a];
    return before != null && after != null && after >= before && dt > 0 ? (after - before) / dt : null;
  }

  // `value` minus `other`'s value at the same sample (the one `fromEnd` samples back).
  function minusAt(value, other, fromEnd, t) {
    const j = other.t.length - fromEnd;
    if (value == null || j < 0 || other.t[j] !== t || other.v[j] == null) return null;
    return value - other.v[j];
  }

  function draw() {
    const end = paused ? pausedAt : lastTime;
    for (const chart of charts.values()) {
      chart.element.hidden = !visible(chart);
      drawChart(chart);
      showVerdict(chart);
      publish(chart, end);
    }
  }

  function showVerdict(chart) {
    if (!chart.spec.verdict) return;
    const state = objectiveVerdict(lastValue, chart.spec.verdict);
    chart.badge.textContent = state;
    chart.badge.className = "badge " + state;
    chart.badge.hidden = false;
  }

  // What the end-to-end test reads: per chart, the number of points and latest value.
  function publish(chart, end) {
    const entry = { title: chart.spec.title, unit: chart.spec.unit, points: 0, latest: null, series: {}, timeTicks: timeGrid(windowSeconds).length,
      section: chart.spec.section, verdict: chart.spec.verdict ? objectiveVerdict(lastValue, chart.spec.verdict) : null };
    if (chart.spec.type === "bars") {
      const bars = sizeClasses(chart.spec);
      entry.points = bars.length;
      entry.latest = bars.reduce((sum, bar) => sum + bar.value, 0);
    }
    for (const series of chart.spec.series) {
      if (series.constant !== undefined) continue;
      const list = points(series, end - windowSeconds, end).filter((point) => point[1] !== null);
      const latest = list.length ? list[list.length - 1][1] : null;
      const rawRate = list.length ? list[list.length - 1][2] : null;
      entry.series[series.label] = { path: series.path, mode: series.mode, points: list.length, latest, rawRate, raw: lastValue(series.path) };
      if (entry.latest === null) {
        entry.latest = latest;
        entry.points = list.length;
      }
    }
    hook.charts[chart.spec.id] = entry;
  }

  function colors() {
    const style = getComputedStyle(root);
    return { fg: style.getPropertyValue("--fg"), muted: style.getPropertyValue("--muted"), grid: style.getPropertyValue("--grid") };
  }

  function fitCanvas(canvas) {
    const ratio = window.devicePixelRatio || 1;
    const width = Math.max(1, Math.round(canvas.clientWidth * ratio));
    const height = Math.max(1, Math.round(canvas.clientHeight * ratio));
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    const context = canvas.getContext("2d");
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    return { context, width: canvas.clientWidth, height: canvas.clientHeight };
  }

  function drawChart(chart) {
    if (chart.element.hidden) return;
    if (chart.spec.type === "bars") return drawBars(chart);
    const { context, width, height } = fitCanvas(chart.canvas);
    const palette = colors();
    const end = paused ? pausedAt : lastTime;
    const start = end - windowSeconds;
    const lines = chart.spec.series.map((series) => points(series, start, end));
    let low = Infinity;
    let high = -Infinity;
    for (const line of lines) for (const [, value] of line) if (value !== null) { low = Math.min(low, value); high = Math.max(high, value); }
    if (low === Infinity) { low = 0; high = 1; }
    if (low > 0) low = 0;
    if (high === low) high = low + 1;
    const grid = ticks(low, high + (high - low) * 0.05, chart.spec.unit);
    low = grid[0];
    high = grid[grid.length - 1];
    context.font = "11px system-ui, sans-serif";
    const labels = grid.map((value) => format(value, chart.spec.unit));
    const left = Math.ceil(Math.max(...labels.map((label) => context.measureText(label).width))) + 10;
    const right = 8, top = 6, bottom = 18;
    const plotWidth = width - left - right, plotHeight = height - top - bottom;
    const x = (t) => left + ((t - start) / windowSeconds) * plotWidth;
    const y = (value) => top + plotHeight - ((value - low) / (high - low)) * plotHeight;
    context.clearRect(0, 0, width, height);
    context.lineWidth = 1;
    context.textBaseline = "middle";
    for (const [i, value] of grid.entries()) {
      const lineY = Math.round(y(value)) + 0.5;
      context.strokeStyle = palette.grid;
      context.beginPath(); context.moveTo(left, lineY); context.lineTo(width - right, lineY); context.stroke();
      context.fillStyle = palette.muted;
      context.textAlign = "right";
      context.fillText(labels[i], left - 6, lineY);
    }
    context.textBaseline = "alphabetic";
    const timeTicks = timeGrid(windowSeconds);
    for (const ago of timeTicks) {
      const tickX = Math.round(x(end - ago)) + 0.5;
      context.strokeStyle = palette.grid;
      context.beginPath(); context.moveTo(tickX, top); context.lineTo(tickX, top + plotHeight); context.stroke();
      context.textAlign = "center";
      if (tickX - left > 20 && width - right - tickX > 40) context.fillText(agoLabel(ago), tickX, height - 4);
    }
    context.textAlign = "right";
    context.fillText(paused ? "paused" : "now", width - right, height - 4);
    context.lineWidth = 1.6;
    lines.forEach((line, index) => {
      context.strokeStyle = context.fillStyle = COLORS[index % COLORS.length];
      // An alert's threshold is dashed.
      context.setLineDash(chart.spec.series[index].constant !== undefined ? [4, 4] : []);
      context.beginPath();
      line.forEach(([t, value], i) => {
        if (value === null) return;
        const joined = i > 0 && line[i - 1][1] !== null;
        if (joined) context.lineTo(x(t), y(value)); else context.moveTo(x(t), y(value));
        // A point with no neighbour (the first sample, or after a gap) is a dot.
        if (!joined && (i === line.length - 1 || line[i + 1][1] === null)) context.fillRect(x(t) - 1.5, y(value) - 1.5, 3, 3);
      });
      context.stroke();
    });
    context.setLineDash([]);
    if (chart.hoverX !== null && chart.hoverX >= left) {
      context.strokeStyle = palette.muted;
      context.lineWidth = 1;
      context.beginPath(); context.moveTo(chart.hoverX, top); context.lineTo(chart.hoverX, top + plotHeight); context.stroke();
    }
    chart.lines = lines;
    chart.toTime = (px) => start + ((px - left) / plotWidth) * windowSeconds;
    chart.legend.replaceChildren(...chart.spec.series.map((series, index) => {
      const line = lines[index].filter((point) => point[1] !== null);
      const item = document.createElement("span");
      item.innerHTML = '<i style="background:' + COLORS[index % COLORS.length] + '"></i>';
      item.append(series.label + " ", Object.assign(document.createElement("b"), { textContent: line.length ? format(line[line.length - 1][1], chart.spec.unit) : "–" }));
      return item;
    }));
  }

  // Times before the end, in seconds, for vertical grid lines: about six per window.
  function timeGrid(seconds) {
    const step = [10, 15, 30, 60, 120, 300, 600].find((candidate) => seconds / candidate <= 6) || 600;
    const out = [];
    for (let ago = step; ago <= seconds; ago += step) out.push(ago);
    return out;
  }

  function agoLabel(ago) {
    return ago % 60 === 0 ? "−" + ago / 60 + " min" : "−" + ago + " s";
  }

  // Round grid values covering [low, high]: steps of 1, 2, 2.5 or 5 times a power of ten
  // (of the display unit for bytes, so lines fall on whole KiB or MiB).
  function ticks(low, high, unit) {
    let scale = 1;
    if (unit === "bytes" || unit === "bytes/s") while (Math.max(Math.abs(low), Math.abs(high)) / scale >= 1024) scale *= 1024;
    const rough = (high - low) / scale / 4;
    const magnitude = 10 ** Math.floor(Math.log10(rough));
    let step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((candidate) => candidate >= rough) * scale;
    // Bytes and counts are whole numbers: no grid line at half a byte.
    if (unit === "bytes" || unit === "bytes/s" || unit === "count" || unit === "objects") step = Math.max(step, 1);
    const out = [];
    for (let value = Math.floor(low / step) * step; out.length < 12; value += step) {
      out.push(Math.round(value / step) * step);
      if (value >= high) break;
    }
    return out;
  }

  function sizeClasses(spec) {
    return spec.classes.map((base) => ({
      size: lastValue(base + ".Size"),
      value: Math.max(0, (lastValue(base + ".Mallocs") || 0) - (lastValue(base + ".Frees") || 0)),
    })).filter((bar) => bar.size);
  }

  function drawBars(chart) {
    const { context, width, height } = fitCanvas(chart.canvas);
    const palette = colors();
    const bars = sizeClasses(chart.spec);
    const high = Math.max(1, ...bars.map((bar) => bar.value));
    const left = 58, bottom = 18, top = 6;
    const plotHeight = height - top - bottom;
    const step = (width - left - 8) / Math.max(1, bars.length);
    context.clearRect(0, 0, width, height);
    context.font = "11px system-ui, sans-serif";
    context.fillStyle = palette.muted;
    context.textAlign = "right";
    context.textBaseline = "middle";
    context.fillText(format(high, "objects"), left - 6, top + 4);
    context.fillText("0", left - 6, top + plotHeight);
    bars.forEach((bar, index) => {
      const barHeight = (bar.value / high) * plotHeight;
      context.fillStyle = COLORS[0];
      context.fillRect(left + index * step + 1, top + plotHeight - barHeight, Math.max(1, step - 2), barHeight);
    });
    context.fillStyle = palette.muted;
    context.textBaseline = "alphabetic";
    context.textAlign = "left";
    if (bars.length) {
      context.fillText(format(bars[0].size, "bytes"), left, height - 4);
      context.textAlign = "right";
      context.fillText(format(bars[bars.length - 1].size, "bytes"), width - 8, height - 4);
    }
    chart.bars = bars;
    chart.barStep = step;
    chart.barLeft = left;
    const busiest = bars.reduce((best, bar) => (bar.value > (best ? best.value : -1) ? bar : best), null);
    chart.legend.textContent = busiest ? "most live objects: " + format(busiest.size, "bytes") + " class, " + format(busiest.value, "objects") : "";
  }

  function showTip(chart, clientX, clientY) {
    let text = "";
    if (chart.spec.type === "bars") {
      const bar = chart.bars && chart.bars[Math.floor((chart.hoverX - chart.barLeft) / chart.barStep)];
      if (bar) text = "≤ " + format(bar.size, "bytes") + ": " + format(bar.value, "objects");
    } else if (chart.lines && chart.toTime) {
      const t = chart.toTime(chart.hoverX);
      const rows = chart.spec.series.map((series, index) => {
        const near = nearest(chart.lines[index], t);
        const text = series.label + ": " + (near && near[1] !== null ? format(near[1], chart.spec.unit) : "–");
        // Rates are smoothed in the chart; the raw rate of that one interval beside it.
        return series.mode === "rate" && near ? text + " (raw " + format(near[2], chart.spec.unit) + ")" : text;
      });
      const when = Math.round(t - (paused ? pausedAt : lastTime));
      text = (when >= 0 ? "now" : when + " s") + "\n" + rows.join("\n");
    }
    tip.hidden = !text;
    tip.textContent = text;
    tip.style.left = clientX + 14 + "px";
    tip.style.top = clientY + 10 + "px";
  }

  function nearest(line, t) {
    let best = null;
    for (const point of line) if (!best || Math.abs(point[0] - t) < Math.abs(best[0] - t)) best = point;
    return best;
  }

  // Numbers with their unit: bytes in KiB/MiB/GiB, seconds in µs/ms/s, others with k/M/G.
  function format(value, unit) {
    if (value === null || value === undefined || !isFinite(value)) return "–";
    const abs = Math.abs(value);
    const short = (number) => String(Number(number.toFixed(Math.abs(number) >= 100 ? 0 : Math.abs(number) >= 10 ? 1 : 2)));
    if (unit === "bytes" || unit === "bytes/s") {
      const steps = ["B", "KiB", "MiB", "GiB", "TiB"];
      let index = 0;
      let scaled = value;
      while (Math.abs(scaled) >= 1024 && index < steps.length - 1) { scaled /= 1024; index++; }
      return short(scaled) + " " + steps[index] + (unit === "bytes/s" ? "/s" : "");
    }
    if (unit === "s") {
      if (abs === 0) return "0";
      if (abs < 1e-3) return short(value * 1e6) + " µs";
      if (abs < 1) return short(value * 1e3) + " ms";
      return short(value) + " s";
    }
    if (unit === "% of one core" || unit === "%") return short(value) + "%";
    if (unit === "×") return short(value) + "×";
    const steps = [[1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"]];
    for (const [size, suffix] of steps) if (abs >= size) return short(value / size) + suffix;
    return short(value);
  }

  function setStatus(text, live) {
    const status = $("status");
    status.textContent = text;
    status.className = "status " + (live ? "live" : "down");
  }

  function readStorage(key) {
    try { return localStorage.getItem(key); } catch (_) { return null; }
  }

  function writeStorage(key, value) {
    try { localStorage.setItem(key, value); } catch (_) { /* private mode: not remembered */ }
  }
})();
