// The L2 tab of TensorBoard. The plugin's /report route answers the numbers
// of `l2board compare` and their view: every cell, sentence, title and label,
// worded on the server by l2board.rendering. This file only lays the view out
// and draws lines and points; it words nothing. Run and tag names always go
// into the page as text (textContent), never as HTML.

const SVG = 'http://www.w3.org/2000/svg';
const COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b',
                 '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
const RELOAD_MS = 30000;  // TensorBoard's own reload interval
// Runs ticked when the tab opens: a sweep of 10 factors with 3 seeds each
// shows whole.
const FIRST_SELECTED = 30;

const state = {runs: [], labels: {}, selected: new Set(), layerRun: null, baseline: null, report: null};

async function getJson(path) {
  const response = await fetch(path);
  if (!response.ok) {
    // The server's one sentence, as it worded it.
    throw new Error(await response.text());
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

// Axis ticks: positions on a chart, as numbers.
function tick(value) {
  return `${Number(value.toPrecision(3))}`;
}

/**
 * A line chart as SVG: one line per series, solid or dashed.
 * @param {string} title
 * @param {!Array<{label: string, colour: string, dashed: boolean, x: !Array<number>, y: !Array<number>}>} series
 * @param {string} empty shown when there is nothing to draw
 * @param {string} xLabel
 */
function lineChart(title, series, empty, xLabel) {
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
    chart.appendChild(svg('text', {x: left - 4, y: sy(y) + 4, class: 'tick', 'text-anchor': 'end'}, tick(y)));
  }
  for (const x of [xMin, xMax]) {
    chart.appendChild(svg('text', {x: sx(x), y: height - bottom + 14, class: 'tick', 'text-anchor': 'middle'}, `${x}`));
  }
  chart.appendChild(svg('text', {x: (left + width) / 2, y: height - 4, class: 'tick', 'text-anchor': 'middle'}, xLabel));
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

/** The configurations (baseline first), one line each, as the view words them. */
function legendList(view) {
  const box = el('div', {class: 'configurations'});
  box.appendChild(el('div', {class: 'legend-title'}, view.legend.title));
  const list = el('ul', {class: 'configuration-list'});
  for (const entry of view.legend.configurations) list.appendChild(el('li', {}, entry.text));
  box.appendChild(list);
  return box;
}

/** The report's table: configurations as columns, each cell its mean (± std) and change, toned when claimed. */
function reportTable(view) {
  const table = el('table', {class: 'report'});
  const head = el('tr');
  head.appendChild(el('th'));
  for (const name of view.table.columns) head.appendChild(el('th', {}, name));
  table.appendChild(head);
  for (const row of view.table.rows) {
    const tr = el('tr');
    tr.appendChild(el('th', {class: 'row-title'}, row.title));
    for (const cell of row.cells) {
      const td = el('td', {}, cell.text);
      if (cell.change) {
        td.appendChild(el('span', {class: cell.tone ? `change ${cell.tone}` : 'change'}, cell.change));
      }
      tr.appendChild(td);
    }
    table.appendChild(tr);
  }
  return table;
}

/** The unadjusted differences against the baseline, per configuration; empty without seeds. */
function differencesSection(view) {
  const differences = view.differences;
  if (!differences || !differences.sections.length) return [];
  const table = el('table', {class: 'differences'});
  for (const section of differences.sections) {
    section.rows.forEach((row, index) => {
      const tr = el('tr', {'data-configuration': section.configuration, 'data-field': row.field});
      tr.appendChild(el('td', {class: 'configuration'}, index === 0 ? section.configuration : ''));
      tr.appendChild(el('td', {}, row.title));
      tr.appendChild(el('td', {class: 'difference'}, row.text));
      table.appendChild(tr);
    });
  }
  return [el('h2', {}, view.labels.differences), el('p', {class: 'caption'}, differences.title), table];
}

/**
 * The λ curve as SVG: the validation data loss at the EarlyStopping epoch
 * against the L2 factor on a log scale, λ = 0 apart at the left; each
 * factor's mean with its interval as whiskers; the best and the
 * one-standard-error factors marked. Positions only: numbers and words are
 * the view's.
 */
function lambdaChart(chartView) {
  const width = 560, height = 280, left = 56, right = 16, top = 24, bottom = 40;
  const chart = svg('svg', {width, height, class: 'chart lambda-curve', role: 'img', 'aria-label': chartView.title});
  chart.appendChild(svg('text', {x: left, y: 16, class: 'chart-title'}, chartView.title));
  const points = chartView.points.filter((p) => Number.isFinite(p.mean));
  if (!points.length) {
    chart.appendChild(svg('text', {x: left, y: height / 2, class: 'empty'}, chartView.empty));
    return chart;
  }
  const bound = chartView.bound;
  const ends = points.flatMap((p) => [p.mean, p.low, p.high]).concat([bound]).filter(Number.isFinite);
  let [yMin, yMax] = [Math.min(...ends), Math.max(...ends)];
  if (yMin === yMax) { yMin -= 1; yMax += 1; }
  const pad = (yMax - yMin) * 0.05;
  [yMin, yMax] = [yMin - pad, yMax + pad];
  const sy = (y) => top + (1 - (y - yMin) / (yMax - yMin)) * (height - top - bottom);
  // x: log10 of the positive factors; λ = 0 in a slot of its own, past a break.
  const logs = points.filter((p) => p.factor > 0).map((p) => Math.log10(p.factor));
  const hasZero = points.some((p) => p.factor === 0);
  const zeroX = left + 18;
  const logLeft = hasZero ? left + 70 : left + 18;
  const logRight = width - right - 18;
  const [lMin, lMax] = logs.length ? [Math.min(...logs), Math.max(...logs)] : [0, 1];
  const sx = (factor) => {
    if (factor === 0) return zeroX;
    if (lMin === lMax) return (logLeft + logRight) / 2;
    return logLeft + ((Math.log10(factor) - lMin) / (lMax - lMin)) * (logRight - logLeft);
  };
  const axisY = height - bottom;
  if (hasZero) {
    chart.appendChild(svg('line', {x1: left, y1: axisY, x2: zeroX + 22, y2: axisY, class: 'axis'}));
    chart.appendChild(svg('line', {x1: logLeft - 22, y1: axisY, x2: width - right, y2: axisY, class: 'axis'}));
    for (const x of [zeroX + 26, zeroX + 31]) {  // the axis break: λ = 0 is not on the log scale
      chart.appendChild(svg('line', {x1: x - 3, y1: axisY + 5, x2: x + 3, y2: axisY - 5, class: 'axis'}));
    }
  } else {
    chart.appendChild(svg('line', {x1: left, y1: axisY, x2: width - right, y2: axisY, class: 'axis'}));
  }
  chart.appendChild(svg('line', {x1: left, y1: top, x2: left, y2: axisY, class: 'axis'}));
  for (const y of [yMin, (yMin + yMax) / 2, yMax]) {
    chart.appendChild(svg('text', {x: left - 4, y: sy(y) + 4, class: 'tick', 'text-anchor': 'end'}, tick(y)));
  }
  for (const p of points) {
    chart.appendChild(svg('text', {x: sx(p.factor), y: axisY + 14, class: 'tick', 'text-anchor': 'middle'}, p.tick));
  }
  chart.appendChild(svg('text', {x: (left + width) / 2, y: height - 6, class: 'tick', 'text-anchor': 'middle'},
      chartView.x_label));
  if (Number.isFinite(bound)) {
    chart.appendChild(svg('line', {x1: left, y1: sy(bound), x2: width - right, y2: sy(bound), class: 'one-se-bound'}));
    chart.appendChild(svg('text', {x: width - right - 2, y: sy(bound) - 3, class: 'tick', 'text-anchor': 'end'},
        chartView.bound_label));
  }
  const means = points.filter((p) => p.factor > 0)
      .map((p) => `${sx(p.factor).toFixed(1)},${sy(p.mean).toFixed(1)}`).join(' ');
  chart.appendChild(svg('polyline', {points: means, fill: 'none', stroke: COLOURS[0], 'stroke-width': 1.4}));
  for (const p of points) {
    const x = sx(p.factor);
    if (Number.isFinite(p.low) && Number.isFinite(p.high)) {
      for (const [x1, y1, x2, y2] of [[x, sy(p.low), x, sy(p.high)], [x - 4, sy(p.low), x + 4, sy(p.low)],
                                      [x - 4, sy(p.high), x + 4, sy(p.high)]]) {
        chart.appendChild(svg('line', {x1, y1, x2, y2, class: 'whisker', stroke: COLOURS[0]}));
      }
    }
    const circle = svg('circle', {cx: x, cy: sy(p.mean), r: p.marks ? 5 : 3.5, fill: COLOURS[0],
                                  class: p.marks ? 'sweep-point chosen' : 'sweep-point'});
    circle.appendChild(svg('title', {}, p.tooltip));
    chart.appendChild(circle);
    if (p.marks) {
      chart.appendChild(svg('circle', {cx: x, cy: sy(p.mean), r: 9, fill: 'none', class: 'chosen-ring'}));
      const above = Number.isFinite(p.high) ? sy(p.high) : sy(p.mean);
      chart.appendChild(svg('text', {x, y: Math.max(above - 6, top + 8), class: 'mark', 'text-anchor': 'middle'},
          p.marks));
    }
  }
  return chart;
}

/** A table of cells: a header row, then one row per list of texts. */
function textTable(className, header, rows) {
  const table = el('table', {class: className});
  const head = el('tr');
  for (const title of header) head.appendChild(el('th', {}, title));
  table.appendChild(head);
  for (const row of rows) {
    const tr = el('tr');
    for (const text of row) tr.appendChild(el('td', {}, text));
    if (row[row.length - 1]) tr.setAttribute('class', 'chosen');
    table.appendChild(tr);
  }
  return table;
}

/** The "λ curve" section: the chart, its points and the recommendation; empty without a sweep. */
function sweepSection(view) {
  const sweep = view.sweep;
  if (!sweep) return [];
  return [el('h2', {}, view.labels.sweep), el('p', {class: 'sweep-caption'}, sweep.caption),
          lambdaChart(sweep.chart), textTable('sweep-points', sweep.header, sweep.rows),
          el('p', {class: 'recommendation'}, sweep.sentences.join(' '))];
}

/** The verdict, one paragraph per configuration, then how its intervals are adjusted. */
function verdictSection(view) {
  const nodes = view.verdict.paragraphs.map((text) => el('p', {class: 'verdict'}, text));
  if (view.verdict.adjustment) nodes.push(el('p', {class: 'adjustment'}, view.verdict.adjustment));
  return nodes;
}

function runCharts(report) {
  const grid = el('div', {class: 'charts'});
  const {view} = report;
  for (const chart of view.charts) {
    const series = chart.series.map((s) => ({
      label: s.label, colour: COLOURS[s.run % COLOURS.length], dashed: s.dashed,
      x: report.runs[s.run].curves[s.x] || [], y: report.runs[s.run].curves[s.y] || []}));
    grid.appendChild(lineChart(chart.title, series, view.labels.empty_chart, view.labels.epoch));
  }
  return grid;
}

/**
 * One colour per variable for every per-layer chart and the shared legend:
 * taken from the sorted union of the names, so a variable that one chart
 * lacks (a bias without a penalty) shifts no other variable's colour.
 */
function variableColours(groups) {
  const names = [...new Set(groups.flatMap((group) => Object.keys(group)))].sort();
  return new Map(names.map((name, i) => [name, COLOURS[i % COLOURS.length]]));
}

async function layerCharts(container) {
  container.textContent = '';
  if (!state.layerRun || !state.report) return;
  const labels = state.report.view.labels;
  const layers = await getJson(`./layers?run=${encodeURIComponent(state.layerRun)}`);
  const colours = variableColours([layers.penalty, layers.activity_penalty, layers.weight_l2, layers.init_distance]);
  const grid = el('div', {class: 'charts'});
  const series = (group, dashed = false) => Object.entries(group).map(([name, s]) => ({
    label: name, colour: colours.get(name), dashed, x: s.steps, y: s.values}));
  const penalties = series(layers.penalty).concat(series(layers.activity_penalty, true));
  grid.appendChild(lineChart(labels.penalty_chart, penalties, labels.no_penalty, labels.epoch));
  grid.appendChild(lineChart(labels.norm_chart, series(layers.weight_l2), labels.empty_chart, labels.epoch));
  grid.appendChild(lineChart(labels.distance_chart, series(layers.init_distance), labels.empty_chart, labels.epoch));
  // The legend above the charts it keys, not below the third one.
  container.appendChild(legend([...colours]));
  container.appendChild(grid);
}

function runPicker(onChange) {
  const box = el('div', {class: 'run-picker'});
  box.appendChild(el('span', {class: 'label'}, state.labels.runs || ''));
  for (const run of state.runs) {
    const label = el('label', {class: 'run-choice'});
    const input = el('input', {type: 'checkbox'});
    input.checked = state.selected.has(run.name);
    input.addEventListener('change', () => {
      if (input.checked) state.selected.add(run.name); else state.selected.delete(run.name);
      onChange();
    });
    label.appendChild(input);
    label.appendChild(document.createTextNode(run.name + (run.logged_by_l2monitor ? '' : state.labels.not_l2monitor)));
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
    state.labels = listing.labels;
    parts.title.textContent = state.labels.title;
    parts.baselineLabel.textContent = state.labels.baseline;
    parts.layerLabel.textContent = state.labels.layers;
    const known = new Set(state.runs.map((r) => r.name));
    state.runs = listing.runs;
    for (const run of state.runs) {
      if (!known.has(run.name) && state.selected.size < FIRST_SELECTED) state.selected.add(run.name);
    }
    parts.picker.replaceWith(parts.picker = runPicker(() => refresh(parts)));
    const chosen = state.runs.map((r) => r.name).filter((n) => state.selected.has(n));
    if (!chosen.length) {
      parts.status.textContent = state.labels.choose;
      return;
    }
    // The server orders runs least regularized first (http_api.md, /runs):
    // "with and without L2" means the run without L2 as baseline.
    if (!chosen.includes(state.baseline)) state.baseline = listing.baseline_order.find((n) => state.selected.has(n));
    // The baseline goes first: compare's first run is its baseline too.
    const ordered = [state.baseline, ...chosen.filter((n) => n !== state.baseline)];
    const query = ordered.map((n) => `run=${encodeURIComponent(n)}`).join('&');
    state.report = await getJson(`./report?${query}`);
    const {view} = state.report;
    parts.baselineSelect.replaceChildren(...options(chosen, state.baseline));
    parts.legend.replaceChildren(legendList(view));
    parts.table.replaceChildren(reportTable(view));
    parts.differences.replaceChildren(...differencesSection(view));
    parts.verdict.replaceChildren(...verdictSection(view));
    parts.sweep.replaceChildren(...sweepSection(view));
    parts.notes.replaceChildren(...view.note_lines.map((note) => el('li', {}, note)));
    parts.charts.replaceChildren(runCharts(state.report));
    if (!chosen.includes(state.layerRun)) state.layerRun = chosen[chosen.length - 1];
    parts.layerSelect.replaceChildren(...options(chosen, state.layerRun));
    await layerCharts(parts.layers);
    parts.status.textContent = `${view.labels.updated} ${new Date().toLocaleTimeString()}.`;
    parts.status.setAttribute('data-state', 'updated');
  } catch (error) {
    parts.status.textContent = error.message;
    parts.status.setAttribute('data-state', 'failed');
  }
}

export async function render() {
  const stylesheet = el('link', {rel: 'stylesheet', href: './static/style.css'});
  document.head.appendChild(stylesheet);
  const parts = {
    title: el('h1'),
    picker: el('div'),
    baselineLabel: el('span'),
    status: el('div', {class: 'status', 'data-state': 'loading'}, '…'),
    legend: el('div', {class: 'legend-box'}),
    table: el('div', {class: 'table'}),
    differences: el('section', {class: 'differences-box'}),
    verdict: el('section', {class: 'verdict-box'}),
    notes: el('ul', {class: 'notes'}),
    sweep: el('section', {class: 'sweep'}),
    charts: el('div'),
    layerLabel: el('span'),
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
  main.appendChild(parts.title);
  main.appendChild(parts.picker);
  const baseline = el('div', {class: 'baseline'});
  baseline.appendChild(parts.baselineLabel);
  baseline.appendChild(parts.baselineSelect);
  main.appendChild(baseline);
  main.appendChild(parts.status);
  for (const part of [parts.legend, parts.table, parts.verdict, parts.notes, parts.differences, parts.sweep,
                      parts.charts]) {
    main.appendChild(part);
  }
  const layerHeader = el('h2');
  layerHeader.appendChild(parts.layerLabel);
  layerHeader.appendChild(parts.layerSelect);
  main.appendChild(layerHeader);
  main.appendChild(parts.layers);
  document.body.appendChild(main);
  await refresh(parts);
  setInterval(() => refresh(parts), RELOAD_MS);
}
