/**
 * The graph's toolbar: the search box (Enter: next match, Shift+Enter: previous), what it
 * found, zoom out and in, fit, 100 %, expand all and collapse all.
 */
import { button, el } from './elements';

/** What the toolbar's controls do. */
export interface IToolbarActions {
  find(text: string, step: number): void;
  zoomBy(factor: number): void;
  fit(): void;
  reset(): void;
  expandAll(): void;
  collapseAll(): void;
}

/** The toolbar's element and the parts of it the view updates. */
export class Toolbar {
  constructor(actions: IToolbarActions) {
    this.search = el('input', 'nj-graph-search');
    this.search.type = 'search';
    this.search.placeholder = 'Find a task by id…';
    this.search.setAttribute('aria-label', 'Find a task by id');
    this.search.addEventListener('keydown', event => {
      if (event.key === 'Enter') {
        event.preventDefault();
        actions.find(this.search.value, event.shiftKey ? -1 : 1);
      }
    });
    this.found = el('span', 'nj-graph-found');
    this.expandAll = button(
      'Expand all',
      'nj-graph-expand-all',
      'Draw the tasks of every matrix group and action call',
      () => actions.expandAll()
    );
    this.collapseAll = button(
      'Collapse all',
      'nj-graph-collapse-all',
      'Draw every matrix group and action call as one node',
      () => actions.collapseAll()
    );
    this.node = el('div', 'nj-graph-toolbar');
    this.node.append(
      this.search,
      this.found,
      button('−', 'nj-graph-zoom-out', 'Zoom out (-)', () => actions.zoomBy(1 / 1.25)),
      button('+', 'nj-graph-zoom-in', 'Zoom in (+)', () => actions.zoomBy(1.25)),
      button('Fit', 'nj-graph-fit', 'Fit the whole graph in the view (f)', () => actions.fit()),
      button('1:1', 'nj-graph-reset', 'Reset: 100 % at the start of the graph (0)', () => actions.reset()),
      this.expandAll,
      this.collapseAll
    );
  }

  readonly node: HTMLDivElement;
  readonly search: HTMLInputElement;
  readonly found: HTMLSpanElement;
  readonly expandAll: HTMLButtonElement;
  readonly collapseAll: HTMLButtonElement;
}
