// dom.js — tiny DOM helpers shared by every module of the dashboard: element creation
// without innerHTML (so no markup is ever built from data) and status messages.

/** Creates an element: h('button', {class: 'x', onclick: fn}, 'text', child…). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'class') {
      el.className = value;
    } else if (key === 'dataset') {
      Object.assign(el.dataset, value);
    } else if (value === true) {
      el.setAttribute(key, '');
    } else {
      el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's children. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A loading placeholder (announced to screen readers through aria-busy on its panel). */
export function loading(text = 'Loading…') {
  return h('p', { class: 'status loading', role: 'status' }, text);
}

/** An error box for an API error or any exception. */
export function errorBox(error) {
  const suggestions = error && error.suggestions && error.suggestions.length
    ? h('p', {}, 'Did you mean: ', error.suggestions.join(', '), '?')
    : null;
  return h('div', { class: 'status error', role: 'alert' },
    h('strong', {}, 'Could not load: '),
    (error && error.message) || String(error),
    suggestions);
}
