/**
 * neuro-jupyter's JupyterLab plugin: the "Neuro" left sidebar (projects, live jobs, bakes),
 * command-palette entries for its main actions, and a "Neu.ro jobs" section in the Running
 * panel.
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, Notification } from '@jupyterlab/apputils';
import { IRunningSessionManagers } from '@jupyterlab/running';
import { LabIcon } from '@jupyterlab/ui-components';
import { MessageLoop } from '@lumino/messaging';

import { addJobCommands, currentProject, JobCommandIDs } from './job_commands';
import { labApi } from './lab_api';
import { NeuroModel } from './model';
import { NeuroPanel } from './panel';
import { RunningJobs } from './running';

/** Command ids. */
export namespace CommandIDs {
  export const open = 'neuro-jupyter:open';
  export const refresh = 'neuro-jupyter:refresh';
  export const startJob = JobCommandIDs.startJob;
  export const stopJob = JobCommandIDs.stopJob;
  export const openJob = JobCommandIDs.openJob;
  export const cancelBake = 'neuro-jupyter:cancel-bake';
  export const restartBake = 'neuro-jupyter:restart-bake';
}

const ICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <circle cx="5" cy="6" r="2.5"/><circle cx="5" cy="18" r="2.5"/>
    <circle cx="19" cy="12" r="2.5"/><circle cx="12" cy="12" r="2"/>
    <path d="M6.8 7.2l4 3.6-.9 1-4-3.6zM6.8 16.8l4-3.6.9 1-4 3.6zM13.8 11.4h3.4v1.2h-3.4z"/>
  </g>
</svg>`;

/** The id of JupyterLab's Running panel in the left area. */
const RUNNING_ID = 'jp-running-sessions';

/** The sidebar's icon. */
export const neuroIcon = new LabIcon({ name: 'neuro-jupyter:neuro', svgstr: ICON_SVG });

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'neuro-jupyter:plugin',
  description: 'Neu.ro projects, live jobs and bakes in a sidebar.',
  autoStart: true,
  optional: [ICommandPalette, ILayoutRestorer, IRunningSessionManagers],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    runningManagers: IRunningSessionManagers | null
  ) => {
    const api = labApi(app.serviceManager.serverSettings);
    const model = new NeuroModel(api);
    const panel = new NeuroPanel(model);
    panel.title.icon = neuroIcon;
    panel.title.label = '';
    app.shell.add(panel, 'left', { rank: 600 });
    if (restorer) {
      restorer.add(panel, 'neuro-jupyter-sidebar');
    }

    const { commands } = app;
    const refreshCommands = () => commands.notifyCommandChanged();
    model.changed.connect(refreshCommands);

    commands.addCommand(CommandIDs.open, {
      label: 'Neu.ro: Open the Projects Panel',
      icon: neuroIcon,
      execute: () => app.shell.activateById(panel.id)
    });
    commands.addCommand(CommandIDs.refresh, {
      label: 'Neu.ro: Refresh',
      execute: () => model.refreshNow()
    });
    addJobCommands(app, model, api, () => app.shell.activateById(panel.id));
    commands.addCommand(CommandIDs.cancelBake, {
      label: 'Neu.ro: Cancel the Selected Bake',
      isEnabled: () => model.view.kind === 'bake' && model.bakeActive && !model.busy,
      execute: () => model.cancelBake()
    });
    commands.addCommand(CommandIDs.restartBake, {
      label: 'Neu.ro: Restart the Selected Bake',
      isEnabled: () => model.view.kind === 'bake' && !model.bakeActive && !model.busy,
      execute: () => model.restartBake()
    });

    if (runningManagers) {
      const running = new RunningJobs(api, neuroIcon, {
        open: run => {
          if (run.url && run.status === 'running') {
            window.open(run.url, '_blank', 'noopener');
            return;
          }
          void currentProject(app, model, run.project.pk).then(project => {
            if (project) {
              app.shell.activateById(panel.id);
              void model.show({ kind: 'job', project, jobId: run.job_id, suffix: run.suffix });
            }
          });
        },
        error: message => Notification.error(message)
      });
      runningManagers.add(running);
      void app.restored.then(() => {
        // poll only while the Running panel shows
        const sidebar = Array.from(app.shell.widgets('left')).find(w => w.id === RUNNING_ID);
        if (!sidebar) {
          running.shown = true; // not found where expected: keep the list current anyway
          return;
        }
        running.shown = sidebar.isVisible;
        MessageLoop.installMessageHook(sidebar, (_, message) => {
          if (message.type === 'after-show' || message.type === 'after-hide') {
            running.shown = message.type === 'after-show';
          }
          return true;
        });
      });
      // a job the sidebar sees start or end shows in the Running panel at once
      let seen = '';
      model.changed.connect(() => {
        const states = JSON.stringify(model.jobs?.rows.map(r => [r.raw_id, r.status]) ?? []);
        if (states !== seen) {
          seen = states;
          running.refreshRunning();
        }
      });
    }

    if (palette) {
      for (const command of Object.values(CommandIDs)) {
        palette.addItem({ command, category: 'Neu.ro' });
      }
    }
  }
};

export default plugin;
