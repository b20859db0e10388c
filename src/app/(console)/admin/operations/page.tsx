import type { Metadata } from 'next';
import { OperationsLog } from './operations-log';

export const metadata: Metadata = { title: 'Operations' };

export default function OperationsPage() {
  return (
    <>
      <h1>Operations</h1>
      <OperationsLog />
    </>
  );
}
