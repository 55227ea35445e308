// tests/compat/node_etcd3_test.js - the npm `etcd3` client (1.1.x, on @grpc/grpc-js) against one server,
// used as an application would: KV, transactions, leases, watches, locks, elections, maintenance and the
// client's typed errors. Run by node_etcd3_test.py (which installs the package and starts the server):
//   NODE_PATH=<dir>/node_modules node node_etcd3_test.js 127.0.0.1:<port>
// Every expectation below also holds against a real etcd 3.4 (node_etcd3_test.py --against-etcd).
// Prints one line per check ("ok <name>" / "FAIL <name>: <error>") and exits non-zero on any failure.
'use strict';
const assert = require('node:assert/strict');
const { Etcd3, EtcdLeaseInvalidError, EtcdLockFailedError, EtcdError, GRPCInvalidArgumentError,
        GRPCOutOfRangeError, GRPCResourceExhastedError } = require('etcd3');

const endpoint = process.argv[2];
if (!endpoint) {
  console.error('usage: node node_etcd3_test.js HOST:PORT');
  process.exit(2);
}
const CHECK_TIMEOUT_MS = 30000;  // one check; conditions are polled well within it
const POLL_INTERVAL_MS = 20;
// grpc-js pings an idle connection every KEEPALIVE_TIME_MS: etcd refuses pings more often than every 5 s
// (--grpc-keepalive-min-time), so the same figure works against both servers.
const KEEPALIVE_TIME_MS = 5000;
const clients = [];

function newClient(grpcOptions = {}) {
  const client = new Etcd3({ hosts: 'http://' + endpoint, grpcOptions,
                             defaultCallOptions: ctx => (ctx.isStream ? {} : { deadline: Date.now() + 10000 }) });
  clients.push(client);
  return client;
}

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));

async function waitFor(what, condition, timeoutMs = CHECK_TIMEOUT_MS / 2) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error('timed out waiting for ' + what);
    await sleep(POLL_INTERVAL_MS);
  }
}

async function rejectsWith(promise, errorClass, messagePart) {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof errorClass, `expected ${errorClass.name}, got ${err.constructor.name}: ${err.message}`);
    if (messagePart) assert.ok(err.message.includes(messagePart), `message "${err.message}" lacks "${messagePart}"`);
    return err;
  }
  throw new Error(`expected ${errorClass.name}, but the call succeeded`);
}

// Collects a watcher's events as [type, key, value] and the errors it emits.
function record(watcher) {
  const seen = { events: [], errors: [], ended: false };
  watcher.on('put', kv => seen.events.push(['put', kv.key.toString(), kv.value.toString(), kv.mod_revision]));
  watcher.on('delete', kv => seen.events.push(['delete', kv.key.toString(), '', kv.mod_revision]));
  watcher.on('error', err => seen.errors.push(err));
  watcher.on('end', () => { seen.ended = true; });
  return seen;
}
const typesKeysValues = events => events.map(([type, key, value]) => [type, key, value]);

const checks = [];
const check = (name, fn) => checks.push({ name, fn });

// A connection pinged by grpc-js (HTTP/2 PING) while its watch stream idles must stay up: started first,
// checked after the other checks (before the restart), so the wait overlaps them.
let keepaliveWatch;
check('keepalive pings: start', async () => {
  const c = newClient({ 'grpc.keepalive_time_ms': KEEPALIVE_TIME_MS, 'grpc.keepalive_timeout_ms': 2000 });
  const watcher = await c.watch().key('/ka/k').create();
  keepaliveWatch = { client: c, watcher, seen: record(watcher), disconnects: [], startedMs: Date.now() };
  watcher.on('disconnected', err => keepaliveWatch.disconnects.push(err));
});

