/**
 * The data the graph component shows: `graph.json` of the server extension, or the same
 * object from the notebook widget's kernel (both made by `neuro_jupyter.core.graph_data`).
 */

/** A collapsible group: an action/module call (its node and all inside it) or a matrix. */
export interface IGroup {
  id: string;
  kind: string; // 'matrix' | 'action' | 'module' | 'stateful'
  label: string; // "train (matrix, 2)", "deploy (action, 3 tasks)"
  members: number[]; // task indexes
  parent: number; // the enclosing group's index, or -1
}

/** What the graph is made of; `key` changes when any of it does (then it is laid out again). */
export interface IGraphStructure {
  key: string;
  ids: string[];
  kinds: string[];
  titles: string[];
  edges: number[]; // flat pairs of task indexes: need, then the task that needs it
  groups: IGroup[];
}

/** An executed notebook a task wrote (see the brief's shared contract). */
export interface INotebookLink {
  path: string;
  lab_url: string | null;
  html_url: string | null;
}

/** The tasks' state, one list per field, in the order of `IGraphStructure.ids`. */
export interface ITaskColumns {
  status: string[];
  raw_id: string[];
  exit_code: (number | null)[];
  reason: string[];
  started_at: (number | null)[];
  finished_at: (number | null)[];
  notebook?: (INotebookLink | null)[];
}

/** An attempt of a bake. */
export interface IAttemptSummary {
  number: number;
  result: string;
  reason: string;
  finished_at?: number | null;
}

/** A bake attempt's graph and state, as `graph.json` answers it. */
export interface IBakeGraph {
  bake: { bake_id: string; name: string | null; batch: string; project_pk: number };
  attempt: IAttemptSummary;
  attempts: IAttemptSummary[];
  structure: IGraphStructure;
  tasks: ITaskColumns;
}

/** A task's log with the header lines `show` prints above it. */
export interface ITaskLogText {
  header: string;
  text: string;
}
