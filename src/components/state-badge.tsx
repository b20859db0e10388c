const LABELS: Record<string, string> = { shutting_down: 'shutting down', assigned_to_other_host: 'other host' };

export function StateBadge({ state }: { state: string }) {
  return <span className={`badge ${state}`}>{LABELS[state] ?? state.replace(/_/g, ' ')}</span>;
}
