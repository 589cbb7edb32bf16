// Unit tests of the graph view's parts that need no DOM: the viewport's moves, search, the
// spatial grid, label fitting, collapsed groups and the selection across structures (node's
// test runner; run by tests/labextension/test_graph_component.py, bundled with esbuild).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { carryCollapsed, COLLAPSE_ABOVE, openAround } from '../src/graph/collapse';
import { buildDrawn, innermostGroups } from '../src/graph/drawn';
import { LabelFitter } from '../src/graph/labels';
import { findTask } from '../src/graph/search';
import { carrySelection, neighbours, selectionId } from '../src/graph/selection';
import { Scene, SIZES } from '../src/graph/scene';
import { SpatialGrid } from '../src/graph/spatial';
import { IGraphStructure } from '../src/graph/types';
import { MAX_ZOOM, MIN_ZOOM, Viewport } from '../src/graph/viewport';

function viewport(w = 800, h = 400): Viewport {
  const v = new Viewport();
  v.w = w;
  v.h = h;
  return v;
}

test('zooming about a point keeps that point in place, within the limits', () => {
  const v = viewport();
  v.tx = 30;
  v.ty = -20;
  const before = v.toWorld(200, 100);
  v.zoomBy(1.7, 200, 100);
  const after = v.toScreen(before.x, before.y);
  assert.ok(Math.abs(after.x - 200) < 1e-9 && Math.abs(after.y - 100) < 1e-9);
  v.zoomBy(1e9);
  assert.equal(v.k, MAX_ZOOM);
  v.zoomBy(1e-9);
  assert.equal(v.k, MIN_ZOOM);
});

test('fit shows the whole graph, centred, never above 100 %; reset goes to its start', () => {
  const v = viewport();
  v.fit(4000, 200);
  assert.equal(v.k, (800 - 8) / 4000);
  const sight = v.visible();
  assert.ok(sight.x0 <= 0 && sight.x1 >= 4000 && sight.y0 <= 0 && sight.y1 >= 200);
  v.fit(100, 50);
  assert.equal(v.k, 1);
  assert.deepEqual([v.tx, v.ty], [350, 175]);
  assert.equal(v.overflows(100, 50), false);
  v.reset(4000, 200, 'LR');
  assert.deepEqual([v.k, v.tx, v.ty], [1, 0, 100]);
  assert.equal(v.overflows(4000, 200), true);
  v.reset(300, 4000, 'TB');
  assert.deepEqual([v.k, v.tx, v.ty], [1, 250, 0]);
  // a graph taller than the view: its first layer's first node near the top, not an empty
  // corner; never past the graph's end
  v.reset(3000, 5000, 'LR', { x: 12, y: 2000 });
  assert.deepEqual([v.tx, v.ty], [0, 12 - 2000]);
  v.reset(3000, 5000, 'LR', { x: 12, y: 4990 });
  assert.equal(v.ty, 400 - 5000);
  v.reset(3000, 5000, 'LR', { x: 12, y: 5 });
  assert.equal(v.ty, 0);
  v.k = 0.1;
  v.centerOn(1000, 500);
  assert.equal(v.k, 1); // centring on a node zoomed far out goes to 100 %
  assert.deepEqual(v.toScreen(1000, 500), { x: 400, y: 200 });
});

test('search: an exact id first, else the next id containing the text, in either direction', () => {
  const ids = ['prep', 'train_1', 'train_10', 'Train_2', 'deploy'];
  assert.deepEqual(findTask(ids, 'TRAIN_10'), { index: 2, matches: 1 });
  assert.deepEqual(findTask(ids, 'train'), { index: 1, matches: 3 });
  assert.deepEqual(findTask(ids, 'train', 1), { index: 2, matches: 3 });
  assert.deepEqual(findTask(ids, 'train', 1, -1), { index: 3, matches: 3 });
  assert.deepEqual(findTask(ids, 'nothing'), { index: -1, matches: 0 });
  assert.deepEqual(findTask(ids, '   '), { index: -1, matches: 0 });
});

test('the spatial grid finds exactly the boxes in a rectangle and the box under a point', () => {
  // 2,000 boxes of 30 x 10 on a 40 x 20 lattice, in a world of 2,000 x 400
  const n = 2000;
  const boxes = new Float32Array(4 * n);
  for (let i = 0; i < n; i++) {
    const x = (i % 50) * 40;
    const y = Math.floor(i / 50) * 20;
    boxes.set([x, y, x + 30, y + 10], 4 * i);
  }
  const grid = new SpatialGrid(boxes, 2000, 400);
  const inRect = (x0: number, y0: number, x1: number, y1: number) => {
    const found: number[] = [];
    grid.query(x0, y0, x1, y1, i => found.push(i));
    const expected = [];
    for (let i = 0; i < n; i++) {
      if (boxes[4 * i] <= x1 && boxes[4 * i + 2] >= x0 && boxes[4 * i + 1] <= y1 && boxes[4 * i + 3] >= y0) {
        expected.push(i);
      }
    }
    assert.deepEqual(found.sort((a, b) => a - b), expected);
    return found.length;
  };
  assert.equal(inRect(-1e6, -1e6, 1e6, 1e6), n); // everything, each once
  assert.ok(inRect(95, 35, 333, 91) > 0);
  assert.equal(inRect(2500, 0, 2600, 100), 0);
  assert.equal(grid.hit(45, 25), 51);
  assert.equal(grid.hit(35, 5), -1); // between two boxes
  assert.equal(grid.hit(-5, 5), -1);
});

