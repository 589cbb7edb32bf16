/**
 * The "Neuro" sidebar: Projects → a project's live jobs and bakes → a job's details and log,
 * or a bake's graph and tasks.
 *
 * Every piece of text that comes from users or jobs (names, log lines, task ids, reasons) is
 * put in the DOM as text nodes, never as HTML; the bake graph is shown as an image.
 */
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { IBake, IEnvironment, IGraphLayout, IJobRow, IProject, ITask } from './api';
import { NeuroModel, View } from './model';

/** Statuses with a colour of their own (Neu.ro's palette); anything else is "unknown". */
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

type Child = Node | string | null | undefined | false;

/** Build an element; string children become text nodes (so they are never parsed as HTML). */
function h(
  tag: string,
  attrs: Record<string, string> = {},
  ...children: Child[]
): HTMLElement {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    node.setAttribute(name, value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) {
      continue;
    }
    node.appendChild(
      typeof child === 'string' ? document.createTextNode(child) : child
    );
  }
  return node;
}

/** A run's environment: 'train (ready) /path', or 'train (on Ray)'. */
function environmentText(env: IEnvironment): string {
  return env.state === 'ray'
    ? `${env.name} (installed by the Ray cluster)`
    : `${env.name} (${env.state})${env.path ? ' ' + env.path : ''}`;
}

/** A button that runs `action` on click. */
function button(
  label: string,
  attrs: Record<string, string>,
  action: () => void,
  disabled = false
): HTMLElement {
  const node = h('button', { class: 'jp-Button nj-button', ...attrs }, label);
  (node as HTMLButtonElement).disabled = disabled;
  node.addEventListener('click', event => {
    event.stopPropagation();
    action();
  });
  return node;
}

/** A small tag naming a backend other than the local one, with its label (the address) as a
 * tooltip; the server names and labels it (core parses the stored `ray@URL`). */
export function backendTag(
  name: string | null | undefined,
  label: string | null | undefined
): HTMLElement | null {
  if (!name || name === 'local') {
    return null;
  }
  return h('span', { class: 'nj-backend', title: label ?? name }, name);
}

/** A status badge in Neu.ro's colour for the status. */
export function badge(status: string): HTMLElement {
  const known = STATUSES.includes(status) ? status : 'unknown';
  return h(
    'span',
    { class: `nj-badge nj-status-${known}`, 'data-status': known },
    status || 'unknown'
  );
}

function when(seconds: number | null | undefined): string {
  return seconds ? new Date(seconds * 1000).toLocaleString() : '—';
}

/** An SVG document text can be shown as an image; anything else is refused. */
export function svgDataUrl(svg: string): string | null {
  const start = svg.trimStart();
  const isSvg =
    start.startsWith('<svg') ||
    ((start.startsWith('<?xml') || start.startsWith('<!DOCTYPE')) &&
      start.includes('<svg'));
  return isSvg
    ? `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`
    : null;
}

/** The sidebar widget. */
export class NeuroPanel extends Widget {
  constructor(model: NeuroModel) {
    super();
    this.model = model;
    this.id = 'neuro-jupyter-sidebar';
    this.addClass('nj-panel');
    this.title.caption = 'Neu.ro: projects, live jobs and bakes';
    model.changed.connect(this.render, this);
    this.render();
  }

  readonly model: NeuroModel;

  /** Open a job's web UI (its proxy URL) in a new browser tab. */
  openJob(): void {
    const url = this.model.jobUrl;
    if (url) {
      window.open(url, '_blank', 'noopener');
    }
  }

  dispose(): void {
    this.model.changed.disconnect(this.render, this);
    super.dispose();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.model.active = true;
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this.model.active = false;
  }

  /** Redraw the panel from the model, keeping the log scrolled to its end if it was. */
  render(): void {
    const oldLog = this.node.querySelector('.nj-log');
    const atEnd =
      !oldLog || oldLog.scrollTop + oldLog.clientHeight >= oldLog.scrollHeight - 4;
    const oldScroll = this.node.scrollTop;
    this.node.replaceChildren(
      this.header(),
      this.errors(),
      h('div', { class: 'nj-body' }, this.body())
    );
    this.node.scrollTop = oldScroll;
    const log = this.node.querySelector('.nj-log');
    if (log && atEnd) {
      log.scrollTop = log.scrollHeight;
    } else if (log && oldLog) {
      log.scrollTop = oldLog.scrollTop;
    }
  }

  private go(view: View): void {
    void this.model.show(view);
  }

