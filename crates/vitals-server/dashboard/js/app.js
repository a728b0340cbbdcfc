// app.js — the dashboard's entry point: logs in (a token exchanged for an HttpOnly session
// cookie, so the page never keeps it), loads the catalogue and the server's features, finds
// the data's extent (presets count back from its end), and renders the filter bar, the tabs
// and the current tab from the URL's state; Back/Forward and reloads restore the same view.

import { api, catalogue, features, query, ApiError } from './api.js';
import { h, replace, errorBox, loading } from './dom.js';
import { readState, writeState, toSearch, periodOf, grainOf, monthsOf } from './state.js';
import { renderFilters } from './filters.js';
import { TABS, cardKeys, compositionIds } from './tabs.js';
import { cards, chart, heat, breakdown, composition, slaList, slaNotConfigured } from './panels.js';
import { bucketOf } from './charts.js';
import { spikeDrivers } from './why.js';
import { filtersFor, splitKey } from './format.js';

const $ = (id) => document.getElementById(id);
let context = null;
let refreshTimer = null;
let rotateTimer = null;

function showLogin(message) {
  $('app').hidden = true;
  $('logout').hidden = true;
  replace($('who'));
  $('login').hidden = false;
  replace($('login-error'), message || '');
  $('token').focus();
}

async function login(event) {
  event.preventDefault();
  const token = $('token').value.trim();
  try {
    await api('/api/v1/session', { method: 'POST', body: { token } });
    $('token').value = '';
    await start();
  } catch (error) {
    showLogin(error instanceof ApiError && error.status === 401 ? 'That token is unknown, revoked or cannot read.' : error.message);
  }
}

async function logout() {
  await api('/api/v1/session', { method: 'DELETE' });
  showLogin('Logged out.');
}

async function extentOf(state) {
  const request = { metrics: ['ticket_volume'] };
  if (state.tz) request.timezone = state.tz;
  const answer = await query(request);
  const n = answer.results.reduce((sum, r) => sum + ((r.metrics.ticket_volume || {}).n || 0), 0);
  return { from: answer.query.from, to: answer.query.to, zone: answer.query.timezone, empty: n === 0 };
}

function emptyState() {
  return h('section', { class: 'empty-state', 'aria-labelledby': 'empty-title' },
    h('h2', { id: 'empty-title' }, 'No data yet'),
    h('p', {}, 'This store holds no tickets. Import a data set with the server stopped:'),
    h('pre', {}, 'vitals import DATA_DIR --db vitals.duckdb --tz Europe/Helsinki\nvitals import --from zendesk EXPORT_DIR --db vitals.duckdb'),
    h('p', {}, 'or push records to the running server (a token with the ingest scope):'),
    h('pre', {}, 'curl -H "Authorization: Bearer $TOKEN" --data-binary @tickets.ndjson \\\n  http://HOST/api/v1/records/tickets'),
    h('p', {}, 'To look around first, generate a demo organisation: ', h('code', {}, 'vitals demo'), ', then ', h('code', {}, 'vitals serve --db vitals-demo.duckdb --config vitals-demo.toml'), '.'));
}

function spikeMarks(payload) {
  return ((payload && payload.spikes) || []).map((s) => {
    const drivers = spikeDrivers(s);
    return {
      date: s.date,
      kind: 'spike',
      spike: s,
      report: payload,
      text: `${s.value ? s.value + ': ' : ''}${s.count} tickets, ${s.expected} usual for the weekday${drivers ? `; made by ${drivers}` : ''}`,
    };
  });
}

function noteMarks(payload, period) {
  return (Array.isArray(payload) ? payload : [])
    .filter((a) => (!period.from || a.date >= period.from) && (!period.to || a.date < period.to))
    .map((a) => ({ date: a.date, kind: 'note', id: a.id, text: a.category ? `${a.text} (${a.category})` : a.text }));
}

function anomalyMarks(payload) {
  return ((payload && payload.anomalies) || []).map((a) => ({
    date: a.date,
    kind: 'anomaly',
    text: `${a.value ? a.value + ': ' : ''}${a.metric} ${a.direction}${a.worse ? ' (worse)' : ''}, outside its usual band (n = ${a.n})`,
  }));
}

/** The filter bar fitted to a metric as repeated `filter=DIM=V1,V2` query parameters (the
 * API's and the CLI's form; a comma inside a value is written `\,`). */
function filterParams(ctx, id, params) {
  const { filters } = filtersFor(ctx.catalogue.get(id), ctx.state.filters);
  for (const f of filters) {
    params.append('filter', `${f.dimension}=${f.is.map((v) => v.replace(/,/g, '\\,')).join(',')}`);
  }
  return params;
}

/** The marks of a chart, when the server has them: on volume charts spikes (GET /api/v1/spikes,
 * split by a ticket dimension) and annotations in the period; on every chart the anomalies of
 * its metric (GET /api/v1/anomalies). Spikes and anomalies are asked with the filter bar's
 * filters that apply to the metric, so the marks are those of the series drawn. */
