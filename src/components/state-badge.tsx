const LABELS: Record<string, string> = { shutting_down: 'shutting down', assigned_to_other_host: 'other host' };

export function StateBadge({ state }: { state: string }) {
  return <span className={`badge ${state}`}>{LABELS[state] ?? state.replace(/_/g, ' ')}</span>;
}

/** An operation's state; a console session in progress is `assigned` in the log, and reads "open". */
export function OperationStateBadge({ operation }: { operation: { action: string; state: string } }) {
  if (operation.action === 'console' && operation.state === 'assigned') return <span className="badge assigned">open</span>;
  return <StateBadge state={operation.state} />;
}
