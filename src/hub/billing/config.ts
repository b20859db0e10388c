// Billing's settings, read from the environment once they are needed: null while billing is off (no
// BILLING_CURRENCY), and then nothing is charged, checked or mailed for money anywhere in the hub.
import { env, type Env } from '~/env';

const HOUR = 3_600_000;

export type BillingConfig = {
  currency: string;
  meterPeriodMs: number;
  minBalanceHours: number;
  warnMs: number;
  stopGraceMs: number;
  deleteGraceMs: number;
};

export function billingConfig(e: Env = env()): BillingConfig | null {
  if (!e.BILLING_CURRENCY) return null;
  return {
    currency: e.BILLING_CURRENCY,
    meterPeriodMs: e.BILLING_METER_PERIOD_MS,
    minBalanceHours: e.BILLING_MIN_BALANCE_HOURS,
    warnMs: e.BILLING_WARN_MS ?? e.BILLING_WARN_DAYS * 24 * HOUR,
    stopGraceMs: e.BILLING_STOP_GRACE_MS ?? e.BILLING_STOP_GRACE_HOURS * HOUR,
    deleteGraceMs: e.BILLING_DELETE_GRACE_MS ?? e.BILLING_DELETE_GRACE_HOURS * HOUR,
  };
}

/** Billing's configuration, or a clear refusal for what needs it. */
export function requireBilling(e: Env = env()): BillingConfig {
  const config = billingConfig(e);
  if (!config) throw new BillingOffError();
  return config;
}

export class BillingOffError extends Error {
  constructor() {
    super('billing is off on this hub (set BILLING_CURRENCY to turn it on)');
  }
}
