// MQTT.js (v5) against the edge-gateway broker: QoS 2, user properties,
// topic aliases both ways, request/response, will. Usage: node mqttjs_test.js PORT
// Prints one line per check; exits 0 only when every check passed.
'use strict';
const mqtt = require('mqtt');

const port = Number(process.argv[2]);
const url = `mqtt://127.0.0.1:${port}`;
let failures = 0;

function check(name, ok, detail) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${ok ? '' : ': ' + detail}`);
  if (!ok) failures++;
}

function client(id, extra = {}) {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(url, { protocolVersion: 5, clientId: id, reconnectPeriod: 0, connectTimeout: 5000, ...extra });
    c.once('connect', () => resolve(c));
    c.once('error', reject);
  });
}

// Collects messages of a client until `n` arrived or the timeout.
function collect(c, n, ms = 5000) {
  return new Promise((resolve) => {
    const got = [];
    const timer = setTimeout(() => resolve(got), ms);
    c.on('message', (topic, payload, packet) => {
      got.push({ topic, payload, packet });
      if (got.length === n) { clearTimeout(timer); resolve(got); }
    });
  });
}

async function qos2() {
  const sub = await client('js-q2-sub');
  await sub.subscribeAsync('js/q2/#', { qos: 2 });
  const pub = await client('js-q2-pub');
  const N = 25;
  const arriving = collect(sub, N + 1, 3000);  // one more than sent: a duplicate would show
  for (let i = 0; i < N; i++) await pub.publishAsync(`js/q2/${i}`, `payload-${i}`, { qos: 2 });
  const got = await arriving;
  check('qos2 count', got.length === N, `${got.length} of ${N}`);
  check('qos2 order and bytes', got.every((m, i) => m.topic === `js/q2/${i}` && m.payload.toString() === `payload-${i}` && m.packet.qos === 2),
        JSON.stringify(got.slice(0, 3).map((m) => [m.topic, m.payload.toString(), m.packet.qos])));
  await Promise.all([sub.endAsync(), pub.endAsync()]);
}

async function userProperties() {
  const sub = await client('js-up-sub');
  await sub.subscribeAsync('js/up', { qos: 1 });
  const pub = await client('js-up-pub');
  const sent = { line: ['3', '4'], site: 'München', empty: '' };
  const arriving = collect(sub, 1);
  await pub.publishAsync('js/up', Buffer.from([0, 1, 2, 255]), {
    qos: 1, properties: { userProperties: sent, contentType: 'application/octet-stream', payloadFormatIndicator: false },
  });
  const [m] = await arriving;
  check('user properties arrive', !!m, 'nothing arrived');
  if (m) {
    const p = m.packet.properties || {};
    check('user properties byte for byte', JSON.stringify(p.userProperties) === JSON.stringify(sent), JSON.stringify(p.userProperties));
    check('content type', p.contentType === 'application/octet-stream', p.contentType);
    check('binary payload', m.payload.equals(Buffer.from([0, 1, 2, 255])), m.payload.toString('hex'));
  }
  await Promise.all([sub.endAsync(), pub.endAsync()]);
}

async function topicAlias() {
  const sub = await client('js-ta-sub');
  await sub.subscribeAsync('js/alias/#', { qos: 1 });
  const pub = await client('js-ta-pub');
  const arriving = collect(sub, 3);
  // The first publish sets alias 1, the next ones use it with an empty topic.
  await pub.publishAsync('js/alias/long/topic/name', 'a', { qos: 1, properties: { topicAlias: 1 } });
  await pub.publishAsync('', 'b', { qos: 1, properties: { topicAlias: 1 } });
  await pub.publishAsync('', 'c', { qos: 0, properties: { topicAlias: 1 } });
  const got = await arriving;
  check('topic alias count', got.length === 3, `${got.length} of 3`);
  check('topic alias resolved', got.every((m) => m.topic === 'js/alias/long/topic/name'), JSON.stringify(got.map((m) => m.topic)));
  check('topic alias payloads', got.map((m) => m.payload.toString()).join('') === 'abc', got.map((m) => m.payload.toString()).join(''));
  await Promise.all([sub.endAsync(), pub.endAsync()]);
}

// Server -> client aliases: the subscriber advertises Topic Alias Maximum 2;
// the broker sends repeats as alias-only PUBLISHes (empty topic on the wire)
// that MQTT.js must resolve, and never an alias above 2 (MQTT.js would
// disconnect with "outside the advertised Topic Alias Maximum").
async function outboundTopicAlias() {
  const sub = await client('js-oa-sub', { properties: { topicAliasMaximum: 2 } });
  await sub.subscribeAsync('js/oa/#', { qos: 1 });
  const pub = await client('js-oa-pub');
  const topics = ['one', 'one', 'two', 'three', 'one', 'two', 'three', 'one'].map((t) => `js/oa/${t}`);
  const arriving = collect(sub, topics.length);
  for (let i = 0; i < topics.length; i++) await pub.publishAsync(topics[i], `m${i}`, { qos: 1 });
  const got = await arriving;
  check('outbound alias count', got.length === topics.length, `${got.length} of ${topics.length}`);
  check('outbound alias topics resolved', got.every((m, i) => m.topic === topics[i] && m.payload.toString() === `m${i}`),
        JSON.stringify(got.map((m) => [m.topic, m.payload.toString()])));
  const wire = got.map((m) => [m.packet.topic, (m.packet.properties || {}).topicAlias]);
  // one: alias 1 (then alias only), two: alias 2, three: no alias left.
  const want = [['js/oa/one', 1], ['', 1], ['js/oa/two', 2], ['js/oa/three', undefined], ['', 1], ['', 2],
    ['js/oa/three', undefined], ['', 1]];
  check('outbound aliases on the wire', JSON.stringify(wire) === JSON.stringify(want), JSON.stringify(wire));
  check('subscriber still connected', sub.connected, 'disconnected');
  await Promise.all([sub.endAsync(), pub.endAsync()]);
}

async function requestResponse() {
  const responder = await client('js-rr-responder');
  await responder.subscribeAsync('js/req', { qos: 1 });
  responder.on('message', (topic, payload, packet) => {
    const p = packet.properties || {};
    responder.publish(p.responseTopic, `re:${payload}`, { qos: 1, properties: { correlationData: p.correlationData } });
  });
  const requester = await client('js-rr-requester');
  await requester.subscribeAsync('js/resp/requester', { qos: 1 });
  const correlation = Buffer.from([0xde, 0xad, 0x00, 0xbe, 0xef]);
  const arriving = collect(requester, 1);
  await requester.publishAsync('js/req', 'ping', {
    qos: 1, properties: { responseTopic: 'js/resp/requester', correlationData: correlation },
  });
  const [m] = await arriving;
  check('response arrives', !!m, 'no response');
  if (m) {
    check('response payload', m.payload.toString() === 're:ping', m.payload.toString());
    const cd = (m.packet.properties || {}).correlationData;
    check('correlation data byte for byte', Buffer.isBuffer(cd) && cd.equals(correlation), cd && cd.toString('hex'));
  }
  await Promise.all([requester.endAsync(), responder.endAsync()]);
}

async function will() {
  const watcher = await client('js-will-watcher');
  await watcher.subscribeAsync('js/will/#', { qos: 1 });
  const arriving = collect(watcher, 1);
  const dying = await client('js-will-dying', {
    will: { topic: 'js/will/dying', payload: Buffer.from('gone'), qos: 1, retain: false,
            properties: { userProperties: { reason: 'test' }, contentType: 'text/plain', willDelayInterval: 0 } },
  });
  dying.stream.destroy();  // no DISCONNECT: the broker must publish the will
  const [m] = await arriving;
  check('will arrives', !!m, 'no will');
  if (m) {
    const p = m.packet.properties || {};
    check('will payload', m.payload.toString() === 'gone', m.payload.toString());
    check('will properties', JSON.stringify(p.userProperties) === JSON.stringify({ reason: 'test' }) && p.contentType === 'text/plain',
          JSON.stringify(p));
  }
  dying.end(true);
  await watcher.endAsync();
}

(async () => {
  for (const t of [qos2, userProperties, topicAlias, outboundTopicAlias, requestResponse, will]) {
    try {
      await t();
    } catch (e) {
      check(t.name, false, e && e.stack);
    }
  }
  console.log(failures === 0 ? 'all MQTT.js checks passed' : `${failures} MQTT.js check(s) failed`);
  process.exit(failures === 0 ? 0 : 1);
})();
