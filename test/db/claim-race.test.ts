// The claim is decided by the database: 20 hosts claiming one operation at once through the real
// `spoke.claimOperation` procedure (authentication included), on PGlite and on PostgreSQL.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { TRPCError } from '@trpc/server';
import { SPOKE_HOST_ID_HEADER } from '~/contract/hub';
import type { CreateInput } from '~/contract/spoke';
import { createHubCaller } from '~/hub/root';
import { hashToken, newToken } from '~/lib/tokens';
import { openTestDatabase, type TestDb } from '../support/hub-db';

const HOSTS = Array.from({ length: 20 }, (_, i) => ({ id: `host-${i}`, token: newToken() }));

function callerFor(database: TestDb, host: { id: string; token: string }) {
  const headers = new Headers({ authorization: `Bearer ${host.token}`, [SPOKE_HOST_ID_HEADER]: host.id });
  return createHubCaller({ db: database.db, headers });
}

async function offerToAll(database: TestDb, hosts = HOSTS, operationId = randomUUID()) {
  const capsulId = `capsul-${randomUUID().replace(/-/g, '').slice(0, 10)}`;
  const owner = await database.db.account.upsert({ where: { email: 'race@example.com' }, create: { email: 'race@example.com' }, update: {} });
  const payload: CreateInput = {
    operationId, id: capsulId, vcpus: 1, memoryMb: 512, diskGb: 10, image: 'debian-12', imageFiles: { disk: 'debian.qcow2' }, sshAuthorizedKeys: [],
  };
  await database.db.operation.create({
    data: {
      id: operationId, kind: 'create', actor: 'test', payload,
      capsul: { create: { id: capsulId, name: capsulId, ownerId: owner.id, vcpus: 1, memoryMb: 512, diskGb: 10, image: 'debian-12' } },
      hostOperations: { createMany: { data: hosts.map((h) => ({ hostId: h.id })) } },
    },
  });
  return { operationId, capsulId, payload };
}

for (const kind of ['pglite', 'postgresql'] as const) {
  describe(`claim race on ${kind}`, () => {
    let database: TestDb;

    before(async () => {
      database = await openTestDatabase(kind);
      await database.db.host.createMany({
        data: HOSTS.map((h) => ({ id: h.id, httpsUrl: `https://${h.id}.test:8443`, tokenHash: hashToken(h.token) })),
      });
    });
    after(async () => database?.drop());

    test('20 concurrent claims from 20 hosts: exactly one wins, 19 get CONFLICT', async () => {
      for (let round = 0; round < 5; round++) {
        const { operationId, capsulId, payload } = await offerToAll(database);
        const results = await Promise.allSettled(HOSTS.map((h) => callerFor(database, h).spoke.claimOperation({ operationId })));
        const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [HOSTS[i]!.id] : []));
        assert.equal(winners.length, 1, `round ${round}: one winner, got ${winners.join(', ')}`);
        const losers = results.filter((r) => r.status === 'rejected');
        assert.equal(losers.length, 19);
        for (const r of losers) {
          assert.ok(r.reason instanceof TRPCError);
          assert.equal(r.reason.code, 'CONFLICT');
        }
        const won = results.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<CreateInput>;
        assert.deepEqual(won.value, payload, 'the winner receives the payload');

        const op = await database.db.operation.findUniqueOrThrow({ where: { id: operationId }, include: { hostOperations: true } });
        assert.equal(op.state, 'assigned');
        assert.equal(op.hostId, winners[0]);
        assert.deepEqual(op.hostOperations.filter((h) => h.assignmentStatus === 'assigned').map((h) => h.hostId), winners);
        const capsul = await database.db.capsul.findUniqueOrThrow({ where: { id: capsulId } });
        assert.equal(capsul.hostId, winners[0]);
        assert.equal(capsul.state, 'creating');
      }
    });

    test('the winner claiming again gets the payload again; a host it was not offered to gets NOT_FOUND', async () => {
      const offered = HOSTS.slice(0, 2);
      const { operationId, payload } = await offerToAll(database, offered);
      assert.deepEqual(await callerFor(database, offered[0]!).spoke.claimOperation({ operationId }), payload);
      assert.deepEqual(await callerFor(database, offered[0]!).spoke.claimOperation({ operationId }), payload);
      await assert.rejects(callerFor(database, offered[1]!).spoke.claimOperation({ operationId }), { code: 'CONFLICT' });
      await assert.rejects(callerFor(database, HOSTS[5]!).spoke.claimOperation({ operationId }), { code: 'NOT_FOUND' });
    });

    test('an operation never written is NOT_FOUND at once; the owner asking again gets it only while it is its to build', async () => {
      await assert.rejects(callerFor(database, HOSTS[0]!).spoke.claimOperation({ operationId: randomUUID() }), { code: 'NOT_FOUND' });

      const owner = HOSTS[0]!;
      const ask = (operationId: string) => callerFor(database, owner).spoke.claimOperation({ operationId });
      const { operationId: done, payload } = await offerToAll(database, HOSTS.slice(0, 2));
      await ask(done);
      await database.db.operation.update({ where: { id: done }, data: { state: 'completed', completedAt: new Date() } });
      assert.deepEqual(await ask(done), payload, 'completed: the owner may learn it won (a restart after building)');

      const { operationId: conflicted } = await offerToAll(database, HOSTS.slice(0, 2));
      await ask(conflicted);
      await database.db.operation.update({ where: { id: conflicted }, data: { state: 'conflict', error: 'conflict: test' } });
      await assert.rejects(ask(conflicted), { code: 'CONFLICT' }, 'a conflict: nothing is to be built');

      const { operationId: reaped } = await offerToAll(database, HOSTS.slice(0, 2));
      await ask(reaped);
      await database.db.operation.update({ where: { id: reaped }, data: { state: 'failed', error: 'past its deadline', reapedAt: new Date(), completedAt: new Date() } });
      assert.deepEqual((await ask(reaped)).operationId, reaped, 'ended by the reaper for its silence: the owner may still finish it');

      const { operationId: failed } = await offerToAll(database, HOSTS.slice(0, 2));
      await ask(failed);
      await database.db.operation.update({ where: { id: failed }, data: { state: 'failed', error: 'the build failed', completedAt: new Date() } });
      await assert.rejects(ask(failed), { code: 'PRECONDITION_FAILED' }, 'reported failed by its owner: nothing more to build');
    });

    test('a claim with another host\'s token is refused before it touches the operation', async () => {
      const { operationId } = await offerToAll(database);
      const impostor = { id: HOSTS[0]!.id, token: HOSTS[1]!.token };
      await assert.rejects(callerFor(database, impostor).spoke.claimOperation({ operationId }), { code: 'UNAUTHORIZED' });
      const op = await database.db.operation.findUniqueOrThrow({ where: { id: operationId } });
      assert.equal(op.state, 'pending');
      assert.equal(op.hostId, null);
    });
  });
}