function marksLoader(ctx) {
  return async (by, key, volume) => {
    const out = [];
    const tries = [];
    const params = new URLSearchParams();
    if (by) params.set('by', by);
    if (ctx.period.from) params.set('from', ctx.period.from);
    if (ctx.period.to) params.set('to', ctx.period.to);
    if (ctx.state.tz) params.set('timezone', ctx.state.tz);
    if (volume && ctx.features.spikes) {
      const asked = filterParams(ctx, 'ticket_volume', new URLSearchParams(params));
      tries.push(api(`/api/v1/spikes?${asked}`).then((p) => out.push(...spikeMarks(p))));
    }
    if (volume && ctx.features.annotations) {
      tries.push(api('/api/v1/annotations').then((p) => out.push(...noteMarks(p, ctx.period))));
    }
    if (ctx.features.anomalies && key && !volume) {
      const asked = filterParams(ctx, splitKey(key).id, new URLSearchParams(params));
      asked.set('metrics', key);
      tries.push(api(`/api/v1/anomalies?${asked}`).then((p) => out.push(...anomalyMarks(p))));
    }
    await Promise.allSettled(tries);
    return out;
  };
}

/** A banner listing the alerts firing now (GET /api/v1/alerts), above the tab. */
function alertBanner(ctx) {
  if (!ctx.features.alerts) return null;
  const banner = h('div', { class: 'alerts-banner', role: 'status', hidden: true });
  api('/api/v1/alerts').then((report) => {
    const firing = (report.states || []).filter((s) => s.state === 'firing');
    if (!firing.length) return;
    replace(banner, h('strong', {}, `${firing.length} alert${firing.length > 1 ? 's' : ''} firing`),
      h('ul', {}, firing.map((s) => h('li', {}, `${s.rule} (${s.series}): ${s.summary}`))));
    banner.hidden = false;
  }).catch(() => {});
  return banner;
}

/** A form to add an annotation (shown to tokens that may write: ingest or admin). */
function noteForm(ctx) {
  if (!ctx.features.annotations || !ctx.canWrite) return null;
  const date = h('input', { type: 'date', name: 'note-date', required: true, value: ctx.period.from || '' });
  const text = h('input', { name: 'note-text', required: true, placeholder: 'What happened (e.g. a launch, an outage)', size: 36 });
  const message = h('span', { class: 'status', role: 'status' });
  const form = h('form', { class: 'note-form', 'aria-label': 'Add an annotation' },
    h('label', {}, 'Annotate a day ', date), ' ', text, ' ', h('button', { type: 'submit' }, 'Add'), ' ', message);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    api('/api/v1/annotations', { method: 'POST', body: { date: date.value, text: text.value } })
      .then(() => { replace(message, 'Added.'); render().catch(fail); })
      .catch((error) => replace(message, error.message));
  });
  return form;
}

function reportLinks(ctx) {
  if (!ctx.features.report) return null;
  const months = monthsOf(ctx.extent);
  if (!months.length) return null;
  const preferred = ctx.period.from ? bucketOf(ctx.period.from, 'time:month') : months[0];
  const select = h('select', { id: 'report-month' }, months.map((m) => h('option', { value: m, selected: m === preferred }, m)));
  const xlsx = h('a', { class: 'button', download: '' }, 'XLSX');
  const html = h('a', { class: 'button', download: '' }, 'HTML');
  const update = () => {
    xlsx.href = `/api/v1/report?month=${select.value}&format=xlsx`;
    html.href = `/api/v1/report?month=${select.value}&format=html`;
  };
  select.addEventListener('change', update);
  update();
  return h('div', { class: 'report' }, h('label', { for: 'report-month' }, 'Monthly report'), select, xlsx, html);
}

function renderTabs(ctx) {
  const nav = $('tabs');
  const buttons = TABS.map((tab) => h('button', {
    type: 'button', role: 'tab', id: `tab-${tab.id}`, 'aria-controls': 'main',
    'aria-selected': String(tab.id === ctx.tab.id), tabindex: tab.id === ctx.tab.id ? '0' : '-1',
    onclick: () => apply((s) => { s.tab = tab.id; }),
  }, tab.label));
  nav.onkeydown = (e) => {
    const i = buttons.indexOf(document.activeElement);
    if (i < 0 || !['ArrowLeft', 'ArrowRight', 'Home', 'End'].includes(e.key)) return;
    e.preventDefault();
    const next = e.key === 'Home' ? 0 : e.key === 'End' ? buttons.length - 1
      : (i + (e.key === 'ArrowRight' ? 1 : -1) + buttons.length) % buttons.length;
    buttons[next].focus();
  };
  replace(nav, buttons);
}

