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
    ranker: big ? 'longest-path' : 'network-simplex'
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
