import type { Metadata } from 'next';
import { DriftReport } from './drift-report';

export const metadata: Metadata = { title: 'Drift' };

export default function DriftPage() {
  return (
    <>
      <h1>Drift</h1>
      <p className="muted">Where the database and what the hosts report disagree. Nothing here is changed on its own.</p>
      <DriftReport />
    </>
  );
}
