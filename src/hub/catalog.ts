// Turns what a person picks (a size, an image) into what a create needs, from the OsImage and VmSize rows.
import { fieldError } from '~/lib/trpc-errors';
import type { Db } from './db/client';
import { imageAvailability } from './image-availability';
import { heardCapacity } from './operations/hosts';

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

/**
 * The sizes and images people can pick. An image no online host has is left out for members; admins get it
 * with `unavailable` saying why (from the hosts' last heartbeats). While no host is online at all, every
 * image stays listed: that is not the image's fault, and the form says so.
 */
export async function listCatalog(db: Db, opts: { isAdmin: boolean }) {
  const [sizes, images, hosts] = await Promise.all([
    db.vmSize.findMany({ orderBy: [{ sortOrder: 'asc' }, { id: 'asc' }] }),
    db.osImage.findMany({ where: { enabled: true }, orderBy: [{ sortOrder: 'asc' }, { id: 'asc' }] }),
    heardCapacity(db),
  ]);
  const listed = images.flatMap((image) => {
    const availability = imageAvailability(image, hosts);
    if (availability.problem !== 'missing') return [image];
    return opts.isAdmin ? [{ ...image, unavailable: availability.reason }] : [];
  });
  return { sizes, images: listed as ((typeof images)[number] & { unavailable?: string })[] };
}
