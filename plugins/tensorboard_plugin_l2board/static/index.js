// The L2 tab of TensorBoard. Every number comes from the plugin's /report
// route, which runs the same analysis as `l2board compare`; this file only
// lays numbers out and draws lines. Run and tag names always go into the page
// as text (textContent), never as HTML.

const SVG = 'http://www.w3.org/2000/svg';
const COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b',
                 '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
const RELOAD_MS = 30000;  // TensorBoard's own reload interval
// Loss bases without penalties (l2board.analysis.run_analysis.DATA_LOSS_BASES).
const DATA_LOSS_BASES = ['data_loss', 'logged_loss_without_penalty'];

const state = {runs: [], selected: new Set(), layerRun: null, baseline: null, report: null};

async function getJson(path) {
  const response = await fetch(path);
  if (!response.ok) {
    throw new Error(`${path}: ${response.status} ${await response.text()}`);
  }
  return response.json();
}

function el(tag, attributes = {}, text = null) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (text !== null) node.textContent = text;
  return node;
}

function svg(tag, attributes = {}, text = null) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (text !== null) node.textContent = text;
  return node;
}

// Formatting only: the numbers are the report's.
function share(fraction) {
  // As l2board.regularization_setup.format_percent: two significant digits,
  // and a partial share never rounded up to 100%.
  if (fraction === null || fraction === undefined) return 'n/a';
  const percent = 100 * fraction;
  if (percent >= 99.5 && percent < 100) return `${Math.min(percent, 99.99).toFixed(2)}%`;
  if (percent === 0 || percent >= 10) return `${percent.toFixed(0)}%`;
  return `${Number(percent.toPrecision(2))}%`;
}

const fmt = {
  percent: (v) => (v === null || v === undefined ? 'n/a' : `${(100 * v).toFixed(1)}%`),
  pp: (v) => (v === null || v === undefined ? 'n/a' : `${v.toFixed(1)} pp`),
  plainPercent: (v) => (v === null || v === undefined ? 'n/a' : `${v.toFixed(1)}%`),
  epoch: (v) => (v === null || v === undefined ? 'n/a' : `${v}`),
  stop: (v) => (v === null || v === undefined ? 'does not stop' : `epoch ${v}`),
};

/**
 * A line chart as SVG: one line per series, solid or dashed, with a legend.
 * @param {string} title
 * @param {!Array<{label: string, colour: string, dashed: boolean, x: !Array<number>, y: !Array<number>}>} series
 * @param {string=} empty what to say when there is nothing to draw
 */
function lineChart(title, series, empty = 'not logged (L2Monitor logs it)') {
  const width = 460, height = 250, left = 52, right = 10, top = 24, bottom = 30;
  const chart = svg('svg', {width, height, class: 'chart', role: 'img', 'aria-label': title});
  chart.appendChild(svg('text', {x: left, y: 16, class: 'chart-title'}, title));
  const points = series.flatMap((s) => s.x.map((x, i) => [x, s.y[i]])).filter(([, y]) => Number.isFinite(y));
  if (!points.length) {
    chart.appendChild(svg('text', {x: left, y: height / 2, class: 'empty'}, empty));
    return chart;
  }
  let [xMin, xMax] = [Math.min(...points.map((p) => p[0])), Math.max(...points.map((p) => p[0]))];
  let [yMin, yMax] = [Math.min(...points.map((p) => p[1])), Math.max(...points.map((p) => p[1]))];
  if (xMin === xMax) xMax = xMin + 1;
  if (yMin === yMax) { yMin -= 1; yMax += 1; }
  const sx = (x) => left + ((x - xMin) / (xMax - xMin)) * (width - left - right);
  const sy = (y) => top + (1 - (y - yMin) / (yMax - yMin)) * (height - top - bottom);
  chart.appendChild(svg('line', {x1: left, y1: height - bottom, x2: width - right, y2: height - bottom, class: 'axis'}));
  chart.appendChild(svg('line', {x1: left, y1: top, x2: left, y2: height - bottom, class: 'axis'}));
  for (const y of [yMin, (yMin + yMax) / 2, yMax]) {
    chart.appendChild(svg('text', {x: left - 4, y: sy(y) + 4, class: 'tick', 'text-anchor': 'end'}, y.toPrecision(3)));
  }
  for (const x of [xMin, xMax]) {
    chart.appendChild(svg('text', {x: sx(x), y: height - bottom + 14, class: 'tick', 'text-anchor': 'middle'}, `${x}`));
  }
  chart.appendChild(svg('text', {x: (left + width) / 2, y: height - 4, class: 'tick', 'text-anchor': 'middle'}, 'epoch'));
  for (const s of series) {
    const path = s.x.map((x, i) => [x, s.y[i]]).filter(([, y]) => Number.isFinite(y))
        .map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
    const line = svg('polyline', {points: path, fill: 'none', stroke: s.colour, 'stroke-width': 1.6});
    if (s.dashed) line.setAttribute('stroke-dasharray', '5,3');
    line.appendChild(svg('title', {}, s.label));
    chart.appendChild(line);
  }
  return chart;
}

