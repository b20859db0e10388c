// Log lines an operator can use: an error keeps its stack and its causes, and levels below LOG_LEVEL are not
// written. The logger writes to the process's stdout, so it is run in a process of its own and read back.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { execa } from 'execa';
import { ROOT } from '../support/processes';

describe('logs', () => {
  test('an error is logged with its stack and its cause; debug lines stay out at info', async () => {
    const script = path.join(os.tmpdir(), `capsul-log-${process.pid}.ts`);
    await writeFile(
      script,
      `import { log } from '${path.join(ROOT, 'src/lib/log.ts')}';
       const cause = new Error('connect ECONNREFUSED 127.0.0.1:5432');
       log.debug('not shown');
       log.child({ operationId: 'op-1' }).error('could not record an operation', { err: new Error('the write failed', { cause }) });`,
    );
    const { stdout } = await execa(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, env: { LOG_LEVEL: 'info' } });
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(lines.length, 1, 'the debug line is not written');
    const [line] = lines as [{ level: string; msg: string; operationId: string; time: string; err: { message: string; stack: string; cause?: { message: string } } }];
    assert.equal(line.level, 'error');
    assert.equal(line.msg, 'could not record an operation');
    assert.equal(line.operationId, 'op-1');
    assert.match(line.time, /^\d{4}-\d\d-\d\dT/);
    assert.match(line.err.message, /the write failed/);
    assert.match(line.err.stack, /at .*capsul-log-/, 'the stack says where');
    assert.match(JSON.stringify(line.err), /connect ECONNREFUSED/, 'the cause is kept');
  });
});
