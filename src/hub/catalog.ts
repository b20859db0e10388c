// Turns what a person picks (a size, an image) into what a create needs, from the OsImage and VmSize rows.
import { fieldError } from '~/lib/trpc-errors';
import type { Db } from './db/client';

export async function findImage(db: Db, id: string) {
  const image = await db.osImage.findUnique({ where: { id } });
  if (!image || !image.enabled) throw fieldError('image', `there is no image "${id}"; pick one of the images offered`);
  return image;
}

export async function findSize(db: Db, id: string) {
  const size = await db.vmSize.findUnique({ where: { id } });
  if (!size) throw fieldError('size', `there is no size "${id}"; pick one of the sizes offered`);
  return size;
}

export function listCatalog(db: Db) {
  return Promise.all([
    db.vmSize.findMany({ orderBy: [{ sortOrder: 'asc' }, { id: 'asc' }] }),
    db.osImage.findMany({ where: { enabled: true }, orderBy: [{ sortOrder: 'asc' }, { id: 'asc' }] }),
  ]).then(([sizes, images]) => ({ sizes, images }));
}
