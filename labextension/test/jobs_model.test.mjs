// The jobs' state shared by the sidebar and the notebook panel (src/jobs/model.ts): Start and
// Stop progress, stale messages, multi-job instances, the start form. Run with `node --test`
// (tests/labextension/test_jobs_model.py does); the TypeScript is bundled here with esbuild.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import * as esbuild from 'esbuild';

const bundled = await esbuild.build({
  entryPoints: [new URL('../src/jobs/model.ts', import.meta.url).pathname],
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  write: false,
  logLevel: 'error'
});
const source = Buffer.from(bundled.outputFiles[0].text).toString('base64');
const { JobsModel, splitArgs, NOTE_MS, STOP_PATIENCE_MS, FINISHED_SHOWN } = await import(
  `data:text/javascript;base64,${source}`
);

function row(jobId, suffix, status, extra = {}) {
  const ran = status !== 'unknown';
  return {
    job_id: jobId, suffix, title: '', multi: false, browse: false, params: {},
    raw_id: ran ? `raw-${jobId}-${suffix}-${status}` : null, status, url: null,
    when: ran ? 100 : null, backend: ran ? 'local' : null, backend_name: null,
    backend_label: null, ...extra
  };
}

function job(r, extra = {}) {
  return { label: r.suffix ? `${r.job_id} ${r.suffix}` : r.job_id, reason: '', exit_code: null,
           created_at: 1, started_at: 2, finished_at: null, ...r, ...extra };
}

/** A source whose answers the test controls: rows to list, and held start/kill requests. */
class FakeSource {
  constructor(rows) {
    this.rows = rows;
    this.jobs = new Map();
    this.held = [];
    this.started = [];
  }
  async jobList() { return { jobs: this.rows.map(r => ({ ...r })), warning: '' }; }
  async job(rawId) {
    const found = this.jobs.get(rawId) ?? this.rows.find(r => r.raw_id === rawId);
    return job(found);
  }
  async jobLog() { return { text: 'log', offset: 0, next_offset: 3, size: 3 }; }
  startJob(pk, jobId, options) {
    this.started.push({ jobId, ...options });
    return new Promise((resolve, reject) => this.held.push({ resolve, reject }));
  }
  killJob() {
    return new Promise((resolve, reject) => this.held.push({ resolve, reject }));
  }
  answer(value) { this.held.shift().resolve(value); }
  fail(error) { this.held.shift().reject(error); }
}

function setup(rows) {
  const clock = { now: 1_000_000 };
  const src = new FakeSource(rows);
  const model = new JobsModel(src, 1, { now: () => clock.now });
  return { clock, src, model };
}

const tick = () => new Promise(resolve => setImmediate(resolve));

/** A model over one never-run job, started; the server answers with the run in `status`. */
async function startedAs(jobId, status) {
  const ctx = setup([row(jobId, '', 'unknown')]);
  await ctx.model.refresh();
  const started = ctx.model.start(jobId);
  const answered = row(jobId, '', status);
  ctx.src.rows = [answered];
  ctx.src.answer(job(answered));
  await started;
  return { ...ctx, answered };
}

test('a job that never ran looks neutral', async () => {
  const { model } = setup([row('train', '', 'unknown')]);
  await model.refresh();
  assert.equal(model.displayStatus(model.rows[0]), 'never');
  model.dispose();
});

test('Start shows progress until the run runs, then a note that goes stale', async () => {
  const { clock, src, model } = setup([row('web', '', 'unknown')]);
  await model.refresh();
  const started = model.start('web');
  await tick();
  assert.equal(model.message('web').kind, 'progress');
  assert.match(model.message('web').text, /^Starting web/);
  assert.equal(model.displayStatus(model.rows[0]), 'starting');
  clock.now += 4000;
  assert.equal(Math.floor(model.elapsed('web') / 1000), 4); // "Starting web… 4 s"
  const running = row('web', '', 'running');
  src.rows = [running];
  src.answer(job(running));
  await started;
  assert.equal(model.operation('web'), null);
  assert.equal(model.message('web').kind, 'note');
  assert.equal(model.message('web').text, 'web is running');
  assert.equal(model.displayStatus(model.rows[0]), 'running');
  clock.now += NOTE_MS + 1;
  await model.refresh();
  assert.equal(model.message('web'), undefined);
  model.dispose();
});

test('a run still pending when the server answers keeps the progress until it fails', async () => {
  const { src, model, answered: pending } = await startedAs('big', 'pending');
  assert.equal(model.operation('big'), 'start');
  assert.match(model.message('big').text, /pending \(waiting to run\)/);
  const failed = { ...pending, status: 'failed' };
  src.rows = [failed];
  src.jobs.set(failed.raw_id, { ...failed, reason: 'preset too big', exit_code: 2 });
  await model.refresh();
  assert.equal(model.operation('big'), null);
  assert.equal(model.message('big').kind, 'error');
  assert.equal(model.message('big').text, 'big failed: preset too big (exit code 2)');
  // an error stays until the job's state changes (here: it runs again)
  src.rows = [row('big', '', 'running')];
  await model.refresh();
  assert.equal(model.message('big'), undefined);
  model.dispose();
});

