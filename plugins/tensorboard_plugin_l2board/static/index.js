// The L2 tab of TensorBoard. Every number comes from the plugin's /report
// route, which runs the same analysis as `l2board compare`; this file only
// lays numbers out and draws lines. Run and tag names always go into the page
// as text (textContent), never as HTML.

const SVG = 'http://www.w3.org/2000/svg';
const COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b',
                 '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
const RELOAD_MS = 30000;  // TensorBoard's own reload interval
// Runs ticked when the tab opens: a sweep of 10 factors with 3 seeds each
// shows whole (the dashboard benchmark reads 20 runs of 200 epochs in well
// under a second).
const FIRST_SELECTED = 30;
// Loss bases without penalties (l2board.analysis.run_analysis.DATA_LOSS_BASES).
const DATA_LOSS_BASES = ['data_loss', 'logged_loss_without_penalty'];

const state = {runs: [], selected: new Set(), layerRun: null, baseline: null, report: null};

/**
 * A number as Python's `format(value, 'g')` writes it (six significant
 * digits, exponent below 1e-4): the factors read as `l2board compare` and
 * the recommendation's `--l2 1e-05` write them.
 */
function pythonG(value) {
  if (value === 0) return '0';
  const [mantissa, power] = value.toExponential(5).split('e');
  const exponent = Number(power);
  if (exponent < -4 || exponent >= 6) {
    const digits = mantissa.replace(/\.?0+$/, '');
    return `${digits}e${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`;
  }
  return `${Number(value.toPrecision(6))}`;
}

// A factor of the λ curve as `l2board compare` words it (wording._factor).
function factorText(factor) {
  return factor === 0 ? '0 (no L2)' : pythonG(factor);
}

// A signed number with a real minus sign: "+0.31", "−0.31".
function signed(value, digits) {
  return `${value < 0 ? '−' : '+'}${Math.abs(value).toFixed(digits)}`;
}

function unsigned(value, digits) {
  return value < 0 ? `−${Math.abs(value).toFixed(digits)}` : value.toFixed(digits);
}

/**
 * A mean with its 95% interval over seeds (a `MeanInterval` of the sweep):
 * "0.620 [0.366, 0.874]", or the mean alone with one seed.
 */
function meanInterval(interval, scale = 1, digits = 3, unit = '') {
  if (!interval || interval.mean === null || interval.mean === undefined) return 'n/a';
  const number = (v) => unsigned(scale * v, digits) + unit;
  if (interval.low === null || interval.low === undefined) return number(interval.mean);
  return `${number(interval.mean)} [${number(interval.low)}, ${number(interval.high)}]`;
}

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

// The changes against the baseline the tab lists, as `l2board compare`'s
// table words them (report.ROWS): field, title, how to print it, and which
// direction is better (null: neither).
function changeColumns(report) {
  const metric = report.metric || 'metric';
  const onDataLoss = report.runs.every((r) => !r.loss_basis || DATA_LOSS_BASES.includes(r.loss_basis));
  const columns = [
    {field: 'final_val_metric', title: `final val ${metric}`, scale: 100, digits: 1, unit: ' pp', better: 'higher'},
    {field: 'best_val_metric', title: `best val ${metric}`, scale: 100, digits: 1, unit: ' pp', better: 'higher'},
    {field: 'metric_gap_final_pp', title: `${metric} gap, final`, scale: 1, digits: 1, unit: ' pp', better: 'lower'},
    {field: 'final_val_data_loss', title: onDataLoss ? 'final val data loss' : 'final val loss',
     scale: 1, digits: 3, unit: '', better: 'lower'},
    {field: 'generalization_loss_percent', title: 'GL at end', scale: 1, digits: 1, unit: ' pp', better: 'lower'},
    {field: 'early_stopping_epoch', title: `EarlyStopping(${report.patience}) epoch`, scale: 1, digits: 1,
     unit: '', better: null},
  ];
  return report.metric ? columns : columns.filter((c) => !c.field.includes('metric'));
}

/**
 * One change against the baseline in words (as wording.interval_words):
 * the difference with its 95% interval over seeds, how many seeds and how
 * they were paired, and, when the interval holds zero, the seeds per
 * configuration that would resolve it.
 * @return {{main: string, detail: string, need: string}}
 */
function changeWords(change, column) {
  if (!change || change.difference === null || change.difference === undefined) {
    return {main: 'n/a', detail: '', need: ''};
  }
  const {scale, digits, unit} = column;
  let main = signed(scale * change.difference, digits) + unit;
  if (!change.method || change.method === 'unreplicated') return {main, detail: 'unreplicated', need: ''};
  if (change.low !== null && change.low !== undefined && change.high !== null && change.high !== undefined) {
    main += ` [${signed(scale * change.low, digits)}, ${signed(scale * change.high, digits)}]`;
  }
  const seeds = change.n_baseline === change.n_value ? `${change.n_value} seeds`
      : `${change.n_value} and ${change.n_baseline} seeds`;
  const detail = `${seeds}, ${change.method === 'paired' ? 'paired' : 'Welch'}`;
  let need = '';
  if (change.resolved === false) {
    if (change.seeds_needed) need = `${change.seeds_needed} seeds per configuration would resolve it`;
    else if (change.low === change.high) need = 'the same in every seed';
    else need = 'no number of seeds up to 1,000 would resolve it';
  }
  return {main, detail, need};
}