check('kv put/get/getAll/delete', async () => {
  const c = newClient();
  await c.delete().prefix('/kv/');  // (the script can be run twice against one server)
  await c.put('/kv/b').value('2');
  await c.put('/kv/a').value('3');
  await c.put('/kv/c').value('1');
  await c.put('/kw/outside').value('x');
  assert.equal(await c.get('/kv/a').string(), '3');
  assert.equal(await c.get('/kv/missing').string(), null);
  assert.equal(await c.get('/kv/a').exists(), true);
  assert.deepEqual(await c.getAll().prefix('/kv/').keys(), ['/kv/a', '/kv/b', '/kv/c']);
  assert.deepEqual(await c.getAll().prefix('/kv/').sort('Key', 'Descend').keys(), ['/kv/c', '/kv/b', '/kv/a']);
  assert.deepEqual(await c.getAll().prefix('/kv/').sort('Value', 'Ascend').strings(),
                   { '/kv/c': '1', '/kv/b': '2', '/kv/a': '3' });
  assert.deepEqual(await c.getAll().prefix('/kv/').sort('Create', 'Descend').limit(2).keys(), ['/kv/c', '/kv/a']);
  assert.equal(await c.getAll().prefix('/kv/').count(), 3);
  const range = await c.getAll().prefix('/kv/').limit(1).exec();
  assert.equal(range.more, true);
  assert.equal(range.count, '3');
  const first = await c.get('/kv/a').exec();
  assert.equal(first.kvs[0].version, '1');
  assert.equal(first.kvs[0].create_revision, first.kvs[0].mod_revision);
  const previous = await c.put('/kv/a').value('33').getPrevious();
  assert.equal(previous.value.toString(), '3');
  const second = await c.get('/kv/a').exec();
  assert.equal(second.kvs[0].version, '2');
  assert.equal(second.kvs[0].create_revision, first.kvs[0].create_revision);
  assert.equal(await c.get('/kv/a').revision(first.header.revision).string(), '3');  // an older revision
  assert.equal(await c.put('/kv/num').value(42).then(() => c.get('/kv/num').number()), 42);
  const deleted = await c.delete().key('/kv/a').exec();
  assert.equal(deleted.deleted, '1');
  assert.equal((await c.delete().key('/kv/a').exec()).deleted, '0');
  const gone = await c.delete().prefix('/kv/').getPrevious();
  assert.deepEqual(gone.map(kv => kv.key.toString()).sort(), ['/kv/b', '/kv/c', '/kv/num']);
  assert.deepEqual(await c.getAll().prefix('/kv/').keys(), []);
  assert.equal(await c.get('/kw/outside').string(), 'x');
  const ns = c.namespace('/app/');
  await ns.put('k').value('v');
  assert.equal(await c.get('/app/k').string(), 'v');
  assert.deepEqual(await ns.getAll().keys(), ['k']);
});

check('txn if/then/else with compares', async () => {
  const c = newClient();
  await c.delete().prefix('/tx/');
  const put = await c.put('/tx/k').value('v').exec();
  let res = await c.if('/tx/k', 'Value', '==', 'v').then(c.put('/tx/r').value('yes'))
    .else(c.put('/tx/r').value('no')).commit();
  assert.equal(res.succeeded, true);
  assert.equal(await c.get('/tx/r').string(), 'yes');
  res = await c.if('/tx/k', 'Version', '>', 5).then(c.put('/tx/r').value('many'))
    .else(c.get('/tx/k'), c.put('/tx/r').value('few')).commit();
  assert.equal(res.succeeded, false);
  assert.equal(res.responses[0].response_range.kvs[0].value.toString(), 'v');
  assert.ok(res.responses[1].response_put);
  assert.equal(await c.get('/tx/r').string(), 'few');
  res = await c.if('/tx/k', 'Mod', '==', put.header.revision).and('/tx/absent', 'Create', '==', 0)
    .and('/tx/k', 'Value', '!=', 'w').and('/tx/k', 'Lease', '==', 0)
    .then(c.delete().key('/tx/r'), c.get('/tx/r')).commit();
  assert.equal(res.succeeded, true);
  assert.equal(res.responses[0].response_delete_range.deleted, '1');
  assert.equal(res.responses[1].response_range.kvs.length, 0);  // the txn sees its own delete
  res = await c.if('/tx/k', 'Create', '<', 1).then(c.put('/tx/r').value('x')).commit();
  assert.equal(res.succeeded, false);
  assert.deepEqual(res.responses, []);
  assert.equal(await c.get('/tx/r').string(), null);
  // software transactional memory: the client's optimistic retry loop over Txn
  await c.put('/tx/counter').value(0);
  await Promise.all([1, 2, 3, 4].map(() => c.stm().transact(async tx => {
    const value = Number(await tx.get('/tx/counter').string());
    await tx.put('/tx/counter').value(value + 1);
  })));
  assert.equal(await c.get('/tx/counter').number(), 4);
});

