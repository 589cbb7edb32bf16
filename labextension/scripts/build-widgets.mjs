// Bundle the notebook widgets' front ends (anywidget ES modules and their CSS) from the
// TypeScript sources into neuro_jupyter/widgets/static/, each one self-contained (anywidget
// loads a module without its imports). `--minify` for production builds.
import * as esbuild from 'esbuild';

const OUT = '../neuro_jupyter/widgets/static';
const ENTRIES = [
  ['src/jobs/widget.ts', 'jobs_panel.js'],
  ['style/widget.css', 'jobs_panel.css']
];

const minify = process.argv.includes('--minify');
for (const [entry, name] of ENTRIES) {
  await esbuild.build({
    entryPoints: [entry],
    outfile: `${OUT}/${name}`,
    bundle: true,
    format: 'esm',
    target: 'es2020',
    minify,
    legalComments: 'none',
    logLevel: 'warning'
  });
}
