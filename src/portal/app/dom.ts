/**
 * A few render helpers over the DOM: elements are built with createElement and text nodes, never from
 * HTML strings, so record contents cannot inject markup (and the CSP forbids inline script anyway).
 */
type Child = Node | string | number | false | null | undefined | readonly Child[];
type Attrs = Record<string, string | number | boolean | undefined | ((event: Event) => void)>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') el.addEventListener(name.slice(2).toLowerCase(), value);
    else if (value === true) el.setAttribute(name, '');
    else el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

export function append(parent: Node, children: readonly Child[]): void {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else
      parent.appendChild(
        typeof child === 'object' ? (child as Node) : document.createTextNode(String(child)),
      );
  }
}

const SVG_NS = 'http://www.w3.org/2000/svg';

export function svg(
  tag: string,
  attrs: Record<string, string | number> = {},
  ...children: Child[]
): SVGElement {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value));
  append(el, children);
  return el;
}

/** Replaces the children of `parent`. */
export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

/** Announces a message to screen readers through the page's polite live region. */
export function announce(message: string): void {
  const live = document.getElementById('live');
  if (live !== null) {
    live.textContent = '';
    // A fresh text node is announced even when the same message repeats.
    live.textContent = message;
  }
}

let fieldCounter = 0;
/** A unique id for label/input pairs. */
export function uid(prefix: string): string {
  fieldCounter += 1;
  return `${prefix}-${fieldCounter}`;
}

/** A labelled form field: `<label for>` + input (or select/textarea), with an optional hint. */
export function field(
  label: string,
  control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement,
  hint?: string,
): HTMLDivElement {
  if (control.id === '') control.id = uid('f');
  const hintEl = hint === undefined ? undefined : h('p', { class: 'hint', id: `${control.id}-hint` }, hint);
  if (hintEl !== undefined) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: control.id }, label), control, hintEl);
}

export { formatDate, formatDateTime } from './date-words.js';

/** Offers bytes as a file download (a Blob URL, allowed by the CSP's img/default rules for navigation). */
export function download(name: string, content: string, type: string): void {
  const url = URL.createObjectURL(new Blob([content], { type }));
  const a = h('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A status message block: role=status for progress, role=alert for errors. */
export function message(kind: 'info' | 'ok' | 'error', ...children: Child[]): HTMLDivElement {
  return h('div', { class: `msg msg-${kind}`, role: kind === 'error' ? 'alert' : 'status' }, ...children);
}
