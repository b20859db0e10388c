// Rows for billing tests: a capsul as the hub leaves it after a create (its create operation, the owner's
// HostOperation with the claim's assignedAt, the capsul on that host), in whatever state the test needs.
import { randomUUID } from 'node:crypto';
import type { Db } from '~/hub/db/client';
import { reloadEnv } from '~/env';
import { hashToken, newToken } from '~/lib/tokens';

/** Billing on, in EUR, for tests that call the billing module in-process. */
export function billingOn(extra: Record<string, string> = {}): void {
  Object.assign(process.env, { BILLING_CURRENCY: 'EUR', ...extra });
  reloadEnv();
}

export async function ensureHost(db: Db, id = 'h1'): Promise<void> {
  await db.host.createMany({ data: [{ id, httpsUrl: `https://${id}.test:8443`, tokenHash: hashToken(newToken()) }], skipDuplicates: true });
}

export async function placedCapsul(
  db: Db,
  c: {
    id: string;
    ownerId: string;
    sizeId: string | null;
    assignedAt: Date;
    create: 'completed' | 'failed' | 'conflict' | 'assigned';
    deletedAt?: Date | null;
    hostId?: string;
  },
): Promise<{ operationId: string }> {
  const hostId = c.hostId ?? 'h1';
  await ensureHost(db, hostId);
  const operationId = randomUUID();
  const built = c.create === 'completed';
  await db.capsul.create({
    data: {
      id: c.id, name: c.id, ownerId: c.ownerId, hostId, vcpus: 1, memoryMb: 512, diskGb: 10, image: 'debian-12', sizeId: c.sizeId,
      state: c.deletedAt ? 'deleted' : built ? 'running' : c.create === 'assigned' ? 'creating' : 'failed', deletedAt: c.deletedAt ?? (built || c.create === 'assigned' ? null : c.assignedAt),
      createdAt: c.assignedAt,
    },
  });
  await db.operation.create({
    data: {
      id: operationId, kind: 'create', payload: {}, state: c.create, actor: 'test', capsulId: c.id, hostId, createdAt: c.assignedAt,
      completedAt: c.create === 'assigned' ? null : c.assignedAt,
      hostOperations: { create: [{ hostId, assignmentStatus: 'assigned', assignedAt: c.assignedAt }] },
    },
  });
  return { operationId };
}
