// Signing in through the hub's API the way the console does, with the link taken from the hub's log (a hub
// without SMTP_URL writes its mail there). Returns a typed client carrying the session cookie.
import { readFileSync } from 'node:fs';
import { createTRPCClient, httpLink, type TRPCClient } from '@trpc/client';
import superjson from 'superjson';
import type { HubRouter } from '~/hub/root';
import { httpsFetch, type FetchLike } from '~/lib/https-fetch';
import { until, type Hub } from './processes';
import type { TestTls } from './tls';

export type Session = { email: string; cookie: string; setCookie: string; client: TRPCClient<HubRouter>; fetch: FetchLike };

export function linkTokensFor(hub: Hub, email: string): string[] {
  return hub.proc
    .logs()
    .split('\n')
    .filter((l) => l.includes('"msg":"mail (no SMTP_URL') && l.includes(`"to":"${email}"`))
    .map((l) => /token=([A-Za-z0-9_-]{43})/.exec(l)?.[1])
    .filter((t): t is string => !!t);
}

export async function requestLink(hub: Hub, fetch: FetchLike, email: string): Promise<Response> {
  return fetch(`${hub.url}/api/trpc/auth.requestLink`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: hub.url },
    body: JSON.stringify({ json: { email } }),
  });
}

export async function verify(hub: Hub, fetch: FetchLike, token: string): Promise<Response> {
  return fetch(`${hub.url}/api/trpc/auth.verify`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: hub.url },
    body: JSON.stringify({ json: { token } }),
  });
}

export function clientWithCookie(hub: Hub, fetch: FetchLike, cookie: string, origin = hub.url): TRPCClient<HubRouter> {
  return createTRPCClient<HubRouter>({
    links: [httpLink({ url: `${hub.url}/api/trpc`, transformer: superjson, fetch, headers: { cookie, origin } })],
  });
}

export async function signIn(hub: Hub, tls: TestTls, email: string): Promise<Session> {
  const fetch = httpsFetch({ ca: readFileSync(tls.caFile) });
  const known = linkTokensFor(hub, email).length;
  const asked = await requestLink(hub, fetch, email);
  if (asked.status !== 200) throw new Error(`requestLink: ${asked.status} ${await asked.text()}`);
  const token = await until(`the sign-in mail for ${email} in the hub's log`, async () => linkTokensFor(hub, email)[known], 10_000, 50);
  const res = await verify(hub, fetch, token);
  if (res.status !== 200) throw new Error(`verify: ${res.status} ${await res.text()}`);
  const setCookie = res.headers.get('set-cookie') ?? '';
  const cookie = setCookie.split(';')[0]!;
  return { email, cookie, setCookie, client: clientWithCookie(hub, fetch, cookie), fetch };
}
