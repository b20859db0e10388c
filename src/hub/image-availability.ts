// Which catalog images a create can get now, from what the online hosts said with their last heartbeats
// (their images and free room, `heardCapacity`): a read of the database only, so the console can say it before anyone
// presses Create. The offer itself still decides: a host may have lost a file since its last heartbeat.
import { imagesOnHost } from '~/contract/hub';

type Image = { id: string; file: string; kernel: string | null; initrd: string | null };
type Size = { memoryMb: number; diskGb: number };
export type HeardHost = { id: string; freeMemoryMb: number | null; freeDiskGb: number | null; images: unknown };

/** Why a create from an image cannot be placed now: no host online, none has the image, none has room. */
export type ImageProblem = 'no_host_online' | 'missing' | 'no_room';
export type ImageAvailability = { id: string; available: boolean; problem?: ImageProblem; reason?: string };

function filesOf(image: Image): string[] {
  return [image.file, image.kernel, image.initrd].filter((f): f is string => !!f);
}

/** What the host said it has; undefined when it said nothing (a spoke from before images were reported). */
function said(host: HeardHost) {
  const parsed = imagesOnHost.safeParse(host.images);
  return parsed.success ? parsed.data : undefined;
}

/** A host that did not say which images it has may have this one: its answer to the offer decides. */
export function hostHasImage(host: HeardHost, image: Image): boolean {
  const images = said(host);
  if (!images) return true;
  if ('ids' in images) return images.ids === '*' || images.ids.includes(image.id);
  return filesOf(image).every((f) => images.files.includes(f));
}

export function hostFits(host: Pick<HeardHost, 'freeMemoryMb' | 'freeDiskGb'>, size: Size): boolean {
  return (host.freeMemoryMb ?? 0) >= size.memoryMb && (host.freeDiskGb ?? 0) >= size.diskGb;
}

/** The sentence an admin reads when no online host has the image: the files none of them has. */
function missingReason(image: Image, hosts: HeardHost[]): string {
  const listed = hosts.flatMap((h) => {
    const images = said(h);
    return images && 'files' in images ? [images.files] : [];
  });
  if (listed.length === 0) return `no online host has image ${image.id}`;
  const files = filesOf(image);
  const nowhere = files.filter((f) => !listed.some((l) => l.includes(f)));
  return nowhere.length ? `no online host has ${nowhere.join(', ')}` : `no online host has all of ${files.join(', ')}`;
}

export function imageAvailability(image: Image, hosts: HeardHost[], size?: Size & { name: string }): ImageAvailability {
  if (hosts.length === 0) return { id: image.id, available: false, problem: 'no_host_online', reason: 'no host is online' };
  const having = hosts.filter((h) => hostHasImage(h, image));
  if (having.length === 0) return { id: image.id, available: false, problem: 'missing', reason: missingReason(image, hosts) };
  if (size && !having.some((h) => hostFits(h, size))) {
    const which = having.map((h) => h.id).join(', ');
    return { id: image.id, available: false, problem: 'no_room', reason: `no room for ${size.name} on the hosts that have it (${which})` };
  }
  return { id: image.id, available: true };
}
