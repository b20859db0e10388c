// Top-ups as records (the Payment table): one row from the moment someone asks to top up, whatever happens
// after. The money is never here: it is in the ledger, credited through `creditPayment` under the rail's
// idempotency key when the rail reports the payment (providers/stripe.ts, providers/btcpay.ts). A row's
// status follows what the rail reports; `paid` is final, any other status may still change (an expired
// BTCPay invoice paid late, an invoice paid in part and then in full).
import type { Payment, PaymentStatus } from '~/generated/prisma/client';
import type { Db } from '../db/client';
import { creditPayment } from './ledger';
import type { RailName } from './rails';

export type { Payment, PaymentStatus };

export async function startPayment(db: Db, p: { accountId: string; provider: RailName; amountMinor: number; currency: string; actor: string }): Promise<Payment> {
  return db.payment.create({ data: p });
}

/** The rail's own id for this top-up (the Checkout Session, the invoice), once the rail has answered. */
export async function attachProviderRef(db: Db, id: string, providerRef: string): Promise<void> {
  await db.payment.update({ where: { id }, data: { providerRef } });
}

/** The top-up a rail's reference names, or null: a rail reports only on what this hub started. */
export async function paymentByRef(db: Db, provider: RailName, providerRef: string): Promise<Payment | null> {
  return db.payment.findUnique({ where: { provider_providerRef: { provider, providerRef } } });
}

/**
 * Records what the rail says about a top-up that is not paid: expired, partial, invalid, or back to pending.
 * A paid top-up stays paid (the ledger has its credit; a late contrary report changes nothing): false then.
 */
export async function markPayment(db: Db, id: string, status: Exclude<PaymentStatus, 'paid'>, detail: string | null): Promise<boolean> {
  const changed = await db.payment.updateMany({ where: { id, status: { not: 'paid' } }, data: { status, detail } });
  return changed.count > 0;
}

/**
 * Credits a paid top-up once and marks it paid. The credit comes first: should the hub stop between the two,
 * the rail's redelivery finds the credit (same key, `created: false`) and marks the row then.
 */
export async function settlePayment(
  db: Db,
  payment: Payment,
  paid: { amountMinor: number; currency: string; idempotencyKey: string; note: string },
): Promise<{ created: boolean; entryId: string }> {
  const { entry, created } = await creditPayment(db, {
    accountId: payment.accountId,
    amountMinor: paid.amountMinor,
    currency: paid.currency,
    provider: payment.provider,
    providerRef: payment.providerRef ?? payment.id,
    idempotencyKey: paid.idempotencyKey,
    actor: payment.provider,
    note: paid.note,
  });
  await db.payment.updateMany({ where: { id: payment.id, status: { not: 'paid' } }, data: { status: 'paid', detail: null, paidAt: entry.createdAt } });
  return { created, entryId: entry.id };
}

/** An account's top-ups, newest first, for its billing page. */
export async function paymentsOf(db: Db, accountId: string, take = 50): Promise<Payment[]> {
  return db.payment.findMany({ where: { accountId }, orderBy: { createdAt: 'desc' }, take });
}
