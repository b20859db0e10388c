// A capsul as a list shows it: what the console's tables and `capsul list` print, and nothing else. A list
// of a thousand capsuls is sent whole (and rendered on the server), so every field here is paid for once
// per row. The owner's email comes only with admin lists (`all`, `owner`): an account's own list knows it.
import type { CapsulState } from './capsul';

type Source = {
  id: string;
  name: string;
  state: CapsulState;
  ipv4: string | null;
  vcpus: number;
  memoryMb: number;
  diskGb: number;
  image: string;
  hostId: string | null;
  createdAt: Date;
  owner?: { email: string };
};

export type CapsulRow = Omit<Source, 'owner'> & { ownerEmail?: string };

/** The columns to read for a row (a Prisma `select`); `withOwner` adds the owner's email. */
export function capsulRowSelect(withOwner: boolean) {
  return {
    id: true, name: true, state: true, ipv4: true, vcpus: true, memoryMb: true, diskGb: true, image: true, hostId: true,
    createdAt: true,
    ...(withOwner ? { owner: { select: { email: true } } } : {}),
  } as const;
}

/** A row from a capsul read with at least those columns (a list's, or a live update's full record). */
export function capsulRow(c: Source, withOwner: boolean): CapsulRow {
  const row: CapsulRow = {
    // A missing capsul's address is kept for when its VM is back, but there is nothing at it now.
    id: c.id, name: c.name, state: c.state, ipv4: c.state === 'missing' ? null : c.ipv4, vcpus: c.vcpus, memoryMb: c.memoryMb, diskGb: c.diskGb, image: c.image,
    hostId: c.hostId, createdAt: c.createdAt,
  };
  if (withOwner && c.owner) row.ownerEmail = c.owner.email;
  return row;
}
