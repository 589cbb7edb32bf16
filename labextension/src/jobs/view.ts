/**
 * The live jobs' DOM, shared by the sidebar and the notebook jobs panel: the list (a multi
 * job's instances under it, with "New instance"), a job's details with its log, the "start
 * with…" form and the messages of Start and Stop.
 *
 * Text from users or jobs goes in as text nodes; links only take http(s) or server paths.
 */
import { IJob, IJobRow } from '../api';
import { ago, backendTag, badge, button, Child, h, jobLabel, when } from '../dom';
import {
  IJobGroup,
  isActive,
  jobKey,
  JobsModel,
  newInstanceKey
} from './model';

/** What the host does for the view. */
export interface IJobsViewHost {
  /** Show the details of a job (the sidebar: a view of its own; the notebook: below). */
  select(jobId: string, suffix: string): void;
  /** Open a job's web UI. */
  open(url: string): void;
  /** The selected job's details show beside the list (its messages show there only). */
  detailsInline?: boolean;
}

/** A job's status badge: neutral "not run" for a job that never ran, and "starting…" or
 * "stopping…" while the user's Start or Stop is in progress. */
export function jobBadge(status: string): HTMLElement {
  if (status === 'never') {
    return h(
      'span',
      { class: 'nj-badge nj-status-none', 'data-status': 'never', title: 'This job has not run yet' },
      'not run'
    );
  }
  if (status === 'starting' || status === 'stopping') {
    return h(
      'span',
      { class: `nj-badge nj-status-${status}`, 'data-status': status },
      h('span', { class: 'nj-spinner', 'aria-hidden': 'true' }),
      `${status}…`
    );
  }
  return badge(status);
}

/** A link target we accept from the server: a path on it, or http(s). */
export function safeUrl(url: string | null | undefined): string | null {
  if (!url) {
    return null;
  }
  return url.startsWith('/') || /^https?:\/\//i.test(url) ? url : null;
}

/** The list of a project's live jobs. */
export function renderJobList(model: JobsModel, host: IJobsViewHost): HTMLElement {
  const groups = model.groups();
  return h(
    'div',
    { class: 'nj-jobs' },
    model.warning ? h('p', { class: 'nj-warning nj-jobs-warning' }, model.warning) : null,
    groups.length
      ? h(
          'ul',
          { class: 'nj-list nj-jobs-list' },
          ...groups.map(g =>
            g.multi ? multiGroup(model, g, host) : jobItem(model, g.rows[0], host, false)
          )
        )
      : model.loaded
        ? h('p', { class: 'nj-empty' }, 'No live jobs in .neuro/live.yml.')
        : h('p', { class: 'nj-empty' }, 'Loading…')
  );
}

function multiGroup(model: JobsModel, group: IJobGroup, host: IJobsViewHost): HTMLElement {
  const starting = model.operation(newInstanceKey(group.jobId)) === 'start';
  const formOpen = model.form?.jobId === group.jobId;
  return h(
    'li',
    { class: 'nj-job-group', 'data-job-id': group.jobId },
    h(
      'div',
      { class: 'nj-group-head' },
      h(
        'div',
        { class: 'nj-main' },
        h(
          'div',
          { class: 'nj-name' },
          group.jobId,
          h('span', { class: 'nj-multi', title: 'A multi job: each run is an instance with a suffix' }, 'multi')
        ),
        group.title ? h('div', { class: 'nj-sub' }, group.title) : null
      ),
      button(
        'New instance',
        {
          class: 'jp-Button jp-mod-styled jp-mod-accept nj-button nj-new',
          title: `Start another ${group.jobId} (a suffix, params and arguments are asked)`
        },
        () => (formOpen ? model.closeForm() : model.openForm(group.jobId)),
        starting
      )
    ),
    formOpen ? startForm(model, group) : null,
    ...model.pendingKeys(group.jobId).map(key => messageLine(model, key)),
    group.rows.length
      ? h(
          'ul',
          { class: 'nj-list nj-instances' },
          ...group.rows.map(r => jobItem(model, r, host, true))
        )
      : starting || model.pendingKeys(group.jobId).length
        ? null
        : h('p', { class: 'nj-empty nj-no-instances' }, 'No instances yet.'),
    group.older
      ? moreLink(model, group, `${group.older} older ${group.older === 1 ? 'instance' : 'instances'}`)
      : model.expanded.has(group.jobId)
        ? moreLink(model, group, 'fewer')
        : null
  );
}

function moreLink(model: JobsModel, group: IJobGroup, text: string): HTMLElement {
  const link = h('a', { class: 'nj-more', href: '#' }, text);
  link.addEventListener('click', event => {
    event.preventDefault();
    model.toggleOlder(group.jobId);
  });
  return link;
}

