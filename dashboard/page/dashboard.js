// The dashboard page: applies the feed's messages (history first, then updates) to one state and redraws at
// most once per animation frame. Read-only: it never sends anything on the WebSocket.
const state = { info: null, steps: { x: [], loss: [], sps: [] }, epochs: [], evaluations: [], workers: [], events: [], state: 'forming' };
const $ = (id) => document.getElementById(id);
const MAX_EVENTS = 500;
const MAX_POINTS = 20000;

function chart(el, title, series, yLabel, xLabel = 'step', integerX = false) {
  const width = Math.max(300, el.clientWidth - 10);
  return new uPlot({ title, width, height: 220, scales: { x: { time: false } }, axes: [{ label: xLabel, ...(integerX ? { incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500] } : {}) }, { label: yLabel }, ...(series.some((s) => s.scale === 'acc') ? [{ scale: 'acc', side: 1, label: 'accuracy %', grid: { show: false } }] : [])], series: [{ label: xLabel }, ...series] }, [[], ...series.map(() => [])], el);
}
const lossChart = chart($('chart-loss'), '', [{ label: 'train loss (epoch running mean)', stroke: '#2b6cb0', width: 2 }], 'loss');
const speedChart = chart($('chart-speed'), '', [{ label: 'samples/s', stroke: '#2f855a', width: 2 }], 'samples/s');
const epochChart = chart($('chart-epochs'), '', [
  { label: 'train loss', stroke: '#2b6cb0', width: 2, points: { show: true } },
  { label: 'val loss', stroke: '#c05621', width: 2, dash: [6, 4], points: { show: true } },
  { label: 'val acc %', stroke: '#2f855a', width: 2, dash: [2, 3], scale: 'acc', points: { show: true } },
], 'loss', 'epoch', true);

function apply(m) {
  switch (m.type) {
    case 'history': for (const x of m.messages) apply(x); return;
    case 'info': state.info = m.info; return;
    case 'steps':
      for (const p of m.points) { state.steps.x.push(p.step); state.steps.loss.push(finite(p.loss)); state.steps.sps.push(finite(p.samplesPerSec)); }
      if (state.steps.x.length > MAX_POINTS) for (const k of ['x', 'loss', 'sps']) state.steps[k] = state.steps[k].filter((_, i) => i % 2 === 0);
      if (m.points.length && state.state === 'forming') state.state = 'running';
      return;
    case 'epoch': state.epochs = state.epochs.filter((e) => e.record.epoch !== m.record.epoch).concat([m]); return;
    case 'evaluation': state.evaluations.push(m.evaluation); return;
    case 'workers': state.workers = m.workers; return;
    case 'event':
      state.events.push(m.event); if (state.events.length > MAX_EVENTS) state.events.shift();
      if (m.event.kind === 'completed' || m.event.kind === 'interrupted') state.state = m.event.kind;
      if (m.event.kind === 'error') state.state = 'failed';
      return;
    case 'state': state.state = m.state; return;
  }
}
const finite = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const fmt = (v, d = 4) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(d) : '–');
const pct = (v) => (typeof v === 'number' ? `${(v * 100).toFixed(2)} %` : '–');
function cell(row, text, cls) { const td = row.insertCell(); td.textContent = text; if (cls) td.className = cls; return td; }

function render() {
  const i = state.info;
  if (i) {
    $('run-name').textContent = `${i.name} (${i.mode}, run ${i.run})`;
    $('model-summary').textContent = i.modelSummary;
    $('config').textContent = JSON.stringify(i.config, null, 2);
  }
  const s = state.steps;
  const last = s.x.length - 1;
  $('run-line').textContent = `${state.state} · step ${s.x[last] ?? 0} · epoch ${state.epochs.length}/${i?.epochs ?? '?'} · world ${state.workers.filter((w) => w.rank !== null).length || i?.world || 0} · loss ${fmt(s.loss[last])} · ${Math.round(s.sps[last] ?? 0).toLocaleString('en-US')} samples/s`;
  lossChart.setData([s.x, s.loss]);
  speedChart.setData([s.x, s.sps]);
  $('chart-loss').dataset.points = String(s.x.length);
  const ep = state.epochs;
  epochChart.setData([ep.map((e) => e.record.epoch), ep.map((e) => finite(e.record.trainLoss)), ep.map((e) => finite(e.record.valLoss)), ep.map((e) => (e.record.valAccuracy === null ? null : e.record.valAccuracy * 100))]);
  const eb = $('epochs-table').tBodies[0]; eb.replaceChildren();
  for (const { record: r } of ep) { const row = eb.insertRow(); for (const v of [String(r.epoch), fmt(r.trainLoss), pct(r.trainAccuracy), fmt(r.valLoss), pct(r.valAccuracy), Math.round(r.samplesPerSec).toLocaleString('en-US'), fmt(r.seconds, 1)]) cell(row, v); }
  renderWorkers();
  renderEvaluation();
  const tb = $('events-table').tBodies[0]; tb.replaceChildren();
  for (const e of state.events.slice(-50).reverse()) {
    const row = tb.insertRow();
    cell(row, new Date(e.time).toLocaleTimeString(), 'text'); cell(row, e.kind, `text kind-${e.kind}`); cell(row, String(e.generation)); cell(row, e.worker ?? '', 'text'); cell(row, e.step === null ? '' : String(e.step)); cell(row, e.detail, 'text');
  }
}

