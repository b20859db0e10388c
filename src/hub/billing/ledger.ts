// The ledger: every change to an account's money is one appended entry, and the balance is their sum, never
// a column edited in place (the database refuses UPDATE and DELETE on the table, see the billing migration).
// Every entry carries an idempotency key, unique in the table: the same payment reported twice, a metering
// run repeated after a crash, or two hubs metering at once all arrive with the same key, and the second
// insert finds the first instead of adding to it. A duplicate is not an error: the existing entry comes back
// with `created: false`.
//
// The payment rails (Stripe, BTCPay, an admin's manual credit) all credit through `creditPayment`.
import type { LedgerEntry, LedgerKind, Prisma } from '~/generated/prisma/client';
import type { Db } from '../db/client';
import { requireBilling } from './config';

export type { LedgerEntry, LedgerKind };
type Writer = Db | Prisma.TransactionClient;

/** A refusal of an entry: nothing was written. `field` names what was wrong, for a form or an API answer. */
export class LedgerRefusal extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

export type NewEntry = {
  accountId: string;
  kind: LedgerKind;
  /** Signed, in minor units: credits (payment, credit) positive, charges (usage, debit, refund) negative. */
  amountMinor: number;
  currency: string;
  idempotencyKey: string;
  actor: string;
  capsulId?: string | null;
  note?: string | null;
  provider?: string | null;
  providerRef?: string | null;
  usageFrom?: Date | null;
  usageUntil?: Date | null;
  usageUnits?: bigint | null;
};

const INT_MAX = 2_147_483_647;
// What each kind may be: money in is positive, money out negative; usage may be zero (an hour that did not
// yet add up to a whole minor unit).
const SIGN: Record<LedgerKind, (n: number) => boolean> = {
  payment: (n) => n > 0,
  credit: (n) => n > 0,
  usage: (n) => n <= 0,
  debit: (n) => n < 0,
  refund: (n) => n < 0,
};

function check(entry: NewEntry): void {
  const { amountMinor, kind } = entry;
  if (!Number.isSafeInteger(amountMinor) || Math.abs(amountMinor) > INT_MAX) {
    throw new LedgerRefusal('amountMinor', `the amount must be a whole number of minor units, at most ${INT_MAX} either way`);
  }
  if (!SIGN[kind](amountMinor)) {
    throw new LedgerRefusal('amountMinor', `a ${kind} entry must be ${kind === 'usage' ? 'zero or negative' : kind === 'payment' || kind === 'credit' ? 'positive' : 'negative'} (got ${amountMinor})`);
  }
  const { currency } = requireBilling();
  if (entry.currency !== currency) throw new LedgerRefusal('currency', `the ledger is in ${currency}, not ${entry.currency}`);
  if (!entry.idempotencyKey || entry.idempotencyKey.length > 300) throw new LedgerRefusal('idempotencyKey', 'an entry needs an idempotency key of at most 300 characters');
}

/**
 * Appends one entry unless an entry with its idempotency key exists; returns the entry that holds for that
 * key and whether this call made it. One statement (INSERT … ON CONFLICT DO NOTHING), so concurrent callers
 * with the same key make one entry between them.
 */
export async function appendEntry(db: Writer, entry: NewEntry): Promise<{ entry: LedgerEntry; created: boolean }> {
  check(entry);
  const made = await db.ledgerEntry.createManyAndReturn({ data: [entry], skipDuplicates: true });
  if (made[0]) return { entry: made[0], created: true };
  const existing = await db.ledgerEntry.findUnique({ where: { idempotencyKey: entry.idempotencyKey } });
  if (!existing) throw new Error(`ledger entry ${entry.idempotencyKey} was neither written nor found`);
  return { entry: existing, created: false };
}

/** An account's balance in minor units: the sum of its entries. */
export async function balance(db: Writer, accountId: string): Promise<number> {
  const sum = await db.ledgerEntry.aggregate({ where: { accountId }, _sum: { amountMinor: true } });
  return Number(sum._sum.amountMinor ?? 0);
}

/** Balances of several accounts at once (0 for an account with no entries). */
export async function balances(db: Writer, accountIds: string[]): Promise<Map<string, number>> {
  const rows = await db.ledgerEntry.groupBy({ by: ['accountId'], where: { accountId: { in: accountIds } }, _sum: { amountMinor: true } });
  const out = new Map(accountIds.map((id) => [id, 0]));
  for (const r of rows) out.set(r.accountId, Number(r._sum.amountMinor ?? 0));
  return out;
}

export type PaymentProvider = 'stripe' | 'btcpay' | 'manual';

export type Payment = {
  accountId: string;
  /** Positive, in minor units of BILLING_CURRENCY. */
  amountMinor: number;
  currency: string;
  provider: PaymentProvider;
  /** The provider's reference: the Checkout session id, the BTCPay invoice id, a bank transfer's reference. */
  providerRef: string;
  /** The same for every report of this payment (e.g. `stripe:<event or session id>`). */
  idempotencyKey: string;
  actor: string;
  note?: string;
};

/**
 * Credits a payment once. Refused with nothing written (a LedgerRefusal) when the amount is not a positive
 * whole number of minor units, the currency is not BILLING_CURRENCY, or the account does not exist. A payment
 * reported again with the same idempotency key returns the first entry, `created: false`.
 */
export async function creditPayment(db: Db, payment: Payment): Promise<{ entry: LedgerEntry; created: boolean }> {
  if (!Number.isSafeInteger(payment.amountMinor) || payment.amountMinor <= 0) {
    throw new LedgerRefusal('amountMinor', `a payment must be a positive whole number of minor units (got ${payment.amountMinor})`);
  }
  const { currency } = requireBilling();
  if (payment.currency.toUpperCase() !== currency) throw new LedgerRefusal('currency', `payments are taken in ${currency}, not ${payment.currency}`);
  const account = await db.account.findUnique({ where: { id: payment.accountId }, select: { id: true } });
  if (!account) throw new LedgerRefusal('accountId', `no account ${payment.accountId}`);
  return appendEntry(db, {
    accountId: payment.accountId,
    kind: 'payment',
    amountMinor: payment.amountMinor,
    currency,
    idempotencyKey: payment.idempotencyKey,
    actor: payment.actor,
    provider: payment.provider,
    providerRef: payment.providerRef,
    note: payment.note ?? null,
  });
}

/** An admin's credit (positive) or debit (negative) with a note saying why; once per idempotency key. */
export async function adjustBalance(
  db: Db,
  adjustment: { accountId: string; amountMinor: number; note: string; actor: string; idempotencyKey: string },
): Promise<{ entry: LedgerEntry; created: boolean }> {
  const { currency } = requireBilling();
  if (!adjustment.note.trim()) throw new LedgerRefusal('note', 'say why, in a note');
  if (adjustment.amountMinor === 0) throw new LedgerRefusal('amountMinor', 'a credit or debit of nothing changes nothing');
  return appendEntry(db, {
    accountId: adjustment.accountId,
    kind: adjustment.amountMinor > 0 ? 'credit' : 'debit',
    amountMinor: adjustment.amountMinor,
    currency,
    idempotencyKey: adjustment.idempotencyKey,
    actor: adjustment.actor,
    note: adjustment.note.trim(),
  });
}
