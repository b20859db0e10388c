// Bits, fingerprint, comment and type of a public key, compared with what ssh-keygen itself prints for keys it
// has just made (openssh-client).
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { execa } from 'execa';
import { sshPublicKey } from '~/contract/ssh-key';
import { sshKeyFacts } from '~/hub/ssh-key-facts';

const KEYS: { type: string; bits?: number; comment: string }[] = [
  { type: 'ed25519', comment: 'alice@laptop' },
  { type: 'rsa', bits: 2048, comment: 'rsa 2048' },
  { type: 'rsa', bits: 3072, comment: 'bob@desk' },
  { type: 'rsa', bits: 4096, comment: '' },
  { type: 'ecdsa', bits: 256, comment: 'p256' },
  { type: 'ecdsa', bits: 384, comment: 'p384 key' },
  { type: 'ecdsa', bits: 521, comment: 'p521' },
];

describe('SSH key facts, as ssh-keygen -l prints them', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'capsul-keys-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const [i, key] of KEYS.entries()) {
    test(`${key.type}${key.bits ? ` ${key.bits}` : ''}${key.comment ? '' : ', no comment'}`, async () => {
      const file = path.join(dir, `key-${i}`);
      await execa('ssh-keygen', ['-q', '-t', key.type, ...(key.bits ? ['-b', String(key.bits)] : []), '-N', '', '-C', key.comment, '-f', file]);
      const line = (await readFile(`${file}.pub`, 'utf8')).trim();
      const keygen = (await execa('ssh-keygen', ['-l', '-f', `${file}.pub`])).stdout.trim();
      // As stored: the line the keys form accepted, normalised.
      const facts = sshKeyFacts(sshPublicKey.parse(line));
      assert.equal(facts.summary, keygen);
      const [bits, fingerprint] = keygen.split(' ');
      assert.equal(facts.bits, Number(bits));
      assert.equal(facts.fingerprint, fingerprint);
      assert.equal(facts.comment, key.comment);
    });
  }
});