check('leases: grant, keepalive, attached keys, revoke', async () => {
  const c = newClient();
  const lease = c.lease(2);
  let keepalives = 0;
  lease.on('keepaliveSucceeded', () => { keepalives += 1; });
  const lost = [];
  lease.on('lost', err => lost.push(err));
  const id = await lease.grant();
  await lease.put('/lease/a').value('1');
  await lease.put('/lease/b').value('2');
  const kv = (await c.get('/lease/a').exec()).kvs[0];
  assert.equal(kv.lease, id);
  const ttl = await c.leaseClient.leaseTimeToLive({ ID: id, keys: true });
  assert.equal(ttl.grantedTTL, '2');
  assert.deepEqual(ttl.keys.map(k => k.toString()).sort(), ['/lease/a', '/lease/b']);
  const listed = await c.leaseClient.leaseLeases({});
  assert.ok(listed.leases.some(l => l.ID === id));
  // outlive the 2 s TTL twice over: only the keepalives hold the keys
  const deadline = Date.now() + 4500;
  while (Date.now() < deadline) {
    assert.equal(await c.get('/lease/a').string(), '1', 'a kept-alive lease expired');
    await sleep(250);
  }
  assert.ok(keepalives >= 3, `only ${keepalives} keepalives in 4.5 s`);
  assert.deepEqual(lost, []);
  await lease.revoke();
  assert.deepEqual(await c.getAll().prefix('/lease/').keys(), []);
  // a lease left alone expires and takes its keys with it
  const shortLease = c.lease(1, { autoKeepAlive: false });
  await shortLease.put('/lease/short').value('x');
  await waitFor('the unrenewed lease to expire', async () => !(await c.get('/lease/short').exists()));
});

check('lease errors: revoked lease -> EtcdLeaseInvalidError', async () => {
  const c = newClient();
  const lease = c.lease(30);
  const lost = [];
  lease.on('lost', err => lost.push(err));
  const id = await lease.grant();
  await lease.put('/lerr/k').value('v');
  await c.leaseClient.leaseRevoke({ ID: id });  // revoked behind the Lease object's back
  assert.equal(await c.get('/lerr/k').exists(), false);
  await rejectsWith(lease.keepaliveOnce(), EtcdLeaseInvalidError);
  await rejectsWith(c.leaseClient.leaseRevoke({ ID: id }), EtcdLeaseInvalidError);
  await rejectsWith(c.put('/lerr/k').value('v').lease(id).exec(), EtcdLeaseInvalidError);
  await rejectsWith(lease.put('/lerr/k').value('v').exec(), EtcdLeaseInvalidError);
  await waitFor('the lease to report it was lost', () => lost.length > 0);
  assert.ok(lost[0] instanceof EtcdLeaseInvalidError, `lost with ${lost[0]}`);
  assert.equal(lease.revoked(), true);
  const ttl = await c.leaseClient.leaseTimeToLive({ ID: id });
  assert.equal(ttl.TTL, '-1');
});

check('watch: key and prefix, events in order, prev kv, filters, cancel', async () => {
  const c = newClient();
  await c.delete().prefix('/w/');
  const keyWatcher = await c.watch().key('/w/k').create();
  const prefixWatcher = await c.watch().prefix('/w/').withPreviousKV().create();
  const putsOnly = await c.watch().prefix('/w/').only('put').create();
  const onKey = record(keyWatcher);
  const onPrefix = record(prefixWatcher);
  const onPuts = record(putsOnly);
  const previous = [];
  prefixWatcher.on('put', (kv, prev) => previous.push(prev ? prev.value.toString() : null));
  for (let i = 0; i < 20; i++) await c.put(i % 2 ? '/w/k' : '/w/other').value(String(i));
  await c.delete().key('/w/k');
  await c.put('/wx/outside').value('x');
  await waitFor('21 prefix events', () => onPrefix.events.length >= 21);
  await waitFor('11 key events', () => onKey.events.length >= 11);
  await waitFor('20 put events', () => onPuts.events.length >= 20);
  const expected = [];
  for (let i = 0; i < 20; i++) expected.push(['put', i % 2 ? '/w/k' : '/w/other', String(i)]);
  expected.push(['delete', '/w/k', '']);
  assert.deepEqual(typesKeysValues(onPrefix.events), expected);
  assert.deepEqual(typesKeysValues(onKey.events), expected.filter(([, key]) => key === '/w/k'));
  assert.deepEqual(typesKeysValues(onPuts.events), expected.slice(0, 20));
  const revisions = onPrefix.events.map(e => Number(e[3]));
  assert.ok(revisions.every((r, i) => i === 0 || r > revisions[i - 1]), 'revisions not increasing');
  assert.deepEqual(previous.slice(0, 4), [null, null, '0', '1']);
  await keyWatcher.cancel();
  assert.equal(onKey.ended, true);
  await c.put('/w/k').value('after cancel');
  await waitFor('the prefix watcher to see the last put', () => onPrefix.events.length === 22);
  await sleep(200);  // the cancelled watcher must stay silent
  assert.equal(onKey.events.length, 11);
  // resume from a past revision: the history is replayed in order
  const replay = record(await c.watch().key('/w/other').startRevision(String(revisions[0])).create());
  await waitFor('the replayed history', () => replay.events.length >= 10);
  assert.deepEqual(replay.events.map(e => e[2]), ['0', '2', '4', '6', '8', '10', '12', '14', '16', '18']);
  for (const w of [prefixWatcher, putsOnly]) await w.cancel();
  assert.deepEqual([onKey.errors, onPrefix.errors, onPuts.errors, replay.errors], [[], [], [], []]);
});