function legend(entries) {
  const list = el('div', {class: 'legend'});
  for (const [label, colour] of entries) {
    const item = el('span', {class: 'legend-item'});
    const swatch = el('span', {class: 'swatch'});
    swatch.style.background = colour;
    item.appendChild(swatch);
    item.appendChild(document.createTextNode(label));
    list.appendChild(item);
  }
  return list;
}

function runTable(report) {
  const metric = report.metric || 'metric';
  const columns = [
    ['run', (r) => r.name],
    ['regularization', (r) => r.label],
    ['coverage', (r) => (r.setup ? share(r.setup.coverage) : 'n/a')],
    [`final val ${metric}`, (r) => fmt.percent(r.final_val_metric)],
    [`best val ${metric} (epoch)`, (r) => `${fmt.percent(r.best_val_metric)} (${fmt.epoch(r.best_epoch)})`],
    ['gap, final', (r) => fmt.pp(r.metric_gap_final_pp)],
    ['onset (epoch)', (r) => fmt.epoch(r.onset_epoch)],
    ['GL at end', (r) => fmt.plainPercent(r.generalization_loss_percent)],
    ['penalty share', (r) => fmt.plainPercent(r.final_penalty_share_percent)],
    // A run without a replay (no val_loss) has no stop epoch: n/a, not "does not stop".
    [`EarlyStopping(${report.patience})`, (r) => (r.early_stopping_monitor ? fmt.stop(r.early_stopping_epoch) : 'n/a')],
  ];
  const table = el('table', {class: 'runs'});
  const head = el('tr');
  for (const [title] of columns) head.appendChild(el('th', {}, title));
  table.appendChild(head);
  report.runs.forEach((run, index) => {
    const row = el('tr');
    columns.forEach(([, cell], column) => {
      const td = el('td', {}, cell(run));
      if (column === 0) td.style.borderLeft = `4px solid ${COLOURS[index % COLOURS.length]}`;
      row.appendChild(td);
    });
    table.appendChild(row);
  });
  return table;
}

function runCharts(report) {
  const grid = el('div', {class: 'charts'});
  const colour = (index) => COLOURS[index % COLOURS.length];
  const dataLoss = [], gap = [];
  report.runs.forEach((run, index) => {
    const c = run.curves;
    if (c.data_loss_epochs) {
      dataLoss.push({label: `${run.name} training`, colour: colour(index), dashed: true, x: c.data_loss_epochs, y: c.train_data_loss});
      dataLoss.push({label: `${run.name} validation`, colour: colour(index), dashed: false, x: c.data_loss_epochs, y: c.val_data_loss});
    }
    if (c.metric_epochs && c.metric_gap_pp) {  // no gap where training and validation are not paired
      gap.push({label: run.name, colour: colour(index), dashed: false, x: c.metric_epochs, y: c.metric_gap_pp});
    }
  });
  // As `l2board compare --plot` titles it: "data loss" only when no run's
  // loss may include penalties (loss_basis, docs/compare-json.md).
  const onDataLoss = report.runs.every((r) => !r.loss_basis || DATA_LOSS_BASES.includes(r.loss_basis));
  const lossTitle = onDataLoss ? 'data loss (no penalty)' : 'data loss or loss as logged (see notes)';
  grid.appendChild(lineChart(`${lossTitle}, dashed: training`, dataLoss));
  grid.appendChild(lineChart(`${report.metric || 'metric'} gap, train − val (pp)`, gap));
  return grid;
}

/**
 * One colour per variable for every per-layer chart and the shared legend:
 * taken from the sorted union of the names, so a variable that one chart
 * lacks (a bias without a penalty) shifts no other variable's colour.
 * @param {!Array<!Object<string, *>>} groups the series of each chart, by variable
 * @return {!Map<string, string>}
 */
function variableColours(groups) {
  const names = [...new Set(groups.flatMap((group) => Object.keys(group)))].sort();
  return new Map(names.map((name, i) => [name, COLOURS[i % COLOURS.length]]));
}

async function layerCharts(container) {
  container.textContent = '';
  if (!state.layerRun) return;
  const layers = await getJson(`./layers?run=${encodeURIComponent(state.layerRun)}`);
  const colours = variableColours([layers.penalty, layers.activity_penalty, layers.weight_l2, layers.init_distance]);
  const grid = el('div', {class: 'charts'});
  const series = (group, dashed = false) => Object.entries(group).map(([name, s]) => ({
    label: name, colour: colours.get(name), dashed, x: s.steps, y: s.values}));
  const penalties = series(layers.penalty).concat(series(layers.activity_penalty, true));
  grid.appendChild(lineChart('penalty per variable (dashed: activity)', penalties,
      'no penalty in this run: nothing is regularized'));
  grid.appendChild(lineChart('weight L2 norm per variable', series(layers.weight_l2)));
  grid.appendChild(lineChart('distance from initial weights per variable', series(layers.init_distance)));
  // The legend above the charts it keys, not below the third one.
  container.appendChild(legend([...colours]));
  container.appendChild(grid);
}