function renderTab(ctx) {
  const main = $('main');
  const tab = ctx.tab;
  const keys = cardKeys(tab, ctx.catalogue, ctx.state.bh);
  const marks = marksLoader(ctx);
  const zone = ctx.state.tz || ctx.zone;
  const compare = ctx.state.compare ? `, compared with the ${ctx.state.compare === 'yoy' ? 'same period a year earlier' : 'previous period'}` : '';
  const filters = Object.entries(ctx.state.filters).filter(([, v]) => v.length).map(([k, v]) => `${k} ${v.join('/')}`);
  main.setAttribute('aria-labelledby', `tab-${tab.id}`);
  const head = h('div', { class: 'tab-head' },
    h('h2', {}, tab.label),
    h('p', { class: 'scope', id: 'scope' },
      `${ctx.period.from || ctx.extent.from} – ${ctx.period.to || ctx.extent.to} (${zone})${compare}${ctx.state.bh ? ', business hours' : ''}${filters.length ? '; ' + filters.join('; ') : ''}`),
    reportLinks(ctx));
  if (tab.slaLists) {
    // Without SLA policies nothing is measured: the tab says so instead of empty panels.
    replace(main, head, h('div', { 'aria-busy': 'true' }, loading()));
    api('/api/v1/sla?state=breached').then((report) => {
      if (readState().tab !== tab.id) return;
      if (Array.isArray(report.policies) && !report.policies.length) replace(main, head, slaNotConfigured());
      else fillTab(ctx, head, keys, marks);
    }).catch(fail);
    return;
  }
  fillTab(ctx, head, keys, marks);
}

/** Fills the main area: the tab's head, its cards and its panels. */
function fillTab(ctx, head, keys, marks) {
  const main = $('main');
  const tab = ctx.tab;
  replace(main,
    alertBanner(ctx),
    head,
    tab.id === 'volume' ? noteForm(ctx) : null,
    h('section', { 'aria-label': 'Headline cards' }, cards(ctx, keys)),
    h('div', { class: 'panels' },
      (tab.charts || []).map((spec) => chart(ctx, spec, marks)),
      tab.heat ? heat(ctx, tab.heat) : null,
      (tab.tables || []).map((d) => breakdown(ctx, keys, d)),
      compositionIds(tab, ctx.catalogue, keys).map((id) => composition(ctx, id)),
      tab.slaLists ? [slaList(ctx, 'breached'), slaList(ctx, 'at_risk')] : null));
}

async function render() {
  const state = readState();
  const tab = TABS.find((t) => t.id === state.tab) || TABS[0];
  document.body.classList.toggle('wall', state.wall);
  if (!context.extent || context.extent.tz !== state.tz) {
    context.extent = { ...(await extentOf(state)), tz: state.tz };
  }
  if (context.extent.empty) {
    replace($('main'), emptyState());
    replace($('filters'));
    return;
  }
  const period = periodOf(state, context.extent);
  const ctx = { ...context, state, tab, period, grain: grainOf(period, context.extent), zone: context.extent.zone };
  renderFilters($('filters'), ctx, apply);
  renderTabs(ctx);
  renderTab(ctx);
  clearInterval(refreshTimer);
  clearTimeout(rotateTimer);
  if (state.wall) refreshTimer = setInterval(() => renderTab(ctx), 60000);
  if (state.wall && state.rotate > 0) rotateTimer = setTimeout(nextTab, state.rotate * 1000);
}

/** A wall display's rotation: the next tab, replacing the URL (no history entry per turn). */
function nextTab() {
  const state = readState();
  const at = TABS.findIndex((t) => t.id === state.tab);
  state.tab = TABS[(at + 1) % TABS.length].id;
  window.history.replaceState(null, '', window.location.pathname + toSearch(state));
  render().catch(fail);
}

/** Changes the state (through `mutate`), writes it into the URL and re-renders. */
function apply(mutate) {
  const state = readState();
  mutate(state);
  writeState(state);
  render().catch(fail);
}

function fail(error) {
  if (error instanceof ApiError && error.status === 401) showLogin('Your session has ended; log in again.');
  else replace($('main'), errorBox(error));
}

async function start() {
  let who;
  try {
    who = await api('/api/v1/session');
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return showLogin();
    throw error;
  }
  $('login').hidden = true;
  $('app').hidden = false;
  $('logout').hidden = false;
  replace($('who'), `Signed in with “${who.token}”`);
  replace($('main'), loading());
  const [metrics, offered] = await Promise.all([catalogue(), features()]);
  const scopes = who.scopes || [];
  context = { catalogue: metrics, features: offered, extent: null, canWrite: scopes.includes('ingest') || scopes.includes('admin') };
  await render();
}

$('login-form').addEventListener('submit', login);
$('logout').addEventListener('click', () => logout().catch(fail));
$('drill-close').addEventListener('click', () => $('drill').close());
window.addEventListener('popstate', () => { if (context) render().catch(fail); });
document.addEventListener('vitals:changed', () => { if (context) render().catch(fail); });
start().catch(fail);
