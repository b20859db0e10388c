// Default catalogs, written once: rows an operator has edited or removed are left as they are.
import type { Db } from './client';

export const DEFAULT_SIZES = [
  { id: 'nano', name: 'Nano', vcpus: 1, memoryMb: 512, diskGb: 10, sortOrder: 10 },
  { id: 'small', name: 'Small', vcpus: 1, memoryMb: 1024, diskGb: 25, sortOrder: 20 },
  { id: 'medium', name: 'Medium', vcpus: 2, memoryMb: 2048, diskGb: 50, sortOrder: 30 },
  { id: 'large', name: 'Large', vcpus: 4, memoryMb: 4096, diskGb: 80, sortOrder: 40 },
];

export const DEFAULT_IMAGES = [
  { id: 'debian-12', name: 'Debian 12 (bookworm)', file: 'debian-12-genericcloud-amd64.qcow2', loginUser: 'debian', sortOrder: 10 },
  { id: 'ubuntu-24.04', name: 'Ubuntu 24.04 LTS', file: 'ubuntu-24.04-server-cloudimg-amd64.img', loginUser: 'ubuntu', sortOrder: 20 },
  { id: 'alpine-3.20', name: 'Alpine Linux 3.20', file: 'alpine-3.20-cloudinit-amd64.qcow2', loginUser: 'alpine', sortOrder: 30 },
];

export async function seedCatalogs(db: Db): Promise<void> {
  const seeded = await db.vmSize.count();
  if (seeded === 0) await db.vmSize.createMany({ data: DEFAULT_SIZES, skipDuplicates: true });
  const images = await db.osImage.count();
  if (images === 0) await db.osImage.createMany({ data: DEFAULT_IMAGES, skipDuplicates: true });
}
