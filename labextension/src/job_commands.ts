/**
 * Command-palette commands for live jobs: start a job of the current project, stop a running
 * job, open a running job's web page. Without arguments they ask (a list to pick from); the
 * sidebar shows the project so Start and Stop show their progress there.
 *
 * The current project is the one the sidebar shows, else the one holding the current
 * document, else the only one; otherwise the user picks one.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { InputDialog, Notification } from '@jupyterlab/apputils';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import { IProject, IRunningJob, NeuroApi } from './api';
import { jobLabel } from './dom';
import { isActive } from './jobs/model';
import { NeuroModel } from './model';

/** Ids of the job commands. */
export namespace JobCommandIDs {
  export const startJob = 'neuro-jupyter:start-job';
  export const stopJob = 'neuro-jupyter:stop-job';
  export const openJob = 'neuro-jupyter:open-job-ui';
}

/** Let the user pick one of `items` (labels); null when cancelled. */
async function pick<T>(title: string, items: T[], label: (item: T) => string): Promise<T | null> {
  if (!items.length) {
    return null;
  }
  const labels = items.map(label);
  const answer = await InputDialog.getItem({ title, items: labels, current: 0 });
  if (!answer.button.accept || answer.value === null) {
    return null;
  }
  const index = labels.indexOf(answer.value);
  return index >= 0 ? items[index] : null;
}

/** The path of the current document (as JupyterLab names it), or null. */
function documentPath(app: JupyterFrontEnd): string | null {
  const widget = app.shell.currentWidget as { context?: { path?: unknown } } | null;
  const path = widget?.context?.path;
  return typeof path === 'string' ? path.replace(/^[^/:]+:/, '') : null;
}

/** The project the user means (see the module's docstring); null if there is none. */
export async function currentProject(
  app: JupyterFrontEnd,
  model: NeuroModel,
  pk?: number
): Promise<IProject | null> {
  const view = model.view;
  if (pk === undefined && view.kind !== 'projects') {
    return view.project;
  }
  const projects = await model.api.projects();
  if (pk !== undefined) {
    return projects.find(p => p.pk === pk) ?? null;
  }
  const path = documentPath(app);
  if (path !== null) {
    const holding = projects
      .filter(p => typeof p.path === 'string')
      .filter(p => p.path === '' || path === p.path || path.startsWith(`${p.path}/`))
      .sort((a, b) => (b.path ?? '').length - (a.path ?? '').length);
    if (holding.length) {
      return holding[0];
    }
  }
  if (projects.length <= 1) {
    if (!projects.length) {
      Notification.info('No Neu.ro projects yet: create one with %neuro_init in a notebook.');
    }
    return projects[0] ?? null;
  }
  return pick('Neu.ro: which project?', projects, p => `${p.name} (${p.root})`);
}

/** Add the job commands. */
export function addJobCommands(
  app: JupyterFrontEnd,
  model: NeuroModel,
  api: NeuroApi,
  revealSidebar: () => void
): void {
  const { commands } = app;

  /** Show a project's jobs in the sidebar (where Start and Stop show their progress). */
  const showProject = async (project: IProject) => {
    const view = model.view;
    if (!(view.kind === 'project' || view.kind === 'job') || view.project.pk !== project.pk) {
      await model.show({ kind: 'project', project });
    }
    revealSidebar();
    return model.jobs!;
  };

  commands.addCommand(JobCommandIDs.startJob, {
    label: args =>
      args.jobId
        ? `Neu.ro: Start ${jobLabel(String(args.jobId), String(args.suffix ?? ''))}`
        : 'Neu.ro: Start a Live Job…',
    caption: 'Start a live job of the current project (a multi job: a new instance)',
    execute: async (args: ReadonlyPartialJSONObject) => {
      const project = await currentProject(
        app,
        model,
        typeof args.pk === 'number' ? args.pk : undefined
      );
      if (!project) {
        return;
      }
      const jobs = await showProject(project);
      if (!jobs.loaded) {
        await jobs.refreshQuietly();
      }
      let jobId = typeof args.jobId === 'string' ? args.jobId : '';
      const suffix = typeof args.suffix === 'string' ? args.suffix : '';
      if (!jobId) {
        const choices = jobs
          .groups()
          .filter(g => g.multi || !g.rows.some(r => isActive(r.status)));
        if (!choices.length) {
          Notification.info(`Every live job of ${project.name} runs already.`);
          return;
        }
        const chosen = await pick(`Neu.ro: start a job of ${project.name}`, choices, g =>
          (g.multi ? `${g.jobId} (a new instance)` : g.jobId) + (g.title ? ` — ${g.title}` : '')
        );
        if (!chosen) {
          return;
        }
        jobId = chosen.jobId;
      }
      await jobs.start(jobId, suffix);
    }
  });

  commands.addCommand(JobCommandIDs.stopJob, {
    label: 'Neu.ro: Stop a Running Job…',
    caption: 'Stop a pending or running live job (of any project)',
    execute: async () => {
      const runs = await api.running();
      if (!runs.length) {
        Notification.info('No Neu.ro job is running.');
        return;
      }
      const run = await pick('Neu.ro: stop which job?', runs, runLabel);
      if (!run) {
        return;
      }
      const project = await currentProject(app, model, run.project.pk);
      if (!project) {
        return;
      }
      const jobs = await showProject(project);
      await jobs.stop(run.job_id, run.suffix);
    }
  });

  commands.addCommand(JobCommandIDs.openJob, {
    label: "Neu.ro: Open a Running Job's Web Page…",
    caption: 'Open the web page of a running job (Jupyter, TensorBoard, …) in a new tab',
    execute: async () => {
      const runs = (await api.running()).filter(r => r.url && r.status === 'running');
      if (!runs.length) {
        Notification.info('No running Neu.ro job serves a web page.');
        return;
      }
      const run = runs.length === 1 ? runs[0] : await pick('Neu.ro: open which job?', runs, runLabel);
      if (run?.url) {
        window.open(run.url, '_blank', 'noopener');
      }
    }
  });
}

function runLabel(run: IRunningJob): string {
  return `${jobLabel(run.job_id, run.suffix)} (${run.status}) — ${run.project.name}`;
}
