/**
 * Status colours (Neu.ro Flow's, which its users know) and the text colour that reads best on
 * each: the graph, its legend and the task table all take them from here.
 */

/** Statuses with a colour of their own; anything else is shown as "unknown". */
export const STATUSES = [
  'pending',
  'running',
  'succeeded',
  'cancelled',
  'skipped',
  'cached',
  'failed',
  'unknown'
];

/** Neu.ro Flow's colour of each status, as CSS colour names and RGB. */
export const STATUS_COLORS: Record<string, string> = {
  pending: 'skyblue',
  running: 'steelblue',
  succeeded: 'limegreen',
  cancelled: 'orange',
  skipped: 'magenta',
  cached: 'yellowgreen',
  failed: 'orangered',
  unknown: 'crimson'
};

const RGB: Record<string, [number, number, number]> = {
  skyblue: [135, 206, 235],
  steelblue: [70, 130, 180],
  limegreen: [50, 205, 50],
  orange: [255, 165, 0],
  magenta: [255, 0, 255],
  yellowgreen: [154, 205, 50],
  orangered: [255, 69, 0],
  crimson: [220, 20, 60]
};

/** The status itself if it has a colour, else 'unknown'. */
export function knownStatus(status: string | undefined | null): string {
  return status && STATUSES.includes(status) ? status : 'unknown';
}

/** The fill of a status. */
export function statusColor(status: string): string {
  return STATUS_COLORS[knownStatus(status)];
}

function luminance([r, g, b]: [number, number, number]): number {
  const lin = (c: number) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : Math.pow((s + 0.055) / 1.055, 2.4);
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

/** WCAG contrast ratio of two colours given as RGB. */
export function contrast(a: [number, number, number], b: [number, number, number]): number {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}

/** Black or white, whichever contrasts more with a status's fill. */
export function textColor(status: string): string {
  const fill = RGB[statusColor(status)];
  return contrast(fill, [0, 0, 0]) >= contrast(fill, [255, 255, 255]) ? 'black' : 'white';
}

/**
 * The status a collapsed group shows: running while anything runs or some have finished
 * and others wait; else the worst of failed, cancelled, pending, unknown; then skipped,
 * cached or succeeded.
 */
export function summaryStatus(statuses: Iterable<string>): string {
  const kinds = new Set<string>();
  for (const s of statuses) {
    kinds.add(knownStatus(s));
  }
  if (!kinds.size) {
    return 'unknown';
  }
  const waitingOnly = [...kinds].every(k => ['pending', 'skipped', 'cancelled'].includes(k));
  if (kinds.has('running') || (kinds.has('pending') && kinds.size > 1 && !waitingOnly)) {
    return 'running';
  }
  for (const status of ['failed', 'cancelled', 'pending', 'unknown']) {
    if (kinds.has(status)) {
      return status;
    }
  }
  if (kinds.size === 1 && kinds.has('skipped')) {
    return 'skipped';
  }
  if ([...kinds].every(k => k === 'cached' || k === 'skipped')) {
    return 'cached';
  }
  return 'succeeded';
}

/** Statuses after which a task no longer changes. */
export const FINISHED = new Set(['succeeded', 'failed', 'cancelled', 'skipped', 'cached']);
