// A build's progress reports: sent without waiting, at most two at once, a step not sent yet replaced by its
// operation's next one, and a report that fails is dropped without a word to the build.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { BuildStep } from '~/contract/hub';
import { log } from '~/lib/log';
import { ProgressReports } from '~/spoke/progress';

process.env.LOG_LEVEL = 'error';

type Sent = { operationId: string; step: BuildStep; answer: (ok: boolean) => void };

function hub() {
  const sent: Sent[] = [];
  const send = (r: { operationId: string; step: BuildStep }) =>
    new Promise<void>((resolve, reject) => sent.push({ ...r, answer: (ok) => (ok ? resolve() : reject(new Error('lost'))) }));
  return { sent, reports: new ProgressReports(send, log) };
}
const tick = () => new Promise((r) => setImmediate(r));

describe('progress reports', () => {
  test('at most two out at once; a waiting step is replaced by the next of the same build', async () => {
    const { sent, reports } = hub();
    const a = reports.of('op-a');
    const b = reports.of('op-b');
    const c = reports.of('op-c');
    a('disk');
    b('disk');
    c('disk'); // waits: two are out
    c('seed'); // replaces it
    a('seed'); // waits behind c
    await tick();
    assert.deepEqual(sent.map((s) => `${s.operationId}:${s.step}`), ['op-a:disk', 'op-b:disk']);
    sent[0]!.answer(false); // a lost report: fine
    await tick();
    assert.deepEqual(sent.map((s) => `${s.operationId}:${s.step}`), ['op-a:disk', 'op-b:disk', 'op-c:seed']);
    sent[1]!.answer(true);
    await tick();
    assert.deepEqual(sent.map((s) => `${s.operationId}:${s.step}`).slice(3), ['op-a:seed']);
  });

  test('what is left of a build that ended is not sent', async () => {
    const { sent, reports } = hub();
    reports.of('op-a')('disk');
    reports.of('op-b')('disk');
    reports.of('op-c')('booting');
    reports.forget('op-c');
    await tick();
    sent[0]!.answer(true);
    await tick();
    assert.deepEqual(sent.map((s) => s.operationId), ['op-a', 'op-b']);
  });

  test('a send that throws at once does not reach the build', async () => {
    const reports = new ProgressReports(() => {
      throw new Error('no client');
    }, log);
    assert.doesNotThrow(() => reports.of('op-a')('disk'));
    await tick();
  });
});
