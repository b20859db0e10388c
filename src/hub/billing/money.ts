// Amounts as people read them: minor units in BILLING_CURRENCY's own digits (EUR 12.34, JPY 1234).
export function formatMinor(minor: number, currency: string): string {
  const format = new Intl.NumberFormat('en', { style: 'currency', currency, currencyDisplay: 'code' });
  const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
  return format.format(minor / 10 ** digits).replace(/\u00a0/g, ' ');
}

/** Minor units from a decimal amount as typed ("12.34" → 1234 in EUR); null when it is not one. */
export function parseAmount(text: string, currency: string): number | null {
  const digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  const m = /^(-)?(\d{1,9})(?:\.(\d+))?$/.exec(text.trim());
  if (!m || (m[3] && m[3].length > digits)) return null;
  const minor = Number(m[2]) * 10 ** digits + Number((m[3] ?? '').padEnd(digits, '0') || 0);
  return m[1] ? -minor : minor;
}