/**
 * The report's notes as `l2board compare` prints them: the runs skipped, each
 * note once after the runs it concerns, then the warnings about the files. Plain
 * strings: they go into the page as text.
 * @return {!Array<string>}
 */
function notes(report) {
  const byNote = new Map();
  for (const run of report.runs) {
    for (const note of run.missing) byNote.set(note, [...(byNote.get(note) || []), run.name]);
  }
  return [...(report.skipped || []).map((run) => `Skipped (not compared): ${run.text}`),
          ...[...byNote].map(([note, names]) => `${names.join(', ')}: ${note}.`), ...report.warnings];
}

function runPicker(onChange) {
  const box = el('div', {class: 'run-picker'});
  box.appendChild(el('span', {class: 'label'}, 'Runs: '));
  for (const run of state.runs) {
    const label = el('label', {class: 'run-choice'});
    const input = el('input', {type: 'checkbox'});
    input.checked = state.selected.has(run.name);
    input.addEventListener('change', () => {
      if (input.checked) state.selected.add(run.name); else state.selected.delete(run.name);
      onChange();
    });
    label.appendChild(input);
    label.appendChild(document.createTextNode(run.name + (run.logged_by_l2monitor ? '' : ' (not logged by L2Monitor)')));
    box.appendChild(label);
  }
  return box;
}

// The `selected` attribute, not only the property: the page's HTML then
// says which run is chosen (the browser test reads it).
function options(names, chosen) {
  return names.map((n) => el('option', n === chosen ? {value: n, selected: ''} : {value: n}, n));
}

async function refresh(parts) {
  try {
    const listing = await getJson('./runs');
    const known = new Set(state.runs.map((r) => r.name));
    state.runs = listing.runs;
    for (const run of state.runs) {
      if (!known.has(run.name) && state.selected.size < 12) state.selected.add(run.name);
    }
    parts.picker.replaceWith(parts.picker = runPicker(() => refresh(parts)));
    const chosen = state.runs.map((r) => r.name).filter((n) => state.selected.has(n));
    if (!chosen.length) {
      parts.status.textContent = 'Choose runs above.';
      return;
    }
    // The server orders runs least regularized first (http_api.md, /runs):
    // "with and without L2" means the run without L2 as baseline.
    if (!chosen.includes(state.baseline)) state.baseline = listing.baseline_order.find((n) => state.selected.has(n));
    // The baseline goes first: compare's first run is its baseline too.
    const ordered = [state.baseline, ...chosen.filter((n) => n !== state.baseline)];
    const query = ordered.map((n) => `run=${encodeURIComponent(n)}`).join('&');
    state.report = await getJson(`./report?${query}`);
    parts.baselineSelect.replaceChildren(...options(chosen, state.baseline));
    parts.table.replaceChildren(runTable(state.report));
    parts.verdict.textContent = state.report.verdict.join(' ');
    parts.notes.replaceChildren(...notes(state.report).map((note) => el('li', {}, note)));
    parts.charts.replaceChildren(runCharts(state.report));
    if (!chosen.includes(state.layerRun)) state.layerRun = chosen[chosen.length - 1];
    parts.layerSelect.replaceChildren(...options(chosen, state.layerRun));
    await layerCharts(parts.layers);
    parts.status.textContent = `Updated ${new Date().toLocaleTimeString()}.`;
  } catch (error) {
    parts.status.textContent = `Could not load the report: ${error.message}`;
  }
}

export async function render() {
  const stylesheet = el('link', {rel: 'stylesheet', href: './static/style.css'});
  document.head.appendChild(stylesheet);
  const parts = {
    picker: el('div'),
    status: el('div', {class: 'status'}, 'Loading…'),
    table: el('div', {class: 'table'}),
    verdict: el('p', {class: 'verdict'}),
    notes: el('ul', {class: 'notes'}),
    charts: el('div'),
    layerSelect: el('select', {class: 'layer-run'}),
    baselineSelect: el('select', {class: 'baseline-run'}),
    layers: el('div'),
  };
  parts.baselineSelect.addEventListener('change', () => {
    state.baseline = parts.baselineSelect.value;
    refresh(parts);
  });
  parts.layerSelect.addEventListener('change', () => {
    state.layerRun = parts.layerSelect.value;
    layerCharts(parts.layers);
  });
  const main = el('main');
  main.appendChild(el('h1', {}, 'Is L2 regularization fighting overfitting?'));
  main.appendChild(parts.picker);
  const baseline = el('div', {class: 'baseline'}, 'Baseline: ');
  baseline.appendChild(parts.baselineSelect);
  main.appendChild(baseline);
  main.appendChild(parts.status);
  main.appendChild(parts.table);
  main.appendChild(parts.verdict);
  main.appendChild(parts.notes);
  main.appendChild(parts.charts);
  const layerHeader = el('h2', {}, 'Per layer, for run ');
  layerHeader.appendChild(parts.layerSelect);
  main.appendChild(layerHeader);
  main.appendChild(parts.layers);
  document.body.appendChild(main);
  await refresh(parts);
  setInterval(() => refresh(parts), RELOAD_MS);
}
