// What an operation did, in the words the console and the CLI use: a power action by its command (stop,
// start, restart, force stop), anything else by its kind.
import { vmCommand, type VmCommand } from '~/contract/capsul';

const POWER: Record<VmCommand, string> = { start: 'start', stop: 'stop', forceStop: 'force stop', restart: 'restart' };

export function actionOf(kind: string, payload: unknown): string {
  if (kind !== 'vmState') return kind;
  const command = vmCommand.safeParse((payload as { command?: unknown } | null)?.command);
  return command.success ? POWER[command.data] : 'power';
}
