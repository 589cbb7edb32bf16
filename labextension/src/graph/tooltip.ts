/**
 * What the tooltip over a node says: a task's id, title and status; a collapsed group's label
 * and how many of its tasks are in each status.
 */
import { STATUSES } from './colors';
import { groupOf, statusCounts } from './drawn';
import { Scene } from './scene';

/** The tooltip of a node; `statuses` are the statuses of the scene's structure's tasks. */
export function nodeTip(scene: Scene, statuses: readonly string[], node: number): string {
  const s = scene.shown;
  const r = scene.drawn.ref[node];
  if (r >= 0) {
    const title = s.titles[r] && s.titles[r] !== s.ids[r] ? ` — ${s.titles[r]}` : '';
    return `${s.ids[r]}${title}: ${statuses[r] ?? 'unknown'}`;
  }
  const g = s.groups[groupOf(r)];
  const counts = statusCounts(scene.drawn.members[node], statuses);
  const parts = STATUSES.filter(st => counts.get(st)).map(st => `${counts.get(st)} ${st}`);
  return `${g.label}: ${parts.join(', ')} — double-click to expand`;
}
