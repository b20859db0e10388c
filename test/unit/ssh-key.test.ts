import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseSshPublicKey, sshPublicKey } from '~/contract/ssh-key';

// Real public keys made with ssh-keygen (the private halves were thrown away).
const ED25519 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGvatMdwSOLaKEdOnZWAjMM8ufgWQtrOIXrHIPn9Swud alice@laptop';
const ECDSA = 'ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBJmi2H7ASepTfnzqchSd3ntAkoVMs22lJSfSDq3FhJ2NaF0rdnY+ZGMYTBFcFZx2TxWYNQJB1NXQSRNQFkfZuIM= bob';

describe('SSH public keys', () => {
  test('accepts ed25519 and ecdsa keys and normalises whitespace', () => {
    assert.deepEqual(parseSshPublicKey(`  ${ED25519}  `), { type: 'ssh-ed25519', body: ED25519.split(' ')[1], comment: 'alice@laptop' });
    assert.equal(sshPublicKey.parse(ED25519.replace(/ /g, '   ')), ED25519);
    assert.equal(sshPublicKey.parse(ECDSA), ECDSA);
    assert.equal(sshPublicKey.parse(ED25519.split(' ').slice(0, 2).join(' ')), ED25519.split(' ').slice(0, 2).join(' '));
  });

  test('refuses what is not a public key, saying why', () => {
    const cases: [string, RegExp][] = [
      ['', /expected "<type> <base64 key>/],
      ['hello', /expected "<type> <base64 key>/],
      ['ssh-dss AAAAB3NzaC1kc3MAAACBAP', /unsupported key type "ssh-dss"/],
      ['ssh-ed25519 not*base64', /not base64/],
      ['ssh-ed25519 AAAAB3Nza', /not valid base64/],
      // an RSA key body under an ed25519 label
      ['ssh-ed25519 AAAAB3NzaC1yc2EAAAADAQABAAABAQ== x', /does not hold a ssh-ed25519 key/],
      [`${ED25519.split(' ').slice(0, 2).join(' ')} caf\u00e9`, /printable ASCII/],
      ['-----BEGIN OPENSSH PRIVATE KEY-----', /unsupported key type/],
    ];
    for (const [line, reason] of cases) {
      const parsed = parseSshPublicKey(line);
      assert.ok('error' in parsed, `refused: ${line}`);
      assert.match(parsed.error, reason);
    }
    assert.throws(() => sshPublicKey.parse(`${ED25519}\n${ED25519}`), /one key per line/);
    assert.throws(() => sshPublicKey.parse('x'.repeat(20_000)), /Too big|at most/);
  });
});