test('labels: fitted with an ellipsis, and only near-limit ones measured exactly', () => {
  const measure = (text: string) => text.length * 7; // 7 px a character
  let calls = 0;
  const fitter = new LabelFitter(text => {
    calls++;
    return measure(text);
  });
  assert.equal(fitter.fit('fit_1', 144), 'fit_1');
  assert.equal(fitter.measured, 0);
  const long = 'a_rather_long_task_identifier_0001';
  const cut = fitter.fit(long, 144);
  assert.ok(cut.endsWith('…') && measure(cut) <= 144 && measure(cut.slice(0, -1) + 'x…') > 144, cut);
  assert.equal(fitter.measured, 1);
  const before = calls;
  assert.equal(fitter.fit(long, 144), cut); // once per label and width
  assert.equal(calls, before);
});

// a matrix of 400 tasks inside an action call, after a prepare task
function bigStructure(): IGraphStructure {
  const ids = ['prep', 'act', ...Array.from({ length: 400 }, (_, i) => `act.fit_${i}`)];
  const members = ids.map((_, i) => i).slice(2);
  return {
    key: 'big',
    ids,
    kinds: ids.map(id => (id === 'act' ? 'action' : 'task')),
    titles: ids.map(() => ''),
    edges: [0, 1, ...members.flatMap(m => [1, m])],
    groups: [
      { id: 'act', kind: 'action', label: 'act (action, 400 tasks)', members: [1, ...members], parent: -1 },
      { id: 'act.fit', kind: 'matrix', label: 'fit (matrix, 400)', members, parent: 0 }
    ]
  };
}

test('groups: collapsed from the start in large graphs, kept by id, opened to reveal a task', () => {
  const s = bigStructure();
  assert.ok(s.ids.length > COLLAPSE_ABOVE);
  const collapsed = carryCollapsed(null, new Set(), s);
  assert.deepEqual([...collapsed], [0, 1]);
  assert.equal(buildDrawn(s, collapsed).count, 2);
  // the next structure has the groups in another order and one group more: kept by id
  const next: IGraphStructure = { ...s, key: 'next', groups: [s.groups[1], s.groups[0]] };
  assert.deepEqual([...carryCollapsed(s, new Set([1]), next)].sort(), [0]);
  const open = new Set(collapsed);
  assert.equal(openAround(s, innermostGroups(s), 77, open), true);
  assert.equal(open.size, 0);
  assert.equal(openAround(s, innermostGroups(s), 77, open), false);
  const small: IGraphStructure = { ...s, ids: s.ids.slice(0, 3), groups: [] };
  assert.equal(carryCollapsed(null, new Set(), small).size, 0);
});

test('the selection follows its task or group into a new structure; its neighbours', () => {
  const s = bigStructure();
  const moved: IGraphStructure = { ...s, key: 'moved', ids: [...s.ids].reverse(), groups: [s.groups[1], s.groups[0]] };
  const task = carrySelection(s, moved, { task: 5 });
  assert.deepEqual(task, { task: moved.ids.indexOf(s.ids[5]) });
  assert.equal(selectionId(moved, task), 'act.fit_3');
  assert.deepEqual(carrySelection(s, moved, { group: 0 }), { group: 1 });
  const gone: IGraphStructure = { ...s, key: 'gone', ids: ['prep'], groups: [] };
  assert.equal(carrySelection(s, gone, { task: 5 }), null);
  const drawn = buildDrawn(s, new Set());
  const near = neighbours(drawn, drawn.nodeOf[1]);
  assert.equal(near.get(drawn.nodeOf[0]), 'need');
  assert.equal(near.get(drawn.nodeOf[300]), 'dependent');
  assert.equal(near.size, 401);
});

test('a scene finds nodes by id and by point, and where its first layer starts', () => {
  const s = bigStructure();
  const drawn = buildDrawn(s, new Set([1])); // prep, act, the matrix as one node
  assert.equal(drawn.count, 3);
  // layers left to right: prep alone far down, then act, then the matrix
  const layout = {
    id: 1,
    x: Float64Array.from([92, 300, 520]),
    y: Float64Array.from([900, 40, 40]),
    width: 640,
    height: 1000,
    points: new Float64Array(0),
    pointStart: new Int32Array(drawn.edges.length / 2 + 1),
    millis: 0
  };
  const scene = new Scene(drawn, layout, s, SIZES.LR);
  assert.equal(scene.nodeOfTask('act.fit_7'), drawn.nodeOf[9]);
  assert.equal(scene.nodeAt(520, 40), drawn.nodeOf[9]);
  assert.equal(scene.nodeAt(520, 80), -1);
  assert.deepEqual(scene.start('LR'), { x: 12, y: 900 - 14 });
  assert.deepEqual(scene.start('TB'), { x: 520 - 100, y: 40 - 20 }); // the group's box is taller
});
