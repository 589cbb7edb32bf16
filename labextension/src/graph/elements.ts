/**
 * Element helpers of the graph component (text always as text, never as HTML).
 */

/** An element with a class, and text if given. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  cls: string,
  text?: string
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.className = cls;
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

/** A button of the graph's look that runs `action` (the click goes no further). */
export function button(label: string, cls: string, title: string, action: () => void): HTMLButtonElement {
  const node = el('button', `nj-graph-button ${cls}`, label);
  node.type = 'button';
  node.title = title;
  node.addEventListener('click', event => {
    event.stopPropagation();
    action();
  });
  return node;
}
