// Security headers on everything the hub's HTTPS server answers: pages, /api/trpc and /metrics.
// Pages get a Content-Security-Policy with a fresh script nonce per request. Next.js reads that nonce from
// the *request's* Content-Security-Policy header and puts it on every script it renders (which is why every
// page is rendered per request, see src/app/layout.tsx), so the policy is set on the request before Next
// sees it, replacing any the client sent, and on the response.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** The page policy. Scripts: only those carrying the nonce, and what they load ('strict-dynamic'). Inline
 * styles stay allowed: React components set `style` attributes. */
export function pagePolicy(nonce: string): string {
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** JSON and metrics are never a document: nothing may load from them, nothing may frame them. */
const API_POLICY = "default-src 'none'; frame-ancestors 'none'";

/**
 * HSTS is left out when the console is reached as `localhost` (the quick start): a browser keeps it per host
 * name, not per port, and would then force HTTPS on every other development server on localhost for a year.
 * (Browsers ignore it for IP addresses anyway.)
 */
function wantsHsts(publicUrl: string): boolean {
  const host = new URL(publicUrl).hostname;
  return host !== 'localhost' && !host.endsWith('.localhost');
}

export function securityHeaders(publicUrl: string, apiPrefixes: string[]) {
  const hsts = wantsHsts(publicUrl);
  return (req: IncomingMessage, res: ServerResponse): void => {
    const isPage = !apiPrefixes.some((prefix) => req.url?.startsWith(prefix));
    delete req.headers['content-security-policy-report-only'];
    if (isPage) {
      const policy = pagePolicy(randomBytes(16).toString('base64'));
      req.headers['content-security-policy'] = policy;
      res.setHeader('Content-Security-Policy', policy);
    } else {
      delete req.headers['content-security-policy'];
      res.setHeader('Content-Security-Policy', API_POLICY);
    }
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    // Not no-referrer: with it, browsers send `Origin: null` on the console's own POSTs, which the CSRF check
    // then refuses. same-origin keeps the sign-in link's token out of any other site's logs all the same.
    res.setHeader('Referrer-Policy', 'same-origin');
    if (hsts) res.setHeader('Strict-Transport-Security', 'max-age=31536000');
  };
}