test('an old "Stopping…" never stays up', async () => {
  const { clock, src, model } = setup([row('sleeper', '', 'running')]);
  await model.refresh();
  const stopping = model.stop('sleeper');
  assert.equal(model.message('sleeper').text, 'Stopping sleeper…');
  assert.equal(model.displayStatus(model.rows[0]), 'stopping');
  src.answer(['Stopping job sleeper']); // answered at once (the kernel's kill does not wait)
  await stopping;
  assert.equal(model.operation('sleeper'), 'stop'); // it still runs: the progress stays
  src.rows = [row('sleeper', '', 'cancelled')];
  await model.refresh();
  assert.equal(model.operation('sleeper'), null);
  assert.equal(model.message('sleeper').text, 'sleeper stopped (cancelled)');
  // a stop that does not take: said after a while, and Stop works again
  src.rows = [row('stubborn', '', 'running')];
  await model.refresh();
  const again = model.stop('stubborn');
  src.answer([]);
  await again;
  clock.now += STOP_PATIENCE_MS + 1;
  await model.refresh();
  assert.equal(model.operation('stubborn'), null);
  assert.match(model.message('stubborn').text, /still runs after Stop/);
  model.dispose();
});

test('a note goes once the job it speaks of changes', async () => {
  const { src, model } = await startedAs('web', 'running');
  assert.equal(model.message('web').text, 'web is running');
  src.rows = [row('web', '', 'cancelled')]; // killed elsewhere
  await model.refresh();
  assert.equal(model.message('web'), undefined);
  model.dispose();
});

test('a multi job starts new instances; one listed before the answer shows as starting', async () => {
  const multi = { multi: true, title: 'Jupyter' };
  const { src, model } = setup([row('jupyter', 'old', 'running', multi)]);
  await model.refresh();
  const started = model.start('jupyter'); // no suffix: a new instance
  assert.deepEqual(model.pendingKeys('jupyter'), ['jupyter +new']);
  assert.match(model.message('jupyter +new').text, /^Starting a new jupyter instance/);
  const fresh = row('jupyter', 'abc123', 'running', multi);
  src.rows = [row('jupyter', 'old', 'running', multi), fresh];
  await model.refresh(); // listed while the server still waits for its page
  const listed = model.rows.find(r => r.suffix === 'abc123');
  assert.equal(model.displayStatus(listed), 'starting');
  assert.equal(model.displayStatus(model.rows.find(r => r.suffix === 'old')), 'running');
  src.answer(job(fresh));
  await started;
  assert.deepEqual(model.pendingKeys('jupyter'), []);
  assert.equal(model.message('jupyter abc123').text, 'jupyter abc123 is running');
  assert.equal(model.displayStatus(listed), 'running');
  assert.equal(src.started[0].suffix, '');
  model.dispose();
});

test('starting what runs already says so; other failures are errors', async () => {
  const { src, model } = setup([row('web', '', 'unknown'), row('bad', '', 'unknown')]);
  await model.refresh();
  let started = model.start('web');
  const elsewhere = row('web', '', 'running'); // started by someone else meanwhile
  src.rows = [elsewhere, row('bad', '', 'unknown')];
  src.fail(Object.assign(new Error('Job web is already running'), {
    status: 409, body: { job: job(elsewhere) }
  }));
  await started;
  assert.equal(model.message('web').kind, 'note');
  assert.equal(model.message('web').text, 'web is running already');
  started = model.start('bad');
  src.fail(Object.assign(new Error('Invalid suffix'), { status: 400, body: {} }));
  await started;
  assert.equal(model.message('bad').kind, 'error');
  assert.equal(model.message('bad').text, 'Could not start bad: Invalid suffix');
  model.dismiss('bad');
  assert.equal(model.message('bad'), undefined);
  model.dispose();
});

test("a multi job's instances: running first, then the latest finished ones", async () => {
  const multi = { multi: true };
  const rows = [row('train', 'a', 'running', multi)];
  for (let i = 0; i < FINISHED_SHOWN + 2; i++) {
    rows.push(row('train', `f${i}`, 'succeeded', { ...multi, when: 10 + i }));
  }
  const { model } = setup(rows);
  await model.refresh();
  const [group] = model.groups();
  assert.equal(group.rows[0].suffix, 'a');
  assert.deepEqual(group.rows.slice(1).map(r => r.suffix), ['f6', 'f5', 'f4', 'f3', 'f2']);
  assert.equal(group.older, 2);
  model.toggleOlder('train');
  assert.equal(model.groups()[0].older, 0);
  model.dispose();
});

test('the start form sends the suffix, changed params and split arguments', async () => {
  const params = { lr: '0.1', name: null, expr: '${{ flow.id }}' };
  const { src, model } = setup([row('train', '', 'unknown', { multi: true, params })]);
  await model.refresh();
  model.openForm('train');
  assert.deepEqual(model.form.params, { lr: '0.1', name: '', expr: '${{ flow.id }}' });
  await model.submitForm();
  assert.equal(model.form.error, 'Required: name'); // nothing sent
  assert.equal(src.started.length, 0);
  model.editForm('name', 'x', true);
  model.editForm('suffix', ' try-1 ');
  model.editForm('args', '--epochs 2 --note "a b" \'c d\'');
  const submitted = model.submitForm();
  assert.equal(model.form, null);
  assert.deepEqual(src.started[0], {
    jobId: 'train', suffix: 'try-1', params: { name: 'x' }, // defaults stay the server's
    args: ['--epochs', '2', '--note', 'a b', 'c d']
  });
  src.fail(new Error('stop here'));
  await submitted;
  model.dispose();
});

test('arguments split as a shell would', () => {
  assert.deepEqual(splitArgs(''), []);
  assert.deepEqual(splitArgs(' a  "b c" d\\ e \'f"g\' ""'), ['a', 'b c', 'd e', 'f"g', '']);
  assert.throws(() => splitArgs('"open'), /Unclosed/);
});