// As the terminal's colours (report._colour): none for a change whose
// interval holds zero, nor for one without a better direction.
function changeClass(change, better) {
  if (!change || change.difference === null || change.difference === undefined || better === null) return null;
  if (change.difference === 0 || change.resolved === false) return null;
  return (change.difference < 0) === (better === 'lower') ? 'better' : 'worse';
}

/** The table of changes against the baseline, one row per other configuration; null when there is none. */
function changeTable(report) {
  const others = report.configurations.filter((c) => c.name !== report.baseline && report.changes[c.name]);
  if (!others.length) return null;
  const columns = changeColumns(report).filter(
      (column) => others.some((c) => (report.changes[c.name][column.field] || {}).difference != null));
  const table = el('table', {class: 'changes'});
  const head = el('tr');
  head.appendChild(el('th', {}, `against ${report.baseline}`));
  head.appendChild(el('th', {}, 'runs'));
  for (const column of columns) head.appendChild(el('th', {}, column.title));
  table.appendChild(head);
  for (const configuration of others) {
    const row = el('tr');
    row.appendChild(el('td', {}, configuration.name));
    row.appendChild(el('td', {}, `${configuration.runs.length}`));
    for (const column of columns) {
      const change = report.changes[configuration.name][column.field];
      const words = changeWords(change, column);
      const cell = el('td', {class: 'change', 'data-field': column.field,
                             'data-configuration': configuration.name});
      const colour = changeClass(change, column.better);
      cell.appendChild(el('span', colour ? {class: `difference ${colour}`} : {class: 'difference'}, words.main));
      if (words.detail) cell.appendChild(el('span', {class: 'detail'}, words.detail));
      if (words.need) cell.appendChild(el('span', {class: 'detail need'}, words.need));
      cell.setAttribute('title', [words.main, words.detail].filter(Boolean).join(', ')
          + (words.need ? `; ${words.need}` : ''));
      row.appendChild(cell);
    }
    table.appendChild(row);
  }
  return table;
}

/**
 * The λ curve as SVG: the validation data loss at the EarlyStopping epoch
 * against the L2 factor on a log scale, λ = 0 apart at the left; the mean
 * of each factor with its 95% interval as whiskers; the best and the
 * one-standard-error factors marked. Positions only: every number drawn is
 * the sweep's.
 */
function lambdaChart(sweep) {
  const width = 560, height = 280, left = 56, right = 16, top = 24, bottom = 40;
  const title = 'validation data loss at the EarlyStopping epoch, by L2 factor';
  const chart = svg('svg', {width, height, class: 'chart lambda-curve', role: 'img', 'aria-label': title});
  chart.appendChild(svg('text', {x: left, y: 16, class: 'chart-title'}, title));
  const points = sweep.points.filter((p) => p.loss && Number.isFinite(p.loss.mean));
  if (!points.length) {
    chart.appendChild(svg('text', {x: left, y: height / 2, class: 'empty'}, 'no loss at the EarlyStopping epoch'));
    return chart;
  }
  const bound = (sweep.recommendation || {}).one_se_bound;
  const ends = points.flatMap((p) => [p.loss.mean, p.loss.low, p.loss.high]).concat([bound])
      .filter(Number.isFinite);
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
    chart.appendChild(svg('text', {x: left - 4, y: sy(y) + 4, class: 'tick', 'text-anchor': 'end'}, y.toPrecision(3)));
  }
  for (const p of points) {
    chart.appendChild(svg('text', {x: sx(p.factor), y: axisY + 14, class: 'tick', 'text-anchor': 'middle'},
        pythonG(p.factor)));
  }
  chart.appendChild(svg('text', {x: (left + width) / 2, y: height - 6, class: 'tick', 'text-anchor': 'middle'},
      'L2 factor (log scale; 0 apart)'));
  if (Number.isFinite(bound)) {
    // The one-SE rule's bound (recommendation.one_se_bound): the best mean plus its standard error.
    chart.appendChild(svg('line', {x1: left, y1: sy(bound), x2: width - right, y2: sy(bound), class: 'one-se-bound'}));
    chart.appendChild(svg('text', {x: width - right - 2, y: sy(bound) - 3, class: 'tick', 'text-anchor': 'end'},
        'best + 1 SE'));
  }
  const means = points.filter((p) => p.factor > 0)
      .map((p) => `${sx(p.factor).toFixed(1)},${sy(p.loss.mean).toFixed(1)}`).join(' ');
  chart.appendChild(svg('polyline', {points: means, fill: 'none', stroke: COLOURS[0], 'stroke-width': 1.4}));
  const {best_index: best, one_se_index: oneSe} = sweep.recommendation || {};
  sweep.points.forEach((p, index) => {
    if (!points.includes(p)) return;
    const x = sx(p.factor);
    if (Number.isFinite(p.loss.low) && Number.isFinite(p.loss.high)) {
      for (const [x1, y1, x2, y2] of [[x, sy(p.loss.low), x, sy(p.loss.high)],
                                      [x - 4, sy(p.loss.low), x + 4, sy(p.loss.low)],
                                      [x - 4, sy(p.loss.high), x + 4, sy(p.loss.high)]]) {
        chart.appendChild(svg('line', {x1, y1, x2, y2, class: 'whisker', stroke: COLOURS[0]}));
      }
    }
    const marks = [index === best ? 'best' : null, index === oneSe ? 'one-SE' : null].filter(Boolean);
    const circle = svg('circle', {cx: x, cy: sy(p.loss.mean), r: marks.length ? 5 : 3.5, fill: COLOURS[0],
                                  class: marks.length ? 'sweep-point chosen' : 'sweep-point'});
    circle.appendChild(svg('title', {}, `λ = ${factorText(p.factor)}: ${meanInterval(p.loss)}`
        + (p.loss.n ? `, ${p.loss.n} seed${p.loss.n === 1 ? '' : 's'}` : '')));
    chart.appendChild(circle);
    if (marks.length) {
      chart.appendChild(svg('circle', {cx: x, cy: sy(p.loss.mean), r: 9, fill: 'none', class: 'chosen-ring'}));
      const above = Number.isFinite(p.loss.high) ? sy(p.loss.high) : sy(p.loss.mean);
      chart.appendChild(svg('text', {x, y: Math.max(above - 6, top + 8), class: 'mark', 'text-anchor': 'middle'},
          marks.join(', ')));
    }
  });
  return chart;
}

