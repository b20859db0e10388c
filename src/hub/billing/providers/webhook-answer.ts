// What a rail's webhook handler answers: the HTTP status the provider sees (2xx: delivered, do not retry;
// 4xx: refused; 5xx: retry later) and a small JSON body for whoever reads the provider's delivery log.
export type WebhookAnswer = { status: number; body: Record<string, unknown> };
