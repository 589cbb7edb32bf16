/**
 * The selection (a task or a collapsed group), carried from one structure to the next by id,
 * and what is highlighted with it: its node, its needs and its dependents.
 */
import { IDrawnGraph } from './drawn';
import { Scene } from './scene';
import { IGraphStructure } from './types';

/** What is selected: a task or a collapsed group (indexes into a structure). */
export type Selection = { task: number } | { group: number };

/** How a highlighted node relates to the selected one. */
export type Relation = 'need' | 'dependent';

/** The id of the selected task or group ('' for none). */
export function selectionId(structure: IGraphStructure | null, selection: Selection | null): string {
  if (!selection || !structure) {
    return '';
  }
  return 'task' in selection
    ? structure.ids[selection.task] ?? ''
    : structure.groups[selection.group]?.id ?? '';
}

/** A selection in `from`'s indexes as one in `to`'s (matched by id), or null if `to` lacks it. */
export function carrySelection(
  from: IGraphStructure,
  to: IGraphStructure,
  selection: Selection
): Selection | null {
  if (from === to) {
    return selection;
  }
  if ('task' in selection) {
    const i = to.ids.indexOf(from.ids[selection.task]);
    return i >= 0 ? { task: i } : null;
  }
  const id = from.groups[selection.group]?.id;
  const g = to.groups.findIndex(group => group.id === id);
  return g >= 0 ? { group: g } : null;
}

/** The node that draws the selection (its id, `id`) in a scene, or -1. */
export function nodeOfSelection(scene: Scene | null, selection: Selection | null, id: string): number {
  if (!selection || !scene) {
    return -1;
  }
  if ('task' in selection) {
    return scene.nodeOfTask(id);
  }
  const g = scene.shown.groups.findIndex(x => x.id === id);
  return g < 0 ? -1 : scene.drawn.ref.indexOf(-1 - g);
}

/** The nodes a node needs and the nodes that need it. */
export function neighbours(drawn: IDrawnGraph, node: number): Map<number, Relation> {
  const near = new Map<number, Relation>();
  if (node < 0) {
    return near;
  }
  const e = drawn.edges;
  for (let k = 0; k + 1 < e.length; k += 2) {
    if (e[k] === node) {
      near.set(e[k + 1], 'dependent');
    } else if (e[k + 1] === node) {
      near.set(e[k], 'need');
    }
  }
  return near;
}