check('request errors map to the client classes', async () => {
  const c = newClient();
  await rejectsWith(c.put('').value('v').exec(), GRPCInvalidArgumentError, 'etcdserver: key is not provided');
  await rejectsWith(c.if('/e/k', 'Value', '==', 'v').then(c.put('/e/a').value('1'), c.put('/e/a').value('2')).commit(),
                    GRPCInvalidArgumentError, 'etcdserver: duplicate key given in txn request');
  await rejectsWith(c.leaseClient.leaseRevoke({ ID: '12345' }), EtcdLeaseInvalidError,
                    'etcdserver: requested lease not found');
});

check('lock: mutual exclusion between two holders', async () => {
  const a = newClient();
  const b = newClient();
  const lockA = a.lock('/locks/one');
  await lockA.acquire();
  await rejectsWith(b.lock('/locks/one').do(() => 'never'), EtcdLockFailedError);
  const holderKey = await a.get('/locks/one').exec();
  assert.equal(holderKey.kvs[0].lease, await lockA.leaseId());
  await lockA.release();
  assert.equal(await b.lock('/locks/one').do(() => 'got it'), 'got it');
  // two holders competing: never both inside, every attempt eventually gets in
  let inside = 0;
  let maxInside = 0;
  let entries = 0;
  const holder = async client => {
    for (let done = 0; done < 4;) {
      try {
        await client.lock('/locks/two').ttl(5).do(async () => {
          inside += 1;
          maxInside = Math.max(maxInside, inside);
          entries += 1;
          await sleep(30);
          inside -= 1;
        });
        done += 1;
      } catch (err) {
        if (!(err instanceof EtcdLockFailedError)) throw err;
        await sleep(5);
      }
    }
  };
  await Promise.all([holder(a), holder(b)]);
  assert.equal(maxInside, 1);
  assert.equal(entries, 8);
  assert.deepEqual(await a.getAll().prefix('/locks/').keys(), []);
});

check('election: campaign, observe, resign', async () => {
  const a = newClient();
  const b = newClient();
  const observer = await a.election('boss').observe();
  const changes = [];
  observer.on('change', leader => changes.push(leader));
  assert.equal(observer.leader(), undefined);
  const first = a.election('boss', 5).campaign('alice');
  await first.wait();
  assert.equal(await b.election('boss').leader(), 'alice');
  // The client's observer takes the LAST put of its first watch response as the leader, so a second
  // candidate joining before the observer saw the first one makes it report the wrong leader (against
  // etcd 3.4 too): let it see alice first.
  await waitFor('the observer to see alice', () => observer.leader() === 'alice');
  const second = b.election('boss', 5).campaign('bob');
  let bobElected = false;
  second.on('elected', () => { bobElected = true; });
  await waitFor('bob to be waiting', () => b.getAll().prefix('election/boss/').count().then(n => n === 2));
  await sleep(300);
  assert.equal(bobElected, false, 'two leaders at once');
  await first.proclaim('alice v2');
  await waitFor('the observer to see the proclamation', () => observer.leader() === 'alice v2');
  await first.resign();
  await second.wait();
  await waitFor('the observer to see bob', () => observer.leader() === 'bob');
  assert.equal(await a.election('boss').leader(), 'bob');
  await second.resign();
  await waitFor('no leader', () => observer.leader() === undefined);
  await observer.cancel();
  assert.deepEqual(changes, ['alice', 'alice v2', 'bob', undefined]);
});

