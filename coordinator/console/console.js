// console.js - the operators' console: reads the admin API's JSON routes and draws them; the
// actions (retry, cancel, pause, resume) are the API's own POST routes. Everything a partner
// named (sites, files, error lines) is put in the page as text, never as markup. Charts are
// inline SVG drawn here; nothing is loaded from anywhere but this server.
'use strict';

const state = { tab: 'status', job: null, site: null, timer: null };
const SVG = 'http://www.w3.org/2000/svg';

// ---- the API ---------------------------------------------------------------------------------

function token() { return sessionStorage.getItem('bizoope-token') || ''; }

async function api(path, method) {
  const headers = {};
  const init = { method: method || 'GET', headers, cache: 'no-store' };
  if (token()) headers.Authorization = 'Bearer ' + token();
  if (init.method === 'POST') {
    // Cross-site pages cannot send this content type (or the token) without a preflight this
    // API never grants: the API refuses a POST that has neither (its CSRF rule).
    headers['Content-Type'] = 'application/json';
    init.body = '{}';
  }
  const res = await fetch(path, init);
  if (res.status === 401) {
    document.getElementById('login').hidden = false;
    throw new Error('the admin token is needed');
  }
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error || ('HTTP ' + res.status));
  return body;
}

function problem(err) {
  const p = document.getElementById('problem');
  p.hidden = !err;
  p.textContent = err ? String(err.message || err) : '';
}

// ---- small DOM helpers -----------------------------------------------------------------------

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function row(cells, numeric) {
  const tr = el('tr');
  cells.forEach((c, i) => {
    const td = c instanceof Node ? el('td') : el('td', c);
    if (c instanceof Node) td.appendChild(c);
    if (numeric && numeric.includes(i)) td.className = 'num';
    tr.appendChild(td);
  });
  return tr;
}

function fill(tableId, rows) {
  const body = document.querySelector('#' + tableId + ' tbody');
  body.replaceChildren(...rows);
}

function num(x) { return x === null || x === undefined ? '' : Number(x).toLocaleString('en'); }
function secs(x) { return x === null || x === undefined ? '' : Number(x).toFixed(2); }

// ---- charts ----------------------------------------------------------------------------------

