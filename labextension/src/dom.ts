/**
 * Small DOM helpers shared by the sidebar and the notebook widgets (no JupyterLab imports, so
 * the widgets' bundle stays small).
 *
 * Every piece of text that comes from users or jobs is put in the DOM as text nodes, never as
 * HTML.
 */

import { STATUSES } from './graph/colors';

export { STATUSES };

export type Child = Node | string | null | undefined | false;

/** Build an element; string children become text nodes (so they are never parsed as HTML). */
export function h(
  tag: string,
  attrs: Record<string, string> = {},
  ...children: Child[]
): HTMLElement {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    node.setAttribute(name, value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) {
      continue;
    }
    node.appendChild(
      typeof child === 'string' ? document.createTextNode(child) : child
    );
  }
  return node;
}

/** A button that runs `action` on click (the click does not reach the row under it). */
export function button(
  label: string,
  attrs: Record<string, string>,
  action: () => void,
  disabled = false
): HTMLElement {
  const node = h('button', { class: 'jp-Button nj-button', ...attrs }, label);
  (node as HTMLButtonElement).disabled = disabled;
  node.addEventListener('click', event => {
    event.stopPropagation();
    action();
  });
  return node;
}

/** A small tag naming a backend other than the local one, with its label (the address) as a
 * tooltip; the server names and labels it (core parses the stored `ray@URL`). */
export function backendTag(
  name: string | null | undefined,
  label: string | null | undefined
): HTMLElement | null {
  if (!name || name === 'local') {
    return null;
  }
  return h('span', { class: 'nj-backend', title: label ?? name }, name);
}

/** A status badge in Neu.ro's colour for the status. */
export function badge(status: string): HTMLElement {
  const known = STATUSES.includes(status) ? status : 'unknown';
  return h(
    'span',
    { class: `nj-badge nj-status-${known}`, 'data-status': known },
    status || 'unknown'
  );
}

/** A date and time from epoch seconds, '—' for none. */
export function when(seconds: number | null | undefined): string {
  return seconds ? new Date(seconds * 1000).toLocaleString() : '—';
}

/** How long ago, briefly (`now`, `12 s ago`, `5 min ago`, `3 h ago`), else the date. */
export function ago(seconds: number | null | undefined, now = Date.now()): string {
  if (!seconds) {
    return '';
  }
  const delta = Math.max(0, now / 1000 - seconds);
  if (delta < 1) {
    return 'now';
  }
  if (delta < 60) {
    return `${Math.floor(delta)} s ago`;
  }
  if (delta < 3600) {
    return `${Math.floor(delta / 60)} min ago`;
  }
  if (delta < 86400) {
    return `${Math.floor(delta / 3600)} h ago`;
  }
  return new Date(seconds * 1000).toLocaleDateString();
}

/** `train` or `multitrain sfx`: how every front end names a job (neuro-flow's JOB). */
export function jobLabel(jobId: string, suffix: string): string {
  return suffix ? `${jobId} ${suffix}` : jobId;
}

/**
 * Run `render` (which replaces the children of `root`) and give the focus back to the input
 * that had it, found again by its `data-focus` attribute, with its caret: views re-render
 * while the user types into a form.
 */
export function keepFocus(root: HTMLElement, render: () => void): void {
  const active = document.activeElement as HTMLInputElement | null;
  const id = active && root.contains(active) ? active.getAttribute('data-focus') : null;
  const start = id ? active!.selectionStart : null;
  const end = id ? active!.selectionEnd : null;
  render();
  if (!id) {
    return;
  }
  const again = root.querySelector(`[data-focus="${CSS.escape(id)}"]`) as HTMLInputElement | null;
  if (again) {
    again.focus();
    if (start !== null && end !== null) {
      again.setSelectionRange(start, end);
    }
  }
}
