/**
 * neuro-jupyter's JupyterLab plugin: the "Neuro" left sidebar (projects, live jobs, bakes) and
 * command-palette entries for its main actions.
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { LabIcon } from '@jupyterlab/ui-components';

import { NeuroApi } from './api';
import { NeuroModel } from './model';
import { NeuroPanel } from './panel';

/** Command ids. */
export namespace CommandIDs {
  export const open = 'neuro-jupyter:open';
  export const refresh = 'neuro-jupyter:refresh';
  export const startJob = 'neuro-jupyter:start-job';
  export const stopJob = 'neuro-jupyter:stop-job';
  export const openJob = 'neuro-jupyter:open-job-ui';
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

/** The sidebar's icon. */
export const neuroIcon = new LabIcon({ name: 'neuro-jupyter:neuro', svgstr: ICON_SVG });

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'neuro-jupyter:plugin',
  description: 'Neu.ro projects, live jobs and bakes in a sidebar.',
  autoStart: true,
  optional: [ICommandPalette, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null
  ) => {
    const api = new NeuroApi(app.serviceManager.serverSettings);
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
    commands.addCommand(CommandIDs.startJob, {
      label: 'Neu.ro: Start the Selected Live Job',
      isEnabled: () => model.view.kind === 'job' && !model.jobActive && !model.busy,
      execute: () => model.startJob()
    });
    commands.addCommand(CommandIDs.stopJob, {
      label: 'Neu.ro: Stop the Selected Live Job',
      isEnabled: () => model.view.kind === 'job' && model.jobActive && !model.busy,
      execute: () => model.stopJob()
    });
    commands.addCommand(CommandIDs.openJob, {
      label: 'Neu.ro: Open the Selected Job in a New Tab',
      isEnabled: () => model.jobUrl !== null,
      execute: () => panel.openJob()
    });
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

    if (palette) {
      for (const command of Object.values(CommandIDs)) {
        palette.addItem({ command, category: 'Neu.ro' });
      }
    }
  }
};

export default plugin;