/** The points of the λ curve as a table: factor, runs, loss and metric at the EarlyStopping epoch. */
function sweepTable(sweep) {
  const metric = sweep.metric || 'metric';
  const {best_index: best, one_se_index: oneSe} = sweep.recommendation || {};
  const table = el('table', {class: 'sweep-points'});
  const head = el('tr');
  for (const title of ['L2 factor', 'configuration', 'runs', 'val data loss at stop [95%]',
                       `val ${metric} at stop [95%]`, '']) {
    head.appendChild(el('th', {}, title));
  }
  table.appendChild(head);
  sweep.points.forEach((p, index) => {
    const row = el('tr');
    const marks = [index === best ? 'best' : null, index === oneSe ? 'one-SE' : null].filter(Boolean);
    // As the terminal's table: a factor with diverged runs says how many (it is never recommended).
    const runs = p.diverged ? `${p.runs} (${p.diverged} diverged)` : `${p.runs}`;
    for (const text of [factorText(p.factor), p.configuration, runs, meanInterval(p.loss),
                        p.metric ? meanInterval(p.metric, 100, 1, '%') : 'n/a', marks.join(', ')]) {
      row.appendChild(el('td', {}, text));
    }
    if (marks.length) row.setAttribute('class', 'chosen');
    table.appendChild(row);
  });
  return table;
}

/** The "λ curve" section: the chart, its points and the recommendation; empty without a sweep. */
function sweepSection(report) {
  const sweep = report.sweep;
  if (!sweep) return [];
  const layers = sweep.layers && sweep.layers.length ? `L2 on ${sweep.layers.join(', ')}` : '';
  const caption = el('p', {class: 'sweep-caption'},
      `${layers}${layers ? '; ' : ''}mean over seeds with its 95% interval`
      + (sweep.replicated ? '.' : ' (one seed per factor: no interval).'));
  return [el('h2', {}, 'λ curve'), caption, lambdaChart(sweep), sweepTable(sweep),
          el('p', {class: 'recommendation'}, (report.recommendation || []).join(' '))];
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
      if (!known.has(run.name) && state.selected.size < FIRST_SELECTED) state.selected.add(run.name);
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
    const changes = changeTable(state.report);
    parts.changes.replaceChildren(...(changes ? [changes] : []));
    parts.verdict.textContent = state.report.verdict.join(' ');
    parts.sweep.replaceChildren(...sweepSection(state.report));
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
    changes: el('div', {class: 'table'}),
    verdict: el('p', {class: 'verdict'}),
    notes: el('ul', {class: 'notes'}),
    sweep: el('section', {class: 'sweep'}),
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
  main.appendChild(parts.changes);
  main.appendChild(parts.verdict);
  main.appendChild(parts.notes);
  main.appendChild(parts.sweep);
  main.appendChild(parts.charts);
  const layerHeader = el('h2', {}, 'Per layer, for run ');
  layerHeader.appendChild(parts.layerSelect);
  main.appendChild(layerHeader);
  main.appendChild(parts.layers);
  document.body.appendChild(main);
  await refresh(parts);
  setInterval(() => refresh(parts), RELOAD_MS);
}
