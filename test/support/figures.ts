// Each fault test writes what it did and what it found; scripts/reliability-report.ts turns them into
// docs/RELIABILITY.md.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ROOT } from './processes';

export type FaultFigures = {
  fault: string;
  faultsInjected: number;
  operations: number;
  lost: number;
  doubled: number;
  /** From the end of the fault to the system being whole again (the worst case seen). */
  worstRecoveryMs: number;
  notes?: string;
};

export async function recordFigures(name: string, figures: FaultFigures): Promise<void> {
  const dir = path.join(ROOT, 'test-results/reliability');
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, `${name}.json`), `${JSON.stringify({ ...figures, at: new Date().toISOString() }, null, 2)}\n`);
}
