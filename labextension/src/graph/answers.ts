/**
 * graph.json answers as the views poll them: the structure is sent once, then only its key
 * while it holds (`?known=KEY`), so an answer is completed from the one before; and whether
 * two answers differ, column by column, without serializing 10,000 tasks to find out.
 */
import { IBakeGraph, IGraphStructure, ITaskColumns } from './types';

/** The key to send as `known` after this answer ('' for none). */
export function knownKey(previous: IBakeGraph | null): string {
  return previous?.structure.ids ? previous.structure.key : '';
}

/** The answer with its structure, taken from the previous answer when the server sent only
 * its key. */
export function withStructure(answer: IBakeGraph, previous: IBakeGraph | null): IBakeGraph {
  if (answer.structure.ids) {
    return answer;
  }
  const known: IGraphStructure | undefined = previous?.structure;
  if (!known?.ids || known.key !== answer.structure.key) {
    throw new Error('the server left out a graph structure this view does not have');
  }
  return { ...answer, structure: known };
}

/** Whether two answers show the same thing (the structure is compared by its key). */
export function sameAnswer(a: IBakeGraph | null, b: IBakeGraph | null): boolean {
  if (!a || !b) {
    return a === b;
  }
  if (a.structure.key !== b.structure.key) {
    return false;
  }
  const rest = (g: IBakeGraph) => JSON.stringify([g.bake, g.attempt, g.attempts]);
  if (rest(a) !== rest(b)) {
    return false;
  }
  const columns = Object.keys(a.tasks) as (keyof ITaskColumns)[];
  if (columns.length !== Object.keys(b.tasks).length) {
    return false;
  }
  return columns.every(name => sameColumn(a.tasks[name], b.tasks[name]));
}

function sameColumn(a: readonly unknown[] | undefined, b: readonly unknown[] | undefined): boolean {
  if (!a || !b || a.length !== b.length) {
    return a === b;
  }
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i] && JSON.stringify(a[i]) !== JSON.stringify(b[i])) {
      return false;
    }
  }
  return true;
}
