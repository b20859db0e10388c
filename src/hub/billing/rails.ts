// Which payment rails this hub offers, from its configuration: a rail is on only when every one of its
// variables is set (src/env.ts refuses a rail half set, or one without BILLING_CURRENCY). Nothing here asks a
// provider anything.
import { env, type Env } from '~/env';

export type RailName = 'stripe' | 'btcpay';

/** What people call each rail, in messages. */
export const RAIL_LABEL: Record<RailName, string> = { stripe: 'Card payments (Stripe)', btcpay: 'Bitcoin payments (BTCPay Server)' };

export type StripeRail = {
  secretKey: string;
  webhookSecret: string;
  /** STRIPE_API_BASE taken apart the way the SDK takes it (it has no base-URL option). */
  host: string;
  port: number;
  protocol: 'https' | 'http';
  maxNetworkRetries: number;
};

export type BtcpayRail = { baseUrl: string; apiKey: string; storeId: string; webhookSecret: string };

export function stripeRail(e: Env = env()): StripeRail | null {
  if (!e.STRIPE_SECRET_KEY || !e.STRIPE_WEBHOOK_SECRET || !e.BILLING_CURRENCY) return null;
  const base = new URL(e.STRIPE_API_BASE);
  const protocol = base.protocol === 'http:' ? 'http' : 'https';
  return {
    secretKey: e.STRIPE_SECRET_KEY,
    webhookSecret: e.STRIPE_WEBHOOK_SECRET,
    host: base.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: base.port ? Number(base.port) : protocol === 'http' ? 80 : 443,
    protocol,
    maxNetworkRetries: e.STRIPE_MAX_NETWORK_RETRIES,
  };
}

export function btcpayRail(e: Env = env()): BtcpayRail | null {
  if (!e.BTCPAY_URL || !e.BTCPAY_API_KEY || !e.BTCPAY_STORE_ID || !e.BTCPAY_WEBHOOK_SECRET || !e.BILLING_CURRENCY) return null;
  return { baseUrl: e.BTCPAY_URL, apiKey: e.BTCPAY_API_KEY, storeId: e.BTCPAY_STORE_ID, webhookSecret: e.BTCPAY_WEBHOOK_SECRET };
}

/** The rails that are on, for the console to offer only those. */
export function railsOn(e: Env = env()): RailName[] {
  return [stripeRail(e) && 'stripe', btcpayRail(e) && 'btcpay'].filter((r): r is RailName => !!r);
}