function jobItem(
  model: JobsModel,
  row: IJobRow,
  host: IJobsViewHost,
  instance: boolean
): HTMLElement {
  const key = jobKey(row.job_id, row.suffix);
  const status = model.displayStatus(row);
  const sub: string[] = [];
  if (!instance && row.title) {
    sub.push(row.title);
  }
  if (row.when) {
    sub.push(ago(row.when));
  }
  const item = h(
    'li',
    {
      class: 'nj-item nj-job' + (model.selected === key ? ' nj-selected' : ''),
      'data-job-id': row.job_id,
      'data-suffix': row.suffix,
      title: row.title ? `${row.title} (${jobLabel(row.job_id, row.suffix)})` : jobLabel(row.job_id, row.suffix)
    },
    h(
      'div',
      { class: 'nj-job-line' },
      h(
        'div',
        { class: 'nj-main' },
        h(
          'div',
          { class: 'nj-name' },
          instance ? row.suffix || row.job_id : row.job_id,
          backendTag(row.backend_name, row.backend_label)
        ),
        sub.length ? h('div', { class: 'nj-sub' }, sub.join(' · ')) : null
      ),
      jobBadge(status),
      h('span', { class: 'nj-row-actions' }, ...actions(model, row, host, false))
    ),
    host.detailsInline && model.selected === key ? null : messageLine(model, key)
  );
  item.addEventListener('click', () => host.select(row.job_id, row.suffix));
  return item;
}

/** Start / Stop / Open for a row (and, in the details, "Start with…"). */
function actions(
  model: JobsModel,
  row: IJobRow,
  host: IJobsViewHost,
  details: boolean
): HTMLElement[] {
  const key = jobKey(row.job_id, row.suffix);
  const op = model.operation(key);
  const active = isActive(row.status);
  const out: HTMLElement[] = [];
  if (active || op === 'stop') {
    out.push(
      button(
        op === 'stop' ? 'Stopping…' : 'Stop',
        { class: 'jp-Button jp-mod-styled jp-mod-warn nj-button nj-stop', title: `Stop ${jobLabel(row.job_id, row.suffix)}` },
        () => void model.stop(row.job_id, row.suffix),
        op !== null
      )
    );
  } else {
    const again = row.multi && row.suffix ? ` (again, as ${row.suffix})` : '';
    out.push(
      button(
        op === 'start' ? 'Starting…' : 'Start',
        { class: 'jp-Button jp-mod-styled jp-mod-accept nj-button nj-start', title: `Start ${jobLabel(row.job_id, row.suffix)}${again}` },
        () => void model.start(row.job_id, row.suffix),
        op !== null
      )
    );
  }
  const url = safeUrl(row.url);
  if (url && row.status === 'running' && model.displayStatus(row) !== 'starting') {
    out.push(
      button(
        'Open',
        { class: 'jp-Button jp-mod-styled nj-button nj-open', title: `Open its web page: ${url}` },
        () => host.open(url)
      )
    );
  }
  const params = Object.keys(row.params ?? {}).length > 0;
  if (details && (params || row.multi)) {
    out.push(
      button(
        row.multi ? 'New instance…' : 'Start with…',
        {
          class: 'jp-Button jp-mod-styled nj-button ' + (row.multi ? 'nj-new' : 'nj-start-with'),
          title: row.multi ? 'Start another instance: suffix, params, arguments' : 'Start with other params'
        },
        () => (model.form?.jobId === row.job_id ? model.closeForm() : model.openForm(row.job_id)),
        (!row.multi && active) || op !== null
      )
    );
  }
  return out;
}

/** The message about a key, if any: progress with the seconds it has taken, a note, an error. */
function messageLine(model: JobsModel, key: string): HTMLElement | null {
  const message = model.message(key);
  if (!message) {
    return null;
  }
  const seconds = Math.floor(model.elapsed(key) / 1000);
  const close = button(
    '×',
    { class: 'nj-dismiss', title: 'Dismiss', 'aria-label': 'Dismiss' },
    () => model.dismiss(key)
  );
  return h(
    'div',
    {
      class: `nj-message nj-message-${message.kind}`,
      role: message.kind === 'error' ? 'alert' : 'status',
      'data-key': key
    },
    message.kind === 'progress' ? h('span', { class: 'nj-spinner', 'aria-hidden': 'true' }) : null,
    h('span', { class: 'nj-message-text' }, message.text),
    message.kind === 'progress' && seconds > 0 ? h('span', { class: 'nj-elapsed' }, ` ${seconds} s`) : null,
    message.kind === 'progress' ? null : close
  );
}