  private header(): HTMLElement {
    const view = this.model.view;
    const crumbs: Child[] = [
      this.crumb('Projects', 'nj-crumb-projects', { kind: 'projects' })
    ];
    if (view.kind !== 'projects') {
      crumbs.push(
        ' › ',
        this.crumb(view.project.name, 'nj-crumb-project', {
          kind: 'project',
          project: view.project
        })
      );
    }
    if (view.kind === 'job') {
      crumbs.push(' › ', h('span', {}, jobLabel(view.jobId, view.suffix)));
    } else if (view.kind === 'bake') {
      crumbs.push(' › ', h('span', {}, this.model.data.bake?.bake.name || view.bakeId));
    }
    return h(
      'div',
      { class: 'nj-header' },
      h(
        'div',
        { class: 'nj-row' },
        h('div', { class: 'nj-title' }, 'Neu.ro'),
        button(
          'Refresh',
          { class: 'jp-Button jp-mod-styled nj-button nj-refresh', title: 'Refresh now' },
          () => void this.model.refreshNow()
        )
      ),
      h('nav', { class: 'nj-crumbs' }, ...crumbs)
    );
  }

  private crumb(label: string, cls: string, view: View): HTMLElement {
    const node = h('a', { class: `nj-crumb ${cls}`, href: '#' }, label);
    node.addEventListener('click', event => {
      event.preventDefault();
      this.go(view);
    });
    return node;
  }

  private errors(): HTMLElement {
    const messages = [this.model.actionError, this.model.error].filter(m => m);
    return h(
      'div',
      { class: 'nj-errors' },
      ...messages.map(m => h('div', { class: 'nj-error', role: 'alert' }, m))
    );
  }

  private body(): HTMLElement {
    const view = this.model.view;
    switch (view.kind) {
      case 'projects':
        return this.projectsView();
      case 'project':
        return this.projectView(view.project);
      case 'job':
        return this.jobView();
      case 'bake':
        return this.bakeView();
    }
  }

  private projectsView(): HTMLElement {
    const projects = this.model.data.projects;
    if (!projects.length) {
      return h(
        'p',
        { class: 'nj-empty' },
        'No projects yet: create one with %neuro_init in a notebook or `neuro-jupyter init`.'
      );
    }
    return h(
      'ul',
      { class: 'nj-list nj-projects' },
      ...projects.map(p => {
        const item = h(
          'li',
          { class: 'nj-item nj-project', 'data-pk': String(p.pk), title: p.root },
          h(
            'div',
            { class: 'nj-main' },
            h('div', { class: 'nj-name' }, p.name),
            h('div', { class: 'nj-sub' }, `${p.project_id} · ${p.root}`)
          )
        );
        item.addEventListener('click', () => this.go({ kind: 'project', project: p }));
        return item;
      })
    );
  }

  private projectView(project: IProject): HTMLElement {
    const { jobs, jobsWarning, bakes } = this.model.data;
    return h(
      'div',
      { class: 'nj-project-view' },
      h('h3', {}, 'Live jobs'),
      jobsWarning ? h('p', { class: 'nj-warning nj-jobs-warning' }, jobsWarning) : null,
      jobs.length
        ? h('ul', { class: 'nj-list nj-jobs' }, ...jobs.map(j => this.jobItem(project, j)))
        : h('p', { class: 'nj-empty' }, 'No live jobs in .neuro/live.yml.'),
      h('h3', {}, 'Bakes'),
      bakes.length
        ? h('ul', { class: 'nj-list nj-bakes' }, ...bakes.map(b => this.bakeItem(project, b)))
        : h('p', { class: 'nj-empty' }, 'No bakes yet.')
    );
  }

  private jobItem(project: IProject, job: IJobRow): HTMLElement {
    const item = h(
      'li',
      {
        class: 'nj-item nj-job',
        'data-job-id': job.job_id,
        'data-suffix': job.suffix,
        title: job.title || job.job_id
      },
      h(
        'div',
        { class: 'nj-main' },
        h(
          'div',
          { class: 'nj-name' },
          jobLabel(job.job_id, job.suffix),
          backendTag(job.backend_name, job.backend_label)
        ),
        job.title ? h('div', { class: 'nj-sub' }, job.title) : null
      ),
      badge(job.status)
    );
    item.addEventListener('click', () =>
      this.go({ kind: 'job', project, jobId: job.job_id, suffix: job.suffix })
    );
    return item;
  }

