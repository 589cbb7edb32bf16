/**
 * The "Neuro" sidebar: Projects → a project's live jobs and bakes → a job's details and log,
 * or a bake's graph and tasks.
 *
 * Every piece of text that comes from users or jobs (names, log lines, task ids, reasons) is
 * put in the DOM as text nodes, never as HTML. The live jobs' list and details are jobs/view.ts,
 * shared with the notebook jobs panel; a bake's details (graph, tasks, logs) are the graph
 * component the notebook's bake view uses too (`graph/`).
 */
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { IBake, IBakeGraph, IProject } from './api';
import {
  backendTag,
  badge,
  button,
  Child,
  h,
  jobLabel,
  keepFocus,
  when
} from './dom';
import { BakeDetails } from './graph/details';
import { renderJobDetails, renderJobList, IJobsViewHost } from './jobs/view';
import { NeuroModel, View } from './model';

export { backendTag, badge, STATUSES } from './dom';

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

  /** What the shared jobs views ask of the sidebar: the job view, opening a web UI. */
  readonly jobsHost: IJobsViewHost = {
    select: (jobId, suffix) => {
      const view = this.model.view;
      if (view.kind === 'project' || view.kind === 'job') {
        this.go({ kind: 'job', project: view.project, jobId, suffix });
      }
    },
    open: url => window.open(url, '_blank', 'noopener')
  };

  dispose(): void {
    this.model.changed.disconnect(this.render, this);
    this._dropDetails();
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
    const detailsScroll = this._details?.view.scrollState();
    keepFocus(this.node, () =>
      this.node.replaceChildren(
        this.header(),
        this.errors(),
        h('div', { class: 'nj-body' }, this.body())
      )
    );
    this.node.scrollTop = oldScroll;
    if (detailsScroll && this._details) {
      this._details.view.restoreScroll(detailsScroll);
    }
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
    if (view.kind !== 'bake') {
      this._dropDetails();
    }
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
    const { bakes } = this.model.data;
    const jobs = this.model.jobs;
    return h(
      'div',
      { class: 'nj-project-view' },
      h('h3', {}, 'Live jobs'),
      jobs ? renderJobList(jobs, this.jobsHost) : null,
      h('h3', {}, 'Bakes'),
      bakes.length
        ? h('ul', { class: 'nj-list nj-bakes' }, ...bakes.map(b => this.bakeItem(project, b)))
        : h('p', { class: 'nj-empty' }, 'No bakes yet.')
    );
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
    const view = this.model.view;
    const jobs = this.model.jobs;
    if (view.kind !== 'job' || !jobs) {
      return h('div');
    }
    return renderJobDetails(jobs, jobLabel(view.jobId, view.suffix), this.jobsHost);
  }

  private bakeView(): HTMLElement {
    const view = this.model.view;
    const bake = this.model.data.bake;
    if (!bake || view.kind !== 'bake') {
      return h('p', { class: 'nj-empty' }, 'Loading…');
    }
    const busy = this.model.busy;
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
      this.details(view.project.pk, bake).node
    );
  }

  /** The bake's graph, log and tasks: one component kept across redraws (its zoom, the
   * selection and the open log stay), given each new state of the bake. */
  private details(pk: number, bake: IBakeGraph): BakeDetails {
    const key = `${pk}:${bake.bake.bake_id}`;
    if (this._details?.key !== key) {
      this._dropDetails();
      const api = this.model.api;
      const bakeId = bake.bake.bake_id;
      this._details = {
        key,
        data: null,
        view: new BakeDetails({
          direction: 'TB',
          fetchLog: async (taskId, attempt) => {
            const log = await api.taskLog(pk, bakeId, taskId, attempt);
            return { header: log.header, text: log.text };
          }
        })
      };
    }
    if (this._details.data !== bake) {
      this._details.data = bake;
      this._details.view.update(bake);
    }
    return this._details.view;
  }

  private _dropDetails(): void {
    this._details?.view.dispose();
    this._details = null;
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

  private _details: { key: string; data: IBakeGraph | null; view: BakeDetails } | null = null;
}
