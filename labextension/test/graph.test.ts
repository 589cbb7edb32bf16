// Unit tests of the graph component's logic (node's test runner; run by
// tests/labextension/test_graph_component.py, which bundles this file with esbuild).
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { sameAnswer, withStructure } from '../src/graph/answers';
import { applyChanges, ITaskChanges } from '../src/graph/changes';
import { bigRanker } from '../src/graph/dagre-layout';
import { contrast, STATUS_COLORS, STATUSES, summaryStatus, textColor } from '../src/graph/colors';
import { buildDrawn, callTasks, drawnStatuses } from '../src/graph/drawn';
import { IBakeGraph, IGraphStructure } from '../src/graph/types';

const RGB: Record<string, [number, number, number]> = {
  black: [0, 0, 0],
  white: [255, 255, 255],
  skyblue: [135, 206, 235],
  steelblue: [70, 130, 180],
  limegreen: [50, 205, 50],
  orange: [255, 165, 0],
  magenta: [255, 0, 255],
  yellowgreen: [154, 205, 50],
  orangered: [255, 69, 0],
  crimson: [220, 20, 60]
};

test('every status fill has text that reads (WCAG AA, 4.5:1)', () => {
  for (const status of STATUSES) {
    const ratio = contrast(RGB[STATUS_COLORS[status]], RGB[textColor(status)]);
    assert.ok(ratio >= 4.5, `${status}: ${textColor(status)} on ${STATUS_COLORS[status]} is ${ratio.toFixed(2)}:1`);
  }
  assert.equal(textColor('something odd'), textColor('unknown'));
});

test('a collapsed group shows a summary of its tasks', () => {
  assert.equal(summaryStatus(['succeeded', 'cached']), 'succeeded');
  assert.equal(summaryStatus(['failed', 'succeeded']), 'failed');
  assert.equal(summaryStatus(['pending', 'succeeded']), 'running');
  assert.equal(summaryStatus(['pending', 'pending']), 'pending');
  assert.equal(summaryStatus(['skipped']), 'skipped');
  assert.equal(summaryStatus(['skipped', 'cached']), 'cached');
  assert.equal(summaryStatus([]), 'unknown');
});

// prep -> train_0, train_1 (matrix) -> deploy (action: deploy.push, deploy.ping-0, deploy.ping-1)
const STRUCTURE: IGraphStructure = {
  key: 'k',
  ids: ['prep', 'train_0', 'train_1', 'deploy', 'deploy.push', 'deploy.ping-0', 'deploy.ping-1'],
  kinds: ['task', 'task', 'task', 'action', 'task', 'task', 'task'],
  titles: ['', '', '', '', '', '', ''],
  edges: [0, 1, 0, 2, 1, 3, 2, 3, 3, 4, 4, 5, 4, 6],
  groups: [
    { id: 'deploy', kind: 'action', label: 'deploy (action, 3 tasks)', members: [3, 4, 5, 6], parent: -1 },
    { id: 'task-2', kind: 'matrix', label: 'train (matrix, 2)', members: [1, 2], parent: -1 },
    { id: 'deploy.ping', kind: 'matrix', label: 'ping (matrix, 2)', members: [5, 6], parent: 0 }
  ]
};

test('nothing collapsed: one node per task', () => {
  const drawn = buildDrawn(STRUCTURE, new Set());
  assert.equal(drawn.count, 7);
  assert.deepEqual([...drawn.edges], STRUCTURE.edges);
  assert.deepEqual(drawn.labels.slice(4), ['push', 'ping-0', 'ping-1']);
});

test('a collapsed matrix is one node; its edges are merged', () => {
  const drawn = buildDrawn(STRUCTURE, new Set([1]));
  assert.equal(drawn.count, 6);
  const train = drawn.nodeOf[1];
  assert.equal(drawn.nodeOf[2], train);
  assert.equal(drawn.labels[train], 'train (matrix, 2)');
  const pairs = [];
  for (let k = 0; k < drawn.edges.length; k += 2) {
    pairs.push(`${drawn.edges[k]}>${drawn.edges[k + 1]}`);
  }
  assert.equal(pairs.filter(p => p === `${drawn.nodeOf[0]}>${train}`).length, 1);
  const statuses = ['succeeded', 'running', 'pending', 'pending', 'pending', 'pending', 'pending'];
  assert.equal(drawnStatuses(drawn, STRUCTURE, statuses, callTasks(STRUCTURE))[train], 'running');
});