/** The "start with…" form: a multi job's suffix, the job's params, `multi.args`. */
function startForm(model: JobsModel, group: IJobGroup): HTMLElement {
  const form = model.form!;
  const field = (
    label: string,
    name: string,
    value: string,
    param: boolean,
    placeholder: string,
    hint: string
  ): HTMLElement => {
    const input = h('input', {
      class: 'jp-mod-styled nj-input',
      name: param ? `param:${name}` : name,
      'data-focus': `${group.jobId}:${param ? 'param:' : ''}${name}`,
      placeholder,
      title: hint,
      autocomplete: 'off',
      spellcheck: 'false'
    }) as HTMLInputElement;
    input.value = value;
    input.addEventListener('input', () => model.editForm(name, input.value, param));
    input.addEventListener('click', event => event.stopPropagation());
    return h('label', { class: 'nj-field' }, h('span', {}, label), input);
  };
  const node = h(
    'form',
    { class: 'nj-start-form', 'data-job-id': group.jobId },
    group.multi
      ? field('Suffix', 'suffix', form.suffix, false, 'random', 'Letters, digits and -; empty: a random one')
      : null,
    ...Object.entries(group.params).map(([name, value]) =>
      field(
        name,
        name,
        form.params[name] ?? '',
        true,
        value === null ? 'required' : '',
        value === null ? `Param ${name} (required)` : `Param ${name}; default: ${value}`
      )
    ),
    group.multi
      ? field('Arguments', 'args', form.args, false, 'e.g. --lr 0.1', 'multi.args: appended to the command')
      : null,
    form.error ? h('div', { class: 'nj-error', role: 'alert' }, form.error) : null,
    h(
      'div',
      { class: 'nj-actions' },
      h('button', { class: 'jp-Button jp-mod-styled jp-mod-accept nj-button nj-submit', type: 'submit' }, 'Start'),
      button('Cancel', { class: 'jp-Button jp-mod-styled nj-button nj-cancel-form', type: 'button' }, () => model.closeForm())
    )
  );
  node.addEventListener('submit', event => {
    event.preventDefault();
    void model.submitForm();
  });
  node.addEventListener('click', event => event.stopPropagation());
  return node;
}

/** A job's details: state, where it runs, its link, its actions and the tail of its log. */
export function renderJobDetails(
  model: JobsModel,
  key: string,
  host: IJobsViewHost,
  onClose?: () => void
): HTMLElement {
  const row = model.row(key);
  const details = model.details?.key === key ? model.details : null;
  const job = details?.job ?? null;
  if (!row) {
    return h(
      'div',
      { class: 'nj-job-view' },
      h('p', { class: 'nj-empty' }, model.loaded ? `No job ${key} in this project.` : 'Loading…')
    );
  }
  const group = model.groups().find(g => g.jobId === row.job_id);
  const status = model.displayStatus(job ? { ...row, status: job.status } : row);
  const label = jobLabel(row.job_id, row.suffix);
  return h(
    'div',
    { class: 'nj-job-view', 'data-job-id': row.job_id, 'data-suffix': row.suffix },
    h(
      'div',
      { class: 'nj-row nj-job-title' },
      h('h3', {}, row.title || label),
      jobBadge(status),
      onClose
        ? button('×', { class: 'nj-dismiss nj-close-details', title: 'Close the details' }, onClose)
        : null
    ),
    row.title ? h('div', { class: 'nj-sub' }, label) : null,
    messageLine(model, key),
    h('div', { class: 'nj-actions' }, ...actions(model, job ? { ...row, status: job.status, url: job.url } : row, host, true)),
    group && model.form?.jobId === row.job_id ? startForm(model, group) : null,
    fields(row, job),
    h('h4', {}, 'Log'),
    h('pre', { class: 'nj-log' }, details?.log ?? '')
  );
}

function fields(row: IJobRow, job: IJob | null): HTMLElement {
  if (!job) {
    return h(
      'p',
      { class: 'nj-empty' },
      row.raw_id ? 'Loading…' : 'This job has not run yet.'
    );
  }
  const pairs: [string, Child][] = [
    ['Run', job.raw_id],
    ['Status', job.reason ? `${job.status} (${job.reason})` : job.status],
    ['Backend', job.backend_label]
  ];
  if (job.preset) {
    pairs.push(['Preset', job.preset]);
  }
  const presetNote = job.preset_note ?? row.preset_note;
  if (presetNote) {
    pairs.push(['Preset note', presetNote]);
  }
  const environment = job.environment ?? row.environment;
  if (environment) {
    pairs.push([
      'Environment',
      h(
        'span',
        { class: 'nj-environment', title: environment.path || '' },
        environment.state === 'ray'
          ? `${environment.name} (installed by the Ray cluster)`
          : `${environment.name} (${environment.state})${environment.path ? ' ' + environment.path : ''}`
      )
    ]);
  }
  pairs.push(
    ['Started', when(job.started_at)],
    ['Finished', when(job.finished_at)],
    ['Exit code', job.exit_code === null || job.exit_code === undefined ? '—' : String(job.exit_code)]
  );
  const url = safeUrl(job.url);
  if (url) {
    pairs.push(['URL', h('a', { href: url, target: '_blank', rel: 'noopener', class: 'nj-url' }, url)]);
  }
  return h(
    'dl',
    { class: 'nj-fields' },
    ...pairs.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])
  );
}
