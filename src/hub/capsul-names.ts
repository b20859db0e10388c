// Capsul names: unique among an account's capsuls that are not deleted (a partial unique index is the check,
// races included), a readable default when none is given, and the errors that name the `name` field.
import { randomInt } from 'node:crypto';
import { TRPCError } from '@trpc/server';
import { fieldError } from '~/lib/trpc-errors';
import type { Db } from './db/client';
import { violatesUnique } from './db/unique-violation';

const ADJECTIVES = [
  'amber', 'brave', 'brisk', 'calm', 'clever', 'cosy', 'crisp', 'eager', 'fair', 'fond', 'gentle', 'glad', 'jolly',
  'keen', 'kind', 'lively', 'lucky', 'merry', 'mellow', 'nimble', 'noble', 'plucky', 'proud', 'quiet', 'rapid',
  'ready', 'silver', 'steady', 'sunny', 'swift', 'tidy', 'witty',
];
const NOUNS = [
  'badger', 'beacon', 'bison', 'cedar', 'comet', 'falcon', 'fern', 'finch', 'fox', 'harbor', 'heron', 'lantern',
  'maple', 'marten', 'meadow', 'otter', 'owl', 'panda', 'pebble', 'pine', 'puffin', 'quail', 'raven', 'river',
  'robin', 'spruce', 'stone', 'tern', 'thistle', 'walrus', 'willow', 'wren',
];

const pick = (words: string[]) => words[randomInt(words.length)]!;

/** An error about the `name` field, named in `data.issues` like every field error. */
export function nameError(code: TRPCError['code'], message: string): TRPCError {
  return fieldError('name', message, code);
}

export function nameTaken(name: string): TRPCError {
  return nameError('CONFLICT', `you already have a capsul named "${name}"; pick another name`);
}

async function taken(db: Db, ownerId: string, name: string): Promise<boolean> {
  return !!(await db.capsul.findFirst({ where: { ownerId, name, deletedAt: null }, select: { id: true } }));
}

/**
 * A short readable name this account does not use yet, e.g. "calm-otter". A create that lost its suggestion
 * to a concurrent one asks again with the next attempt: from the third on, a number makes a clash unlikely
 * however many an account holds.
 */
export async function suggestName(db: Db, ownerId: string, attempt = 1): Promise<string> {
  for (let i = 0; i < 5; i++) {
    const name = attempt < 3 ? `${pick(ADJECTIVES)}-${pick(NOUNS)}` : `${pick(ADJECTIVES)}-${pick(NOUNS)}-${randomInt(1000, 10000)}`;
    if (!(await taken(db, ownerId, name))) return name;
  }
  return `${pick(ADJECTIVES)}-${pick(NOUNS)}-${randomInt(10000, 100000)}`;
}

/** Whether a database error is the unique index on (owner, name) refusing a second capsul of that name. */
export function isNameConflict(err: unknown): boolean {
  return violatesUnique(err, 'Capsul_ownerId_name_key');
}