check('maintenance status and member list', async () => {
  const c = newClient();
  const status = await c.maintenance.status();
  assert.match(status.version, /^3\.4\./);
  assert.ok(Number(status.dbSize) > 0);
  assert.notEqual(status.leader, '0');
  assert.equal(status.leader, status.header.member_id);
  assert.ok(Number(status.raftIndex) > 0);
  assert.ok(Number(status.raftTerm) > 0);
  const members = await c.cluster.memberList({});
  assert.equal(members.members.length, 1);
  assert.deepEqual(members.members[0].clientURLs, ['http://' + endpoint]);
  // (the client's maintenance.hashKV() cannot be called: it asks grpc-js for 'hashKV', which grpc-js
  // names 'hashKv' - a client bug, the same against etcd)
  const hash = await c.maintenance.hash();
  assert.ok(Number(hash.hash) > 0);
});

check('many concurrent calls and large messages on one connection', async () => {
  const c = newClient();
  await c.delete().prefix('/big/');
  const count = 2000;
  const puts = [];
  for (let i = 0; i < count; i++) puts.push(c.put('/big/' + String(i).padStart(5, '0')).value('v'.repeat(1000) + i));
  await Promise.all(puts);
  assert.equal(await c.getAll().prefix('/big/').count(), count);
  const all = await c.getAll().prefix('/big/').strings();  // ~2 MB in one response
  assert.equal(Object.keys(all).length, count);
  assert.equal(all['/big/01999'], 'v'.repeat(1000) + 1999);
  const large = Buffer.alloc(1024 * 1024, 'x');  // etcd's --max-request-bytes is 1.5 MiB
  large.write('head', 0);
  await c.put('/big/large').value(large);
  const back = await c.get('/big/large').buffer();
  assert.ok(back.equals(large), 'the 1 MiB value came back different');
  const gets = [];
  for (let i = 0; i < 200; i++) gets.push(c.get('/big/large').buffer());
  for (const value of await Promise.all(gets)) assert.equal(value.length, large.length);
  // (ResourceExhausted counts as a host failure for the client: retried, then its circuit breaker opens
  // for 5 s, against etcd too - so a client of its own)
  await rejectsWith(newClient().put('/big/huge').value(Buffer.alloc(2 * 1024 * 1024, 'y')).exec(),
                    GRPCResourceExhastedError, 'grpc: received message larger than max');
  await rejectsWith(c.put('/big/toolarge').value(Buffer.alloc(1600 * 1024, 'z')).exec(),
                    GRPCInvalidArgumentError, 'etcdserver: request is too large');
  const seen = record(await c.watch().prefix('/big/').create());
  const updates = [];
  for (let i = 0; i < 500; i++) updates.push(c.put('/big/' + String(i).padStart(5, '0')).value('w' + i));
  await Promise.all(updates);
  await waitFor('500 watch events', () => seen.events.length >= 500);
  assert.equal(new Set(seen.events.map(e => e[1])).size, 500);
  await c.delete().prefix('/big/');
});

