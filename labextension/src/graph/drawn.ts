/**
 * What is drawn for a graph structure and a set of collapsed groups: one node per task,
 * except that every task inside a collapsed group is drawn as the group's one node.
 */
import { summaryStatus } from './colors';
import { IGraphStructure } from './types';

/** The drawn graph: nodes (tasks or collapsed groups) and the edges between them. */
export interface IDrawnGraph {
  /** Changes with the structure and the collapsed groups (the layout's cache key). */
  key: string;
  count: number;
  /** What a node stands for: a task index (>= 0), or -1 - group index for a group. */
  ref: Int32Array;
  /** Drawn node of each task. */
  nodeOf: Int32Array;
  labels: string[];
  /** Flat pairs of node indexes. */
  edges: Int32Array;
  /** For a group's node, the tasks it holds; empty for a task. */
  members: number[][];
}

/** The index of a group from a node's `ref`, or -1 for a task. */
export function groupOf(ref: number): number {
  return ref < 0 ? -1 - ref : -1;
}

/**
 * The innermost group of each task (-1 for none); groups come outer first, so the last group
 * that holds a task is its innermost.
 */
export function innermostGroups(structure: IGraphStructure): Int32Array {
  const inner = new Int32Array(structure.ids.length).fill(-1);
  structure.groups.forEach((group, g) => {
    for (const m of group.members) {
      inner[m] = g;
    }
  });
  return inner;
}

/** Build the drawn graph; `collapsed` holds group indexes. */
export function buildDrawn(
  structure: IGraphStructure,
  collapsed: ReadonlySet<number>,
  inner: Int32Array = innermostGroups(structure)
): IDrawnGraph {
  const n = structure.ids.length;
  const nodeOf = new Int32Array(n);
  const ref: number[] = [];
  const labels: string[] = [];
  const members: number[][] = [];
  const groupNode = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    // the outermost collapsed group holding task i, if any
    let shown = -1;
    for (let g = inner[i]; g >= 0; g = structure.groups[g].parent) {
      if (collapsed.has(g)) {
        shown = g;
      }
    }
    if (shown < 0) {
      nodeOf[i] = ref.length;
      ref.push(i);
      labels.push(structure.ids[i].slice(structure.ids[i].lastIndexOf('.') + 1));
      members.push([]);
      continue;
    }
    let node = groupNode.get(shown);
    if (node === undefined) {
      node = ref.length;
      groupNode.set(shown, node);
      ref.push(-1 - shown);
      labels.push(structure.groups[shown].label);
      members.push([]);
    }
    members[node].push(i);
    nodeOf[i] = node;
  }
  const count = ref.length;
  const seen = new Set<number>();
  const edges: number[] = [];
  const e = structure.edges;
  for (let k = 0; k + 1 < e.length; k += 2) {
    const a = nodeOf[e[k]];
    const b = nodeOf[e[k + 1]];
    if (a !== b && !seen.has(a * count + b)) {
      seen.add(a * count + b);
      edges.push(a, b);
    }
  }
  const key = `${structure.key}:${[...collapsed].sort((x, y) => x - y).join(',')}`;
  return {
    key,
    count,
    ref: Int32Array.from(ref),
    nodeOf,
    labels,
    edges: Int32Array.from(edges),
    members
  };
}

/** Each drawn node's status: a task's own; a call's node status for a collapsed call; a
 * summary of the members for a collapsed matrix. */
export function drawnStatuses(
  drawn: IDrawnGraph,
  structure: IGraphStructure,
  statuses: readonly string[],
  callIndex: Map<number, number>
): string[] {
  const out: string[] = new Array(drawn.count);
  for (let node = 0; node < drawn.count; node++) {
    const r = drawn.ref[node];
    if (r >= 0) {
      out[node] = statuses[r] ?? 'unknown';
      continue;
    }
    const g = -1 - r;
    const call = callIndex.get(g);
    out[node] =
      call !== undefined
        ? statuses[call] ?? 'unknown'
        : summaryStatus(drawn.members[node].map(m => statuses[m]));
  }
  return out;
}

/** For call groups, the index of the call's own task (whose id is the group's id). */
export function callTasks(structure: IGraphStructure): Map<number, number> {
  const index = new Map<string, number>();
  structure.ids.forEach((id, i) => index.set(id, i));
  const out = new Map<number, number>();
  structure.groups.forEach((group, g) => {
    const i = index.get(group.id);
    if (group.kind !== 'matrix' && i !== undefined) {
      out.set(g, i);
    }
  });
  return out;
}

/** How many members of a drawn group node have each status. */
export function statusCounts(members: readonly number[], statuses: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of members) {
    const s = statuses[m] ?? 'unknown';
    counts.set(s, (counts.get(s) ?? 0) + 1);
  }
  return counts;
}
