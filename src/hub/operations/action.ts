// What an operation did, in the words the console and the CLI use: a power action by its command (stop,
// start, restart, force stop), a change with what it was about (the size, the snapshot), anything else by
// its kind.
import { vmCommand, type VmCommand } from '~/contract/capsul';

const POWER: Record<VmCommand, string> = { start: 'start', stop: 'stop', forceStop: 'force stop', restart: 'restart' };
const CHANGE: Record<string, (p: Record<string, unknown>) => string> = {
  resize: (p) => `resize${typeof p.sizeId === 'string' ? ` to ${p.sizeId}` : ''}`,
  snapshotCreate: (p) => `snapshot${typeof p.name === 'string' ? ` "${p.name}"` : ''}`,
  snapshotRevert: (p) => `revert${typeof p.name === 'string' ? ` to "${p.name}"` : ''}`,
  snapshotDelete: (p) => `delete snapshot${typeof p.name === 'string' ? ` "${p.name}"` : ''}`,
  rebuild: () => 'rebuild',
};

export function actionOf(kind: string, payload: unknown): string {
  const p = (payload ?? {}) as Record<string, unknown>;
  if (CHANGE[kind]) return CHANGE[kind](p);
  if (kind !== 'vmState') return kind;
  const command = vmCommand.safeParse(p.command);
  return command.success ? POWER[command.data] : 'power';
}