  private bakeItem(project: IProject, bake: IBake): HTMLElement {
    const item = h(
      'li',
      { class: 'nj-item nj-bake', 'data-bake-id': bake.bake_id },
      h(
        'div',
        { class: 'nj-main' },
        h(
          'div',
          { class: 'nj-name' },
          bake.name || bake.batch,
          backendTag(bake.backend_name, bake.backend_label)
        ),
        h(
          'div',
          { class: 'nj-sub' },
          `${bake.batch} · ${when(bake.created_at)}` +
            (bake.attempt && bake.attempt > 1 ? ` · attempt ${bake.attempt}` : '')
        )
      ),
      badge(bake.status)
    );
    item.addEventListener('click', () =>
      this.go({ kind: 'bake', project, bakeId: bake.bake_id })
    );
    return item;
  }

  private jobView(): HTMLElement {
    const { job, jobRow, log } = this.model.data;
    const status = job?.status ?? jobRow?.status ?? 'unknown';
    const busy = this.model.busy;
    const active = this.model.jobActive;
    const url = this.model.jobUrl;
    const fields: [string, string][] = job
      ? [
          ['Run', job.raw_id],
          ['Backend', job.backend_label],
          ...(job.environment
            ? [['Environment', environmentText(job.environment)] as [string, string]]
            : []),
          ['Started', when(job.started_at)],
          ['Finished', when(job.finished_at)],
          ['Exit code', job.exit_code === null ? '—' : String(job.exit_code)],
          ['Reason', job.reason || '—']
        ]
      : [];
    return h(
      'div',
      { class: 'nj-job-view' },
      h(
        'div',
        { class: 'nj-row' },
        h('h3', {}, jobRow?.title || jobLabel(jobRow?.job_id ?? '', jobRow?.suffix ?? '')),
        badge(status)
      ),
      h(
        'div',
        { class: 'nj-actions' },
        button('Start', { class: 'jp-Button jp-mod-styled jp-mod-accept nj-button nj-start' }, () => void this.model.startJob(), busy || active),
        button('Stop', { class: 'jp-Button jp-mod-styled jp-mod-warn nj-button nj-stop' }, () => void this.model.stopJob(), busy || !active),
        url
          ? button('Open', { class: 'jp-Button jp-mod-styled jp-mod-accept nj-button nj-open', title: url }, () => this.openJob())
          : null
      ),
      fields.length
        ? h(
            'dl',
            { class: 'nj-fields' },
            ...fields.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])
          )
        : h('p', { class: 'nj-empty' }, 'This job has not run yet.'),
      h('h4', {}, 'Log'),
      h('pre', { class: 'nj-log' }, log)
    );
  }

  private bakeView(): HTMLElement {
    const { bake, svg, svgError, layout, task, taskLog } = this.model.data;
    if (!bake) {
      return h('p', { class: 'nj-empty' }, 'Loading…');
    }
    const busy = this.model.busy;
    const image = svgDataUrl(svg);
    return h(
      'div',
      { class: 'nj-bake-view' },
      h(
        'div',
        { class: 'nj-row' },
        h('h3', {}, bake.bake.name || bake.bake.batch),
        badge(bake.attempt.result)
      ),
      h('p', { class: 'nj-sub' }, `${bake.bake.batch} · ${bake.bake.bake_id}`),
      this.attempts(),
      h(
        'div',
        { class: 'nj-actions' },
        button('Cancel', { class: 'jp-Button jp-mod-styled jp-mod-warn nj-button nj-cancel' }, () => void this.model.cancelBake(), busy || !this.model.bakeActive),
        button('Restart', { class: 'jp-Button jp-mod-styled jp-mod-accept nj-button nj-restart' }, () => void this.model.restartBake(), busy || this.model.bakeActive)
      ),
      image
        ? h('img', { class: 'nj-graph', src: image, alt: `Graph of ${bake.bake.batch}` })
        : layout
          ? this.drawGraph(layout, task)
          : h('p', { class: 'nj-empty nj-graph-missing' }, svgError || 'No graph.'),
      this.legend(),
      h('h4', {}, 'Tasks'),
      h(
        'table',
        { class: 'nj-tasks' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Task'), h('th', {}, 'Status'), h('th', {}, 'Exit'))),
        h('tbody', {}, ...bake.tasks.map(t => this.taskRow(t, t.full_id === task)))
      ),
      task
        ? h(
            'div',
            { class: 'nj-task-log' },
            h('h4', {}, `Log of ${task}`),
            h('div', { class: 'nj-sub nj-task-header' }, taskLog?.header ?? ''),
            h('pre', { class: 'nj-log' }, taskLog?.text ?? '')
          )
        : null
    );
  }

  private attempts(): HTMLElement {
    const view = this.model.view;
    const state = this.model.data.bake;
    if (view.kind !== 'bake' || !state) {
      return h('div');
    }
    return h(
      'div',
      { class: 'nj-attempts' },
      'Attempts: ',
      ...state.attempts.map(a => {
        const chip = h(
          'a',
          {
            href: '#',
            class:
              a.number === state.attempt.number ? 'nj-attempt nj-selected' : 'nj-attempt',
            'data-attempt': String(a.number),
            title: a.reason || a.result
          },
          `#${a.number} `,
          badge(a.result)
        );
        chip.addEventListener('click', event => {
          event.preventDefault();
          const last = state.attempts[state.attempts.length - 1]?.number;
          this.go({ ...view, attempt: a.number === last ? undefined : a.number });
        });
        return chip;
      })
    );
  }

  /**
   * Draw a server-side layout as SVG elements (labels as text nodes); a click selects a task.
   * The layout's layers run left to right; the narrow sidebar draws them top to bottom.
   */
  private drawGraph(layout: IGraphLayout, selected: string | null): Element {
    const NS = 'http://www.w3.org/2000/svg';
    const nodeW = 120;
    const nodeH = 26;
    const gapX = 14;
    const gapY = 26;
    const pad = 6;
    const colStep = layout.node_w + layout.gap_x;
    const rowStep = layout.node_h + layout.gap_y;
    const x = layout.ids.map(
      (_, i) => pad + ((layout.y[i] - layout.margin) / rowStep) * (nodeW + gapX)
    );
    const y = layout.ids.map(
      (_, i) => pad + Math.round((layout.x[i] - layout.margin) / colStep) * (nodeH + gapY)
    );
    const width = Math.max(nodeW, ...x.map(v => v + nodeW)) + pad;
    const height = Math.max(nodeH, ...y.map(v => v + nodeH)) + pad;
    const svg = document.createElementNS(NS, 'svg');
    svg.setAttribute('class', 'nj-graph nj-graph-drawn');
    svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
    svg.setAttribute('width', String(width));
    for (let k = 0; k + 1 < layout.edges.length; k += 2) {
      const [a, b] = [layout.edges[k], layout.edges[k + 1]];
      const line = document.createElementNS(NS, 'line');
      line.setAttribute('x1', String(x[a] + nodeW / 2));
      line.setAttribute('y1', String(y[a] + nodeH));
      line.setAttribute('x2', String(x[b] + nodeW / 2));
      line.setAttribute('y2', String(y[b]));
      line.setAttribute('class', 'nj-edge');
      svg.appendChild(line);
    }
    layout.ids.forEach((id, i) => {
      const status = STATUSES.includes(layout.statuses[i]) ? layout.statuses[i] : 'unknown';
      const group = document.createElementNS(NS, 'g');
      group.setAttribute(
        'class',
        `nj-node nj-status-${status}` + (id === selected ? ' nj-selected' : '')
      );
      group.setAttribute('data-task-id', id);
      const rect = document.createElementNS(NS, 'rect');
      rect.setAttribute('x', String(x[i]));
      rect.setAttribute('y', String(y[i]));
      rect.setAttribute('width', String(nodeW));
      rect.setAttribute('height', String(nodeH));
      rect.setAttribute('rx', '12');
      const text = document.createElementNS(NS, 'text');
      text.setAttribute('x', String(x[i] + nodeW / 2));
      text.setAttribute('y', String(y[i] + nodeH / 2 + 4));
      text.setAttribute('text-anchor', 'middle');
      const count = layout.counts[i] > 1 ? ` ×${layout.counts[i]}` : '';
      text.textContent = layout.labels[i] + count;
      const title = document.createElementNS(NS, 'title');
      title.textContent = `${id}: ${layout.statuses[i]}`;
      group.append(rect, text, title);
      group.addEventListener('click', () => void this.model.selectTask(id));
      svg.appendChild(group);
    });
    return svg;
  }

  private taskRow(task: ITask, selected: boolean): HTMLElement {
    const row = h(
      'tr',
      {
        class: selected ? 'nj-task nj-selected' : 'nj-task',
        'data-task-id': task.full_id,
        title: task.reason || task.title || task.full_id
      },
      h('td', { class: 'nj-name' }, task.full_id),
      h('td', {}, badge(task.status)),
      h('td', {}, task.exit_code === null ? '' : String(task.exit_code))
    );
    row.addEventListener('click', () =>
      void this.model.selectTask(selected ? null : task.full_id)
    );
    return row;
  }

  private legend(): HTMLElement {
    return h('div', { class: 'nj-legend' }, ...STATUSES.map(s => badge(s)));
  }
}

function jobLabel(jobId: string, suffix: string): string {
  return suffix ? `${jobId} ${suffix}` : jobId;
}