function renderWorkers() {
  const tb = $('workers-table').tBodies[0]; tb.replaceChildren();
  const means = state.workers.map((w) => (w.steps ? [w.computeMs / w.steps, w.allreduceMs / w.steps, Math.max(0, w.waitMs / w.steps)] : [0, 0, 0]));
  const max = Math.max(1e-9, ...means.map((m) => m[0] + m[1] + m[2]));
  state.workers.forEach((w, k) => {
    const row = tb.insertRow();
    row.dataset.rank = w.rank === null ? '' : String(w.rank);
    const [c, a, wt] = means[k];
    cell(row, w.rank === null ? '–' : String(w.rank)); cell(row, w.worker, 'text'); cell(row, w.health, `text health-${w.health}`); cell(row, String(w.steps));
    cell(row, fmt(c, 1)); cell(row, fmt(a, 1)); cell(row, fmt(wt, 1));
    const bar = document.createElement('div'); bar.className = 'bar'; bar.setAttribute('role', 'img');
    bar.setAttribute('aria-label', `compute ${fmt(c, 1)} ms, all-reduce ${fmt(a, 1)} ms, wait ${fmt(wt, 1)} ms`);
    for (const [cls, v] of [['compute', c], ['allreduce', a], ['wait', wt]]) { const part = document.createElement('span'); part.className = cls; part.style.width = `${(200 * v) / max}px`; bar.append(part); }
    row.insertCell().append(bar);
  });
}

function renderEvaluation() {
  const e = state.evaluations[state.evaluations.length - 1];
  if (!e) return;
  $('eval-line').textContent = `${e.split} evaluation at step ${e.step}: loss ${fmt(e.loss)}, accuracy ${pct(e.accuracy)}${e.count ? ` on ${e.count.toLocaleString('en-US')} samples` : ''}`;
  const withMatrix = [...state.evaluations].reverse().find((x) => x.confusion);
  const box = $('confusion'); box.replaceChildren();
  if (!withMatrix) return;
  const m = withMatrix.confusion;
  const t = document.createElement('table'); t.className = 'confusion';
  t.createCaption().textContent = `confusion matrix (${withMatrix.split}, step ${withMatrix.step}): rows actual, columns predicted`;
  const head = t.createTHead().insertRow(); cell(head, 'actual \\ pred');
  for (const l of m.labels) cell(head, l);
  const body = t.createTBody();
  const max = Math.max(1, ...m.counts.flat());
  m.counts.forEach((rowCounts, a) => {
    const row = body.insertRow(); cell(row, m.labels[a]).style.fontWeight = 'bold';
    rowCounts.forEach((n, p) => { const td = cell(row, String(n)); const light = 100 - Math.round((60 * n) / max); td.style.background = `hsl(${a === p ? 210 : 0} 60% ${light}%)`; if (a === p) td.style.fontWeight = 'bold'; });
  });
  box.append(t);
}

let scheduled = false;
function schedule() { if (!scheduled) { scheduled = true; requestAnimationFrame(() => { scheduled = false; render(); }); } }

function connect() {
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`);
  ws.onmessage = (ev) => {
    const m = JSON.parse(ev.data);
    if (m.type === 'history') { state.steps = { x: [], loss: [], sps: [] }; state.epochs = []; state.evaluations = []; state.events = []; }
    apply(m); schedule();
  };
  ws.onclose = () => { if (state.state === 'running' || state.state === 'forming') { $('run-line').textContent += ' · disconnected, retrying…'; setTimeout(connect, 2000); } };
}
connect();
window.addEventListener('resize', () => { for (const [c, id] of [[lossChart, 'chart-loss'], [speedChart, 'chart-speed'], [epochChart, 'chart-epochs']]) c.setSize({ width: Math.max(300, $(id).clientWidth - 10), height: 220 }); });
window.gradmeshDashboard = state;