function svg(tag, attrs) {
  const e = document.createElementNS(SVG, tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  return e;
}

// points: [{x: label, y: number|null}], drawn as a line with a dot per point that has a value
// (kind 'line') or as bars (kind 'bars'); limit: a dashed horizontal line (the threshold).
function chart(container, points, kind, limit) {
  const W = 420, H = 160, L = 44, B = 22, T = 8, R = 8;
  const values = points.map(p => p.y).filter(y => y !== null && y !== undefined);
  let top = Math.max(1e-9, limit || 0, ...values);
  top = top * 1.1;
  const g = svg('svg', { width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: 'img',
                         class: 'chart ' + kind });
  const slot = (W - L - R) / Math.max(points.length, 1);
  const x = kind === 'bars' ? i => L + slot * (i + 0.5)
                            : i => L + (points.length <= 1 ? (W - L - R) / 2
                                                           : i * (W - L - R) / (points.length - 1));
  const y = v => H - B - (v / top) * (H - B - T);
  g.appendChild(svg('line', { x1: L, y1: H - B, x2: W - R, y2: H - B, class: 'axis' }));
  g.appendChild(svg('line', { x1: L, y1: T, x2: L, y2: H - B, class: 'axis' }));
  const label = (text, px, py, anchor) => {
    const t = svg('text', { x: px, y: py, 'text-anchor': anchor || 'middle' });
    t.textContent = text;
    g.appendChild(t);
  };
  label(fmtAxis(top / 1.1), L - 4, y(top / 1.1) + 3, 'end');
  label('0', L - 4, H - B + 3, 'end');
  if (points.length && points.length <= 8) { // few: each is named
    points.forEach((p, i) => label(p.x, x(i), H - 6));
  } else if (points.length) {
    label(points[0].x, x(0), H - 6, 'start');
    label(points[points.length - 1].x, x(points.length - 1), H - 6, 'end');
  }
  if (kind === 'bars') {
    const w = Math.max(2, Math.min(slot - 2, 48));
    points.forEach((p, i) => {
      if (p.y === null || p.y === undefined) return;
      const r = svg('rect', { x: x(i) - w / 2, y: y(p.y), width: w, height: H - B - y(p.y),
                              class: 'bar', 'data-x': p.x });
      const tip = svg('title', {});
      tip.textContent = p.x + ': ' + num(p.y);
      r.appendChild(tip);
      g.appendChild(r);
    });
  } else {
    const drawn = points.map((p, i) => [p, i]).filter(([p]) => p.y !== null && p.y !== undefined);
    if (drawn.length > 1) {
      g.appendChild(svg('polyline', { class: 'line',
        points: drawn.map(([p, i]) => x(i) + ',' + y(p.y)).join(' ') }));
    }
    if (drawn.length <= 120) drawn.forEach(([p, i]) => { // a dot per point, while they fit
      const over = limit !== undefined && limit !== null && p.y > limit;
      const c = svg('circle', { cx: x(i), cy: y(p.y), r: 3, class: over ? 'point over' : 'point',
                                'data-x': p.x });
      const tip = svg('title', {});
      tip.textContent = p.x + ': ' + fmtAxis(p.y);
      c.appendChild(tip);
      g.appendChild(c);
    });
  }
  if (limit !== undefined && limit !== null) {
    g.appendChild(svg('line', { x1: L, y1: y(limit), x2: W - R, y2: y(limit), class: 'limit' }));
    label('limit ' + fmtAxis(limit), W - R, y(limit) - 3, 'end');
  }
  container.replaceChildren(g);
}

function fmtAxis(v) {
  if (v >= 1e6) return (v / 1e6).toFixed(1) + 'M';
  if (v >= 1e3) return (v / 1e3).toFixed(1) + 'k';
  return String(Math.round(v * 100) / 100);
}

// The last `days` UTC days, oldest first, as YYYY-MM-DD.
function lastDays(days) {
  const out = [];
  const now = Date.now();
  for (let i = days - 1; i >= 0; i--) out.push(new Date(now - i * 86400000).toISOString().slice(0, 10));
  return out;
}

// ---- status ----------------------------------------------------------------------------------

async function showStatus() {
  const s = await api('/v1/status');
  const cards = [
    ['files in flight', s.files_in_flight.length], ['queued files', s.queued],
    ['shard backlog', s.backlog], ['lines/s', Math.round(s.lines_per_second)],
    ['MB/s', (s.bytes_per_second / 1e6).toFixed(1)], ['workers', s.workers.length],
    ['paused sites', (s.paused_sites || []).length],
  ];
  document.getElementById('cards').replaceChildren(...cards.map(([k, v]) => {
    const c = el('div', null, 'card');
    c.appendChild(el('b', v));
    c.appendChild(el('span', k, 'muted'));
    return c;
  }));
  fill('flight', s.files_in_flight.map(f => {
    const bar = el('div', null, 'progress');
    const fillBar = el('span');
    fillBar.style.width = (f.bytes ? Math.min(100, 100 * f.bytes_done / f.bytes) : 0) + '%';
    bar.appendChild(fillBar);
    return row([f.job_id, f.site, f.file, f.phase, bar, secs(f.seconds)], [5]);
  }));
  fill('workers', s.workers.map(w => row([w.id, num(w.shards), secs(w.last_seen_seconds_ago) + ' s ago'], [1])));
  try {
    const h = await api('/v1/series?points=288'); // one per 5 min of a day at most
    const pts = k => h.samples.map(p => ({ x: p.at.slice(11, 16), y: p[k] }));
    chart(document.getElementById('chart-backlog'), pts('backlog'), 'line');
    chart(document.getElementById('chart-throughput'), pts('lines_per_second'), 'line');
  } catch (e) { /* a process without samples: no chart */ }
}

// ---- jobs ------------------------------------------------------------------------------------

async function showJobs() {
  const f = document.getElementById('job-filter');
  const q = new URLSearchParams();
  for (const k of ['site', 'status', 'table', 'since']) if (f.elements[k].value) q.set(k, f.elements[k].value);
  q.set('limit', '200');
  const r = await api('/v1/jobs?' + q);
  fill('job-list', r.jobs.map(j => {
    const tr = row([j.job_id, j.site, j.file, j.table, j.status, num(j.lines), num(j.loaded),
                    num(j.rejected_invalid + j.rejected_duplicate), secs(j.seconds)], [5, 6, 7, 8]);
    tr.className = 'pick';
    tr.dataset.job = j.job_id;
    tr.addEventListener('click', () => { state.job = j.job_id; showJob().catch(problem); });
    return tr;
  }));
  if (state.job) await showJob();
}

async function showJob() {
  const j = await api('/v1/jobs/' + encodeURIComponent(state.job) + '?error_lines=20');
  document.getElementById('job-detail').hidden = false;
  document.getElementById('job-title').textContent = j.job_id + ' (' + j.status + ')';
  const fields = ['site', 'file', 'table', 'status', 'lines', 'loaded', 'rejected_invalid',
    'rejected_duplicate', 'merge_inserted', 'merge_updated', 'merge_skipped_older', 'bytes',
    'attempts', 'merged_at', 'updated_at', 'error', 'error_file'];
  const dl = document.getElementById('job-fields');
  dl.replaceChildren();
  for (const k of fields) {
    if (j[k] === null || j[k] === undefined || j[k] === '') continue;
    dl.appendChild(el('dt', k));
    dl.appendChild(el('dd', j[k]));
  }
  const timings = [['processing', j.processing_seconds], ['waiting', j.waiting_seconds],
    ['shards', j.shards_seconds], ['error file', j.errors_seconds], ['merge', j.merge_seconds],
    ['total', j.seconds]];
  chart(document.getElementById('job-timings'),
        timings.map(([k, v]) => ({ x: k, y: v || 0 })), 'bars');
  const lines = j.error_lines;
  document.getElementById('job-errors').textContent =
    lines === null || lines === undefined ? '(no error file)' :
    lines.length ? lines.join('\n') : '(empty: no line was rejected)';
  if (j.in_flight) document.getElementById('job-said').textContent = 'in flight: ' + j.in_flight.phase;
}

async function jobAction(action) {
  const said = document.getElementById('job-said');
  said.textContent = '';
  try {
    await api('/v1/jobs/' + encodeURIComponent(state.job) + '/' + action, 'POST');
    said.textContent = action === 'retry' ? 'queued again' : 'cancelled';
    await showJobs();
  } catch (e) { said.textContent = action + ' refused: ' + e.message; }
}

// ---- sites -----------------------------------------------------------------------------------

async function showSites() {
  const r = await api('/v1/sites');
  const pick = document.getElementById('site-pick');
  if (!pick.options.length) {
    r.sites.forEach(s => pick.appendChild(el('option', s.site)));
    const jobSite = document.querySelector('#job-filter select[name=site]');
    r.sites.forEach(s => jobSite.appendChild(el('option', s.site)));
  }
  fill('site-list', r.sites.map(s => {
    const b = el('button', s.paused ? 'Resume' : 'Pause');
    b.type = 'button';
    b.dataset.site = s.site;
    b.addEventListener('click', async () => {
      try { await api('/v1/sites/' + encodeURIComponent(s.site) + (s.paused ? '/resume' : '/pause'), 'POST');
            await showSites(); } catch (e) { problem(e); }
    });
    const jobs = Object.entries(s.jobs || {}).filter(([, n]) => n).map(([k, n]) => k + ' ' + n).join(', ');
    return row([s.site, s.paused ? 'paused' : 'open', num(s.inbox_files), jobs, b], [2]);
  }));
  if (pick.value) await showSiteDays(pick.value);
}

async function showSiteDays(site) {
  const r = await api('/v1/sites/' + encodeURIComponent(site) + '/days?days=30');
  const byDay = new Map(r.per_day.map(d => [d.day, d]));
  const days = lastDays(30);
  const at = k => days.map(d => ({ x: d.slice(5), y: byDay.has(d) ? byDay.get(d)[k] : null }));
  chart(document.getElementById('chart-files'), at('files'), 'bars');
  chart(document.getElementById('chart-lines'), at('lines'), 'line');
  chart(document.getElementById('chart-rejects'),
        days.map(d => ({ x: d.slice(5), y: byDay.has(d) && byDay.get(d).reject_rate !== null
                                              ? 100 * byDay.get(d).reject_rate : null })),
        'line', r.reject_rate_threshold_percent || null);
}

// ---- batches --------------------------------------------------------------------------------

async function showBatches() {
  const r = await api('/v1/batches');
  document.getElementById('batch-schedule').textContent = r.schedule ? '"' + r.schedule + '"' : 'off';
  fill('batch-list', r.steps.map(s => {
    const shown = s.missing_periods.slice(0, 6).join(', ');
    const more = s.missing > 6 ? ' and ' + (s.missing - 6) + ' more' : '';
    const tr = row([s.workflow + '.' + s.step, s.period, num(s.built),
                    s.built ? s.first_built + ' .. ' + s.last_built : '',
                    s.last_built_at || '', num(s.missing), shown + more], [2, 5]);
    tr.dataset.step = s.workflow + '.' + s.step;
    if (s.missing) tr.className = 'behind';
    return tr;
  }));
}

// ---- settings --------------------------------------------------------------------------------

async function showSettings() {
  const r = await api('/v1/settings');
  fill('setting-list', Object.entries(r.settings).map(([k, v]) =>
    row([k, typeof v === 'object' ? JSON.stringify(v) : v])));
}

// ---- the page --------------------------------------------------------------------------------

const shows = { status: showStatus, jobs: showJobs, sites: showSites, batches: showBatches,
                settings: showSettings };

async function refresh() {
  try {
    if (state.tab !== 'sites') await showSites().catch(() => {}); // fills the site pickers
    await shows[state.tab]();
    problem(null);
    document.getElementById('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
  } catch (e) { problem(e); }
}

function pickTab(tab) {
  state.tab = tab;
  document.querySelectorAll('nav button').forEach(b => b.classList.toggle('on', b.dataset.tab === tab));
  document.querySelectorAll('section.tab').forEach(s => { s.hidden = s.id !== tab; });
  refresh();
}

document.addEventListener('DOMContentLoaded', () => {
  document.querySelectorAll('nav button').forEach(b => b.addEventListener('click', () => pickTab(b.dataset.tab)));
  document.getElementById('job-filter').addEventListener('submit', e => { e.preventDefault(); refresh(); });
  document.getElementById('job-retry').addEventListener('click', () => jobAction('retry'));
  document.getElementById('job-cancel').addEventListener('click', () => jobAction('cancel'));
  document.getElementById('site-pick').addEventListener('change', e => showSiteDays(e.target.value).catch(problem));
  document.getElementById('login').addEventListener('submit', e => {
    e.preventDefault();
    sessionStorage.setItem('bizoope-token', document.getElementById('token').value);
    document.getElementById('login').hidden = true;
    refresh();
  });
  const wanted = location.hash.slice(1);
  pickTab(shows[wanted] ? wanted : 'status');
  state.timer = setInterval(() => { if (state.tab === 'status') refresh(); }, 5000);
});
