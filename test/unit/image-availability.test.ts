// Whether an image can be had, from what hosts said with their heartbeats: files (libvirt) or ids (fake).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { hostHasImage, imageAvailability, type HeardHost } from '~/hub/image-availability';

const guest = { id: 'capsul-test-guest', file: 'capsul-test-guest.qcow2', kernel: 'capsul-test-guest-vmlinuz', initrd: 'capsul-test-guest-initrd.gz' };
const debian = { id: 'debian-12', file: 'debian-12-genericcloud-amd64.qcow2', kernel: null, initrd: null };
const host = (id: string, images: unknown, freeMemoryMb = 4096, freeDiskGb = 100): HeardHost => ({ id, images, freeMemoryMb, freeDiskGb });
const nano = { name: 'Nano', memoryMb: 512, diskGb: 10 };

describe('image availability', () => {
  test('a libvirt host has an image when every one of its files is in its images directory', () => {
    assert.equal(hostHasImage(host('a', { files: ['debian-12-genericcloud-amd64.qcow2'] }), debian), true);
    assert.equal(hostHasImage(host('a', { files: ['capsul-test-guest.qcow2', 'capsul-test-guest-vmlinuz'] }), guest), false);
  });

  test('a fake host has the ids it names, or every image with *', () => {
    assert.equal(hostHasImage(host('f', { ids: ['debian-12'] }), debian), true);
    assert.equal(hostHasImage(host('f', { ids: ['debian-12'] }), guest), false);
    assert.equal(hostHasImage(host('f', { ids: '*' }), guest), true);
  });

  test('a host that did not say may have it (the offer decides)', () => {
    assert.equal(hostHasImage(host('old', null), guest), true);
  });

  test('the reason names the files no online host has', () => {
    assert.deepEqual(imageAvailability(guest, [host('a', { files: ['capsul-test-guest-vmlinuz', 'capsul-test-guest-initrd.gz'] })]), {
      id: 'capsul-test-guest', available: false, problem: 'missing', reason: 'no online host has capsul-test-guest.qcow2',
    });
    const split = [host('a', { files: ['capsul-test-guest.qcow2'] }), host('b', { files: ['capsul-test-guest-vmlinuz', 'capsul-test-guest-initrd.gz'] })];
    assert.match(imageAvailability(guest, split).reason!, /^no online host has all of capsul-test-guest.qcow2, /);
    assert.deepEqual(imageAvailability(guest, []), { id: 'capsul-test-guest', available: false, problem: 'no_host_online', reason: 'no host is online' });
  });

  test('room counts only on the hosts that have the image', () => {
    const hosts = [host('small', { ids: ['debian-12'] }, 256), host('big', { ids: ['capsul-test-guest'] })];
    assert.deepEqual(imageAvailability(debian, hosts, nano), { id: 'debian-12', available: false, problem: 'no_room', reason: 'no room for Nano on the hosts that have it (small)' });
    assert.deepEqual(imageAvailability(guest, hosts, nano), { id: 'capsul-test-guest', available: true });
  });
});
