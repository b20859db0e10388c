'use client';
// The capsul's Changes: resize, snapshots, rebuild. One change at a time: while one runs, every card says so
// and offers nothing else.
import { RebuildCard } from './rebuild-card';
import { ResizeCard } from './resize-card';
import { SnapshotsCard } from './snapshots-card';
import { useChanges } from './use-changes';

type Capsul = { id: string; name: string; image: string; ipv4: string | null; ipv6: string | null };

export function ChangesArea({ capsul }: { capsul: Capsul }) {
  const changes = useChanges(capsul.id);
  return (
    <section aria-labelledby="changes" data-testid="changes">
      <h2 id="changes">Changes</h2>
      <ResizeCard id={capsul.id} changes={changes} />
      <SnapshotsCard id={capsul.id} changes={changes} />
      <RebuildCard capsul={capsul} changes={changes} />
    </section>
  );
}
