/**
 * Finding a task by id for the search box: the task whose id is the text, else the next one
 * (after the current one, forwards or backwards) whose id contains it, ignoring case.
 */

/** What a search found: a task index (-1: none) and how many tasks match. */
export interface IFound {
  index: number;
  matches: number;
}

/** Search `ids` for `text`, starting after `current` (-1: from the start), `step` 1 or -1. */
export function findTask(ids: readonly string[], text: string, current = -1, step = 1): IFound {
  const query = text.trim().toLowerCase();
  if (!query) {
    return { index: -1, matches: 0 };
  }
  const exact = ids.findIndex(id => id.toLowerCase() === query);
  if (exact >= 0) {
    return { index: exact, matches: 1 };
  }
  let index = -1;
  let matches = 0;
  const n = ids.length;
  for (let k = 1; k <= n; k++) {
    const i = (((current + k * step) % n) + n) % n;
    if (ids[i].toLowerCase().includes(query)) {
      if (index < 0) {
        index = i;
      }
      matches++;
    }
  }
  return { index, matches };
}
