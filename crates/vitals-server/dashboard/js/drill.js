// drill.js — the records behind a number and the ticket behind a record, in one modal
// dialog: drill-down asks the query endpoint for one metric's records in one result cell
// (`"records": true`, paged; their count is the cell's n), and a ticket opens its record,
// facts, timeline, replies and SLA targets (GET /api/v1/tickets/{id}). The dialog is also
// where "Why did it move?" shows its breakdown (why.js): `showDialog` is shared.

import { api, query } from './api.js';
import { h, replace, loading, errorBox } from './dom.js';
import { formatValue, unitOf, localTime, zoneOf } from './format.js';
import { ticketView } from './ticket.js';

const PAGE_SIZE = 50;

function dialog() {
  return document.getElementById('drill');
}

/** Shows `body` in the dialog under `title`, with a Back button when `back` is given. */
export function showDialog(title, body, back) {
  const d = dialog();
  replace(d.querySelector('#drill-title'), title);
  const backButton = d.querySelector('#drill-back');
  backButton.hidden = !back;
  backButton.onclick = back || null;
  replace(d.querySelector('#drill-body'), body);
  if (!d.open) d.showModal();
}

/**
 * Opens the records behind `request` (one metric) in `cell`, at a page; `back` returns to
 * where it was opened from, `why` (when the number can be explained) opens its breakdown.
 */
export function openDrill(ctx, request, cell, title, { page = 1, back = null, why = null } = {}) {
  const body = h('div', { 'aria-busy': 'true' }, loading('Loading records…'));
  showDialog(title, body, back);
  const at = (p) => () => openDrill(ctx, request, cell, title, { page: p, back, why });
  const key = request.metrics[0];
  const unit = unitOf(ctx.catalogue, key);
  const ask = { ...request, records: true, page, page_size: PAGE_SIZE };
  if (request.by && request.by.length) ask.cell = cell;
  query(ask).then((answer) => {
    const pages = Math.max(1, Math.ceil(answer.n / answer.page_size));
    const again = at(page);
    const rows = answer.records.map((r) => h('tr', {},
      h('td', {}, r.id),
      h('td', {}, r.kind),
      h('td', {}, r.ticket_id
        ? h('button', { type: 'button', class: 'link', onclick: () => openTicket(ctx, r.ticket_id, again) }, r.ticket_id)
        : ''),
      h('td', {}, localTime(r.at, zoneOf(ctx))),
      h('td', { class: 'num' }, r.value === null || r.value === undefined ? '' : formatValue(unit === 'percent' ? 'score' : unit, r.value)),
      h('td', {}, r.counted === false ? 'no' : 'yes')));
    const nav = h('nav', { class: 'pager', 'aria-label': 'Pages' },
      h('button', { type: 'button', disabled: page <= 1, onclick: at(page - 1) }, '← Previous'),
      h('span', {}, `Page ${page} of ${pages}`),
      h('button', { type: 'button', disabled: page >= pages, onclick: at(page + 1) }, 'Next →'));
    replace(body,
      why ? h('p', {}, h('button', { type: 'button', class: 'why', onclick: why }, 'Why did it move?')) : null,
      h('p', { class: 'drill-n', dataset: { n: answer.n } }, `n = ${answer.n} records (the number's sample).`),
      h('div', { class: 'table-wrap' }, h('table', { class: 'data records' },
        h('thead', {}, h('tr', {}, ['Record', 'Kind', 'Ticket', `At (${zoneOf(ctx)})`, 'Value', 'Counted'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, rows))),
      nav);
  }).catch((error) => replace(body, error.code === 'drill_down_unsupported'
    ? h('p', { class: 'status', role: 'status' }, `This number is not a count over records that can be listed: ${error.message}`)
    : errorBox(error)))
    .finally(() => body.setAttribute('aria-busy', 'false'));
}

/** Opens one ticket: what it contributes to each metric, its record, timeline, replies, resolved spans and SLA targets. */
export function openTicket(ctx, id, back) {
  const body = h('div', { 'aria-busy': 'true' }, loading('Loading the ticket…'));
  showDialog(`Ticket ${id}`, body, back);
  api(`/api/v1/tickets/${encodeURIComponent(id)}`).then((t) => replace(body, ticketView(ctx, t)))
    .catch((error) => replace(body, errorBox(error)))
    .finally(() => body.setAttribute('aria-busy', 'false'));
}