test('a collapsed call hides the groups inside it; its node shows the call status', () => {
  const drawn = buildDrawn(STRUCTURE, new Set([0, 2]));
  assert.equal(drawn.count, 4);
  const deploy = drawn.nodeOf[3];
  for (const i of [4, 5, 6]) {
    assert.equal(drawn.nodeOf[i], deploy);
  }
  const statuses = ['succeeded', 'succeeded', 'succeeded', 'failed', 'succeeded', 'running', 'pending'];
  assert.equal(drawnStatuses(drawn, STRUCTURE, statuses, callTasks(STRUCTURE))[deploy], 'failed');
  assert.notEqual(buildDrawn(STRUCTURE, new Set([0])).key, drawn.key);
});

test('an answer without its structure is completed from the one before; answers compared', () => {
  const tasks = (status: string[]) => ({
    status,
    raw_id: status.map(() => ''),
    exit_code: status.map(() => null),
    reason: status.map(() => ''),
    started_at: status.map(() => null),
    finished_at: status.map(() => null)
  });
  const first: IBakeGraph = {
    bake: { bake_id: 'b', name: null, batch: 'x', project_pk: 1 },
    attempt: { number: 1, result: 'running', reason: '' },
    attempts: [{ number: 1, result: 'running', reason: '' }],
    structure: STRUCTURE,
    tasks: tasks(STRUCTURE.ids.map(() => 'pending'))
  };
  const next: IBakeGraph = {
    ...first,
    structure: { key: 'k' } as IGraphStructure,
    tasks: tasks(STRUCTURE.ids.map((_, i) => (i ? 'pending' : 'running')))
  };
  const full = withStructure(next, first);
  assert.equal(full.structure, STRUCTURE);
  assert.equal(withStructure(first, null), first);
  assert.throws(() => withStructure({ ...next, structure: { key: 'other' } as IGraphStructure }, first));
  assert.equal(sameAnswer(first, { ...first, tasks: tasks(STRUCTURE.ids.map(() => 'pending')) }), true);
  assert.equal(sameAnswer(first, full), false);
  assert.equal(sameAnswer(first, { ...first, attempt: { ...first.attempt, result: 'failed' } }), false);
  assert.equal(sameAnswer(null, null), true);
  assert.equal(sameAnswer(first, null), false);

  // the kernel's messages of the tasks changed since its last whole state
  const snapshot = { ...first, snapshot: 3 };
  const changes: ITaskChanges = {
    type: 'tasks',
    snapshot: 3,
    index: [2, 5],
    tasks: { status: ['running', 'failed'], exit_code: [null, 1] },
    bake: first.bake,
    attempt: { number: 1, result: 'failed', reason: 'fit failed' },
    attempts: first.attempts
  };
  const now = applyChanges(snapshot, changes);
  assert.deepEqual(now.tasks.status, ['pending', 'pending', 'running', 'pending', 'pending', 'failed', 'pending']);
  assert.equal(now.tasks.exit_code[5], 1);
  assert.equal(now.attempt.result, 'failed');
  assert.equal(snapshot.tasks.status[2], 'pending'); // the whole state is left as it was
  assert.equal(applyChanges({ ...snapshot, snapshot: 4 }, changes).tasks.status[2], 'pending');
  assert.equal(applyChanges(snapshot, null), snapshot);
});

test('big graphs: tight-tree ranking only where longest-path would leave many dummy nodes', () => {
  const chain = (n: number) => Int32Array.from(Array.from({ length: n - 1 }, (_, i) => [i, i + 1]).flat());
  assert.equal(bigRanker(1000, chain(1000)), 'longest-path');
  // a fan from node 0, and a long chain whose end all the fan's nodes feed: each of those
  // edges spans the whole chain
  const edges: number[] = [...chain(500)];
  for (let i = 500; i < 1000; i++) {
    edges.push(0, i, i, 499);
  }
  assert.equal(bigRanker(1000, Int32Array.from(edges)), 'tight-tree');
});
