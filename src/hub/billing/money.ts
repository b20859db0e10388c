// Amounts between the ledger's integer minor units and decimal strings ("12.34": as people type them, as BTCPay
// speaks them), exactly: no floating point on the way, and a string that is not a whole number of minor units
// is refused, not rounded. One way to write an amount everywhere (pages, mail, CLI): "12.34 EUR".

/** How many decimals the currency's minor unit has (EUR 2, JPY 0, BHD 3), as ISO 4217 (through Intl) says. */
export function minorDigits(currency: string): number {
  return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
}

/** 1234 EUR → "12.34"; 500 JPY → "500". */
export function toDecimal(minor: number, currency: string): string {
  if (!Number.isSafeInteger(minor)) throw new Error(`not a whole number of minor units: ${minor}`);
  const digits = minorDigits(currency);
  const sign = minor < 0 ? '-' : '';
  const abs = String(Math.abs(minor)).padStart(digits + 1, '0');
  return digits === 0 ? `${sign}${abs}` : `${sign}${abs.slice(0, -digits)}.${abs.slice(-digits)}`;
}

/**
 * "12.34" EUR → 1234; "12.340000" → 1234 (zeros past the minor unit are fine); "12.345" EUR → null (not a whole
 * number of cents); anything that is not a plain decimal → null.
 */
export function fromDecimal(text: string, currency: string): number | null {
  const match = /^(-?)(\d{1,15})(?:\.(\d{1,18}))?$/.exec(text.trim());
  if (!match) return null;
  const [, sign, whole, fraction = ''] = match;
  const digits = minorDigits(currency);
  if (/[^0]/.test(fraction.slice(digits))) return null;
  const minor = Number(`${whole}${fraction.slice(0, digits).padEnd(digits, '0')}`);
  if (!Number.isSafeInteger(minor)) return null;
  return sign ? -minor : minor;
}

/** 1234, EUR → "12.34 EUR". */
export function formatMinor(minor: number, currency: string): string {
  return `${toDecimal(minor, currency)} ${currency}`;
}