async function runKeepaliveEnd() {
  const { client, watcher, seen, disconnects, startedMs } = keepaliveWatch;
  const idleMs = 2 * KEEPALIVE_TIME_MS + 1000;  // two pings answered (or not) by now
  if (Date.now() - startedMs < idleMs) await sleep(idleMs - (Date.now() - startedMs));
  await client.put('/ka/k').value('after pings');
  await waitFor('the event after the pings', () => seen.events.length === 1);
  assert.deepEqual(disconnects, []);
  assert.deepEqual(seen.errors, []);
  await watcher.cancel();
}
// Before the keepalive check ends its watch on purpose: that watcher saw no write since it was created,
// and a compaction past its start revision must leave it alone (etcd compacts only unsynced watchers;
// ringkv once canceled such quiet watchers as 'compacted').
check('compaction: compacted revision -> OutOfRange, compacted watch -> error', async () => {
  const c = newClient();
  const first = await c.put('/cmp/k').value('1').exec();
  for (let i = 2; i <= 5; i++) await c.put('/cmp/k').value(String(i));
  const last = await c.put('/cmp/k').value('6').exec();
  await c.kv.compact({ revision: last.header.revision, physical: true });
  await rejectsWith(c.get('/cmp/k').revision(first.header.revision).string(), GRPCOutOfRangeError,
                    'etcdserver: mvcc: required revision has been compacted');
  await rejectsWith(c.get('/cmp/k').revision(String(Number(last.header.revision) + 1000)).string(),
                    GRPCOutOfRangeError, 'etcdserver: mvcc: required revision is a future revision');
  await rejectsWith(c.kv.compact({ revision: first.header.revision }), GRPCOutOfRangeError,
                    'etcdserver: mvcc: required revision has been compacted');
  const watcher = c.watch().key('/cmp/k').startRevision(first.header.revision).watcher();
  const seen = record(watcher);
  await waitFor('the compacted watch to fail', () => seen.errors.length > 0);
  assert.ok(seen.errors[0] instanceof EtcdError, `got ${seen.errors[0]}`);
  assert.equal(seen.errors[0].message, 'Watcher canceled: ');  // etcd 3.4 gives no cancel_reason here
  assert.deepEqual(seen.events, []);
  // the raw answers: created, then canceled with the compaction revision
  const stream = await c.watchClient.watch();
  const answers = [];
  stream.on('data', res => answers.push(res));
  stream.write({ create_request: { key: Buffer.from('/cmp/k'), start_revision: first.header.revision } });
  await waitFor('the raw compacted answer', () => answers.length >= 2);
  stream.cancel();
  assert.deepEqual(answers.map(a => [a.created, a.canceled, a.compact_revision, a.cancel_reason, a.events.length]),
                   [[true, false, '0', '', 0], [false, true, last.header.revision, '', 0]]);
  // the other watchers of the same stream go on
  const live = record(await c.watch().key('/cmp/live').create());
  await c.put('/cmp/live').value('still watching');
  await waitFor('the live watcher', () => live.events.length === 1);
});

// The driver restarts the server (same port and data) when asked on stdout, and answers on stdin.
const stdinLines = require('node:readline').createInterface({ input: process.stdin });
const lineWaiters = [];
stdinLines.on('line', line => { const waiter = lineWaiters.shift(); if (waiter) waiter(line); });
async function restartServer() {
  const answered = new Promise(resolve => lineWaiters.push(resolve));
  console.log('RESTART_SERVER');
  assert.equal(await answered, 'restarted');
}

check('keepalive pings: the idle connection survived, through a compaction', runKeepaliveEnd);

check('server restart: the client reconnects, its watcher resumes where it was', async () => {
  const c = newClient();
  await c.delete().prefix('/rs/');
  const watcher = await c.watch().prefix('/rs/').create();
  const seen = record(watcher);
  let disconnects = 0;
  watcher.on('disconnected', () => { disconnects += 1; });
  await c.put('/rs/k').value('before');
  await waitFor('the event before the restart', () => seen.events.length === 1);
  await restartServer();
  // the client's first calls may meet the closed connection; it retries - poll until one lands
  await waitFor('a put after the restart', async () => {
    try {
      await c.put('/rs/after').value('1');
      return true;
    } catch (err) {
      return false;
    }
  });
  await c.put('/rs/k').value('after');
  await waitFor('the watcher to see the puts after the restart',
                () => seen.events.some(e => e[1] === '/rs/k' && e[2] === 'after'));
  assert.ok(disconnects >= 1, 'the watcher never noticed the restart');
  assert.deepEqual(typesKeysValues(seen.events).filter(e => e[1] === '/rs/k'),
                   [['put', '/rs/k', 'before'], ['put', '/rs/k', 'after']]);
  assert.equal(seen.events.filter(e => e[1] === '/rs/after').length >= 1, true);
  assert.deepEqual(seen.errors, []);
  await watcher.cancel();
});

async function main() {
  let failed = 0;
  for (const { name, fn } of checks) {
    const started = Date.now();
    let timer;
    try {
      await Promise.race([fn(), new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
      })]);
      console.log(`ok ${name} (${Date.now() - started} ms)`);
    } catch (err) {
      failed += 1;
      console.log(`FAIL ${name}: ${err && err.stack ? err.stack : err}`);
    } finally {
      clearTimeout(timer);
    }
  }
  for (const client of clients) client.close();
  stdinLines.close();
  console.log(`summary: ${checks.length - failed} ok, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}
main();
