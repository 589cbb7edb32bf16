/**
 * Which groups (matrix groups, action and module calls) are drawn collapsed: carried from one
 * structure to the next by id, collapsed from the start in large graphs, opened to reveal a
 * task.
 */
import { IGraphStructure } from './types';

/** Groups start collapsed when a graph has more tasks than this. */
export const COLLAPSE_ABOVE = 300;

/** The collapsed groups of a new structure: those collapsed in the old one (by id), and, in
 * a graph of more than COLLAPSE_ABOVE tasks, every group that is new. */
export function carryCollapsed(
  old: IGraphStructure | null,
  collapsed: ReadonlySet<number>,
  structure: IGraphStructure
): Set<number> {
  const wasCollapsed = new Set([...collapsed].map(g => old?.groups[g]?.id));
  const seen = new Set(old?.groups.map(g => g.id) ?? []);
  const many = structure.ids.length > COLLAPSE_ABOVE;
  const out = new Set<number>();
  structure.groups.forEach((group, g) => {
    if (wasCollapsed.has(group.id) || (!seen.has(group.id) && many)) {
      out.add(g);
    }
  });
  return out;
}

/** Open every collapsed group that hides a task (`inner`: each task's innermost group);
 * whether any was collapsed. */
export function openAround(
  structure: IGraphStructure,
  inner: Int32Array,
  task: number,
  collapsed: Set<number>
): boolean {
  let changed = false;
  for (let g = inner[task]; g >= 0; g = structure.groups[g].parent) {
    changed = collapsed.delete(g) || changed;
  }
  return changed;
}
