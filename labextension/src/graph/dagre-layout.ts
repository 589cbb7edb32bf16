/**
 * A drawn graph laid out by dagre: node centres and edge routes as typed arrays (sent from
 * the layout worker without copying).
 */
import dagre from '@dagrejs/dagre';

/** What to lay out: node sizes and edges (flat pairs of node indexes). */
export interface ILayoutRequest {
  id: number;
  direction: 'LR' | 'TB';
  widths: Float64Array;
  heights: Float64Array;
  edges: Int32Array;
}

/** Where everything goes: node centres, the graph's size, and each edge's route. */
export interface ILayoutResult {
  id: number;
  x: Float64Array;
  y: Float64Array;
  width: number;
  height: number;
  /** x, y pairs of all edges' routes; edge k's are from pointStart[k] to pointStart[k+1]. */
  points: Float64Array;
  pointStart: Int32Array;
  millis: number;
}

/** Above this many nodes dagre's cheaper ranking and ordering are used (10x faster at 1,000
 * nodes: bench/README.md). */
export const BIG_GRAPH = 300;

/**
 * The ranker for a big graph: `longest-path` (the cheapest) unless it would leave more dummy
 * nodes than there are nodes (an edge spanning r ranks costs dagre r - 1 of them, and their
 * placement dominates its time), where `tight-tree` shortens edges enough to be 2–3x faster
 * overall (bench/README.md). `edges` are flat pairs of node indexes.
 */
export function bigRanker(n: number, edges: Int32Array): 'longest-path' | 'tight-tree' {
  // successors of each node (compressed rows) and a topological order
  const indegree = new Int32Array(n);
  const first = new Int32Array(n + 1);
  for (let k = 0; k + 1 < edges.length; k += 2) {
    indegree[edges[k + 1]]++;
    first[edges[k] + 1]++;
  }
  for (let i = 0; i < n; i++) {
    first[i + 1] += first[i];
  }
  const next = new Int32Array(edges.length / 2);
  const fill = first.slice(0, n);
  for (let k = 0; k + 1 < edges.length; k += 2) {
    next[fill[edges[k]]++] = edges[k + 1];
  }
  const order: number[] = [];
  const queue: number[] = [];
  const left = indegree.slice();
  for (let i = 0; i < n; i++) {
    if (!left[i]) {
      queue.push(i);
    }
  }
  while (queue.length) {
    const v = queue.pop()!;
    order.push(v);
    for (let p = first[v]; p < first[v + 1]; p++) {
      if (--left[next[p]] === 0) {
        queue.push(next[p]);
      }
    }
  }
  if (order.length < n) {
    return 'longest-path'; // a cycle (dagre breaks it itself): no estimate
  }
  // dagre's longest-path ranks: sinks at 0, every other node one rank before its
  // closest-ranked successor
  const rank = new Int32Array(n);
  let dummies = 0;
  for (let o = n - 1; o >= 0; o--) {
    const v = order[o];
    let r = first[v] === first[v + 1] ? 0 : Infinity;
    for (let p = first[v]; p < first[v + 1]; p++) {
      r = Math.min(r, rank[next[p]] - 1);
    }
    rank[v] = r;
  }
  for (let k = 0; k + 1 < edges.length; k += 2) {
    dummies += rank[edges[k + 1]] - rank[edges[k]] - 1;
  }
  return dummies > n ? 'tight-tree' : 'longest-path';
}

/** Lay a graph out with dagre. */
export function layoutGraph(request: ILayoutRequest): ILayoutResult {
  const start = Date.now();
  const n = request.widths.length;
  const big = n > BIG_GRAPH;
  const g = new dagre.graphlib.Graph({ multigraph: false });
  g.setGraph({
    rankdir: request.direction,
    nodesep: 12,
    ranksep: request.direction === 'LR' ? 48 : 36,
    edgesep: 6,
    marginx: 12,
    marginy: 12,
    ranker: big ? bigRanker(n, request.edges) : 'network-simplex'
  });
  g.setDefaultEdgeLabel(() => ({}));
  for (let i = 0; i < n; i++) {
    g.setNode(String(i), { width: request.widths[i], height: request.heights[i] });
  }
  const e = request.edges;
  for (let k = 0; k + 1 < e.length; k += 2) {
    g.setEdge(String(e[k]), String(e[k + 1]));
  }
  dagre.layout(g, { disableOptimalOrderHeuristic: big });
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const node = g.node(String(i));
    x[i] = node.x;
    y[i] = node.y;
  }
  const edgeCount = e.length / 2;
  const pointStart = new Int32Array(edgeCount + 1);
  const coords: number[] = [];
  for (let k = 0; k < edgeCount; k++) {
    pointStart[k] = coords.length / 2;
    const label = g.edge(String(e[2 * k]), String(e[2 * k + 1]));
    for (const p of label?.points ?? []) {
      coords.push(p.x, p.y);
    }
  }
  pointStart[edgeCount] = coords.length / 2;
  const graph = g.graph();
  return {
    id: request.id,
    x,
    y,
    // dagre gives -Infinity for a graph with no nodes
    width: n && Number.isFinite(graph.width) ? (graph.width as number) : 0,
    height: n && Number.isFinite(graph.height) ? (graph.height as number) : 0,
    points: Float64Array.from(coords),
    pointStart,
    millis: Date.now() - start
  };
}
