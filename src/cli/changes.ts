// The change commands: resize, snapshots, rebuild. Each starts an owner-directed async operation and prints
// its id at once; with --wait it follows the operation until it ends (exit 1 if it failed).
import type { HubAdminClient } from './hub-admin-client';
import { UsageError } from './usage-error';

export const CHANGE_COMMANDS = ['resize', 'snapshot', 'rebuild'];

export type ChangeValues = { json?: boolean; size?: string; name?: string; note?: string; image?: string; confirm?: string; wait?: boolean };

/** Raised by --wait for a change that failed: the CLI's error path prints it and exits 1. */
export class ChangeFailed extends Error {}

async function waitFor(hub: HubAdminClient, operationId: string) {
  for (;;) {
    const op = await hub.operation.byId.query({ id: operationId });
    if (op.state === 'completed') return op;
    if (op.state === 'failed' || op.state === 'conflict') throw new ChangeFailed(`${op.action} failed: ${op.error ?? 'no reason given'} (operation ${op.id})`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

function bytes(n: number | null): string {
  if (n === null) return '-';
  return n >= 1024 ** 3 ? `${(n / 1024 ** 3).toFixed(1)} GiB` : `${(n / 1024 ** 2).toFixed(1)} MiB`;
}

export async function changeCommand(hub: HubAdminClient, args: string[], values: ChangeValues, keys: () => string[]): Promise<unknown> {
  const [command, sub, third, fourth] = args;
  const need = (value: string | undefined, what: string): string => {
    if (!value) throw new UsageError(`missing ${what}`);
    return value;
  };
  const started = async (start: Promise<{ operationId: string }>) => {
    const { operationId } = await start;
    if (!values.wait) return values.json ? { operationId } : `started: operation ${operationId} (follow it with: operation ${operationId})`;
    const op = await waitFor(hub, operationId);
    return values.json ? op : `${op.action}: completed in ${op.completedAt!.getTime() - op.createdAt.getTime()} ms (operation ${op.id})`;
  };
  switch (command) {
    case 'resize':
      return started(hub.capsul.resize.mutate({ id: need(sub, 'capsul id'), size: need(values.size, '--size') }));
    case 'rebuild':
      return started(
        hub.capsul.rebuild.mutate({ id: need(sub, 'capsul id'), image: need(values.image, '--image'), confirm: need(values.confirm, "--confirm <the capsul's name>"), sshAuthorizedKeys: keys() }),
      );
    case 'snapshot': {
      const capsulId = need(third, 'capsul id');
      switch (sub) {
        case 'create':
          return started(hub.snapshot.create.mutate({ capsulId, name: need(values.name, '--name'), note: values.note }));
        case 'revert':
          return started(hub.snapshot.revert.mutate({ capsulId, snapshotId: need(fourth, 'snapshot id') }));
        case 'delete':
          return started(hub.snapshot.delete.mutate({ capsulId, snapshotId: need(fourth, 'snapshot id') }));
        case 'list': {
          const list = await hub.snapshot.list.query({ capsulId });
          if (values.json) return list;
          return list.snapshots.map((s) => ({ id: s.id, name: s.name, state: s.state, size: bytes(s.bytes), taken: s.takenAt, note: s.note }));
        }
      }
      throw new UsageError(`unknown: snapshot ${sub ?? ''} (create, list, revert or delete)`);
    }
  }
  throw new UsageError(`unknown command: ${command}`);
}
