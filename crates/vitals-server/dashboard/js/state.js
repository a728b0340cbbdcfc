// state.js — the dashboard's whole view state, kept in the URL's query string so any view
// can be shared and reloaded: tab, period preset (or custom dates), comparison, time zone,
// business hours, one filter per dimension name, wall-display mode and its tab rotation
// (seconds per tab; 0: off). Also turns a period
// preset into dates, anchored at the end of the data (not the wall clock), and picks the
// time grain of charts from the period's length.

/** The filter bar's dimensions, by name; each applies to every `entity:NAME` dimension. */
export const FILTERS = ['channel', 'category', 'priority', 'team', 'agent', 'tier', 'queue', 'survey'];

/** Period presets: id → label. */
export const PRESETS = [
  ['7d', 'Last 7 days'],
  ['30d', 'Last 30 days'],
  ['month', 'Latest month'],
  ['prev_month', 'Month before'],
  ['3m', 'Last 3 months'],
  ['12m', 'Last 12 months'],
  ['all', 'All data'],
  ['custom', 'Custom'],
];

const DEFAULTS = { tab: 'overview', period: 'month', from: '', to: '', compare: '', tz: '', bh: false, wall: false, rotate: 0 };

/** Tab rotation choices on a wall display: seconds → label. */
export const ROTATIONS = [[0, 'Off'], [30, 'Every 30 s'], [60, 'Every minute'], [120, 'Every 2 minutes'], [300, 'Every 5 minutes']];

/** Reads the state from the URL. */
export function readState(search = window.location.search) {
  const params = new URLSearchParams(search);
  const state = { ...DEFAULTS, filters: {} };
  for (const key of ['tab', 'period', 'from', 'to', 'compare', 'tz']) {
    if (params.has(key)) state[key] = params.get(key);
  }
  state.bh = params.get('bh') === '1';
  state.wall = params.get('wall') === '1';
  const rotate = Number.parseInt(params.get('rotate') || '0', 10);
  state.rotate = Number.isFinite(rotate) && rotate > 0 ? rotate : 0;
  for (const name of FILTERS) {
    const value = params.get('f.' + name);
    if (value) state.filters[name] = value.split(',').map(decodeURIComponent).filter(Boolean);
  }
  return state;
}

/** The query string of a state (defaults left out, so URLs stay short). */
export function toSearch(state) {
  const params = new URLSearchParams();
  for (const key of ['tab', 'period', 'compare', 'tz']) {
    if (state[key] && state[key] !== DEFAULTS[key]) params.set(key, state[key]);
  }
  if (state.period === 'custom') {
    if (state.from) params.set('from', state.from);
    if (state.to) params.set('to', state.to);
  }
  if (state.bh) params.set('bh', '1');
  if (state.wall) params.set('wall', '1');
  if (state.wall && state.rotate > 0) params.set('rotate', String(state.rotate));
  for (const name of FILTERS) {
    const values = state.filters[name];
    if (values && values.length) params.set('f.' + name, values.map(encodeURIComponent).join(','));
  }
  const text = params.toString();
  return text ? '?' + text : '';
}

/** Writes the state into the URL (a new history entry, so Back undoes a change). */
export function writeState(state) {
  const search = toSearch(state);
  if (search !== window.location.search) {
    window.history.pushState(null, '', window.location.pathname + search);
  }
}

// Dates are 'YYYY-MM-DD' strings in the query's zone; arithmetic is done on UTC dates.
function parse(date) {
  const [y, m, d] = date.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d));
}
function print(date) {
  return date.toISOString().slice(0, 10);
}
/** A local date ('YYYY-MM-DD') moved by whole days. */
export function addDays(date, days) {
  const d = parse(date);
  d.setUTCDate(d.getUTCDate() + days);
  return print(d);
}
/** The first day of the month `offset` months from the month of `date`. */
export function monthStart(date, offset = 0) {
  const d = parse(date);
  return print(new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + offset, 1)));
}

/**
 * The period { from, to } (to exclusive) of a state, given the data's extent { from, to };
 * empty strings leave the period to the server (the whole data).
 */
export function periodOf(state, extent) {
  if (state.period === 'custom') return { from: state.from, to: state.to };
  if (!extent || !extent.to) return { from: '', to: '' };
  const end = extent.to;
  const last = addDays(end, -1);
  switch (state.period) {
    case '7d': return { from: addDays(end, -7), to: end };
    case '30d': return { from: addDays(end, -30), to: end };
    case 'month': return { from: monthStart(last), to: end };
    case 'prev_month': return { from: monthStart(last, -1), to: monthStart(last) };
    case '3m': return { from: monthStart(last, -2), to: end };
    case '12m': return { from: monthStart(last, -11), to: end };
    default: return { from: '', to: '' };
  }
}

/** The time grain for charts over a period: days up to two months, weeks up to eight, else months. */
export function grainOf(period, extent) {
  const from = period.from || (extent && extent.from);
  const to = period.to || (extent && extent.to);
  if (!from || !to) return 'time:month';
  const days = (parse(to) - parse(from)) / 86400000;
  if (days <= 62) return 'time:day';
  if (days <= 240) return 'time:week';
  return 'time:month';
}

/** The months ('YYYY-MM') a period covers, newest first (for the report download). */
export function monthsOf(extent) {
  if (!extent || !extent.from || !extent.to) return [];
  const months = [];
  let m = monthStart(addDays(extent.to, -1));
  while (m >= monthStart(extent.from) && months.length < 36) {
    months.push(m.slice(0, 7));
    m = monthStart(m, -1);
  }
  return months;
}
