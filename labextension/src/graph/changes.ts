/**
 * The kernel's `tasks` messages: between two whole states (the widget's `state`, numbered by
 * `snapshot`), the tasks that changed since the last one, so that a 10,000-task bake is not
 * sent in full twice a second (neuro_jupyter/widgets/bake_view.py).
 */
import { IAttemptSummary, IBakeGraph, ITaskColumns } from './types';

/** Tasks changed since whole state number `snapshot`: their indexes and new values. */
export interface ITaskChanges {
  type: 'tasks';
  snapshot: number;
  index: number[];
  tasks: Partial<ITaskColumns>;
  bake: IBakeGraph['bake'];
  attempt: IAttemptSummary;
  attempts: IAttemptSummary[];
}

/** The state with the changes applied (a copy; the state is left as it was), or the state
 * itself when the changes are not to it (another snapshot). */
export function applyChanges(
  state: IBakeGraph & { snapshot?: number },
  changes: ITaskChanges | null
): IBakeGraph {
  if (!changes || changes.snapshot !== state.snapshot) {
    return state;
  }
  const tasks = { ...state.tasks } as Record<string, unknown[]>;
  for (const [name, values] of Object.entries(changes.tasks) as [string, unknown[]][]) {
    const column = tasks[name]?.slice();
    if (!column) {
      return state; // a column the state lacks: wait for the next whole state
    }
    changes.index.forEach((task, k) => {
      column[task] = values[k];
    });
    tasks[name] = column;
  }
  return {
    ...state,
    bake: changes.bake,
    attempt: changes.attempt,
    attempts: changes.attempts,
    tasks: tasks as unknown as ITaskColumns
  };
}
