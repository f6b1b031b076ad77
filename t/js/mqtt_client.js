// mqtt_client.js — MQTT.js (npm mqtt@5) in node, for the WebSocket tests.
//
//   node mqtt_client.js URL MODE [JSON options]
//
// URL is ws://... or wss://... (the test's CA is trusted through
// options.ca; certificates are checked).  MODE:
//   roundtrip  subscribe to rt/<clientId>/#, publish one message at each
//              QoS to it and wait for the three to come back
//   sub        subscribe to options.topic, print {"ready":true}, wait for
//              options.count messages
//   pub        publish options.messages ([topic, payload, qos]) in order
// The last line of stdout is a JSON report: {"ok": bool, ...}.  Every
// wait is bounded by options.timeout (ms, default 15000); the process
// always exits.
'use strict';
const fs = require('fs');
const mqtt = require('mqtt');

const [url, mode, optText] = process.argv.slice(2);
const opts = JSON.parse(optText || '{}');
const clientId = opts.clientId || 'js-' + process.pid;

function finish(report) {
  process.stdout.write(JSON.stringify(report) + '\n');
  process.exit(report.ok ? 0 : 1);
}

setTimeout(() => finish({ok: false, error: 'timeout', mode}),
           opts.timeout || 15000).unref();

const connectOpts = {
  clientId,
  protocolVersion: opts.protocolVersion || 5,
  reconnectPeriod: 0,
  connectTimeout: 10000,
  clean: true,
};
if (opts.ca) {
  connectOpts.ca = fs.readFileSync(opts.ca);
  connectOpts.rejectUnauthorized = true;
  connectOpts.servername = 'localhost';
}
const client = mqtt.connect(url, connectOpts);
// Once the work is done, the broker closing the socket under a
// closing client (EPIPE) is no failure.
client.on('error', (e) => {
  if (!client.finished) finish({ok: false, error: String(e.message)});
});
client.on('close', () => {
  if (!client.finished) finish({ok: false, error: 'connection closed'});
});

const received = [];
client.on('message', (topic, payload, packet) => {
  received.push([topic, payload.toString(), packet.qos]);
  if (mode === 'roundtrip' && received.length === 3) done();
  if (mode === 'sub' && received.length === (opts.count || 1)) done();
});

function done(extra) {
  client.finished = true;
  const report = Object.assign({ok: true, received}, extra || {});
  client.end(false, {}, () => finish(report));
  // end() waits for the socket to close; do not wait for ever.
  setTimeout(() => finish(report), 2000).unref();
}

client.on('connect', (connack) => {
  if (mode === 'roundtrip') {
    const base = 'rt/' + clientId;
    client.subscribe(base + '/#', {qos: 2}, (err) => {
      if (err) return finish({ok: false, error: String(err)});
      [0, 1, 2].forEach((q) =>
        client.publish(base + '/q' + q, 'payload ' + q, {qos: q}));
    });
  } else if (mode === 'sub') {
    client.subscribe(opts.topic, {qos: 1}, (err) => {
      if (err) return finish({ok: false, error: String(err)});
      process.stdout.write(JSON.stringify({ready: true}) + '\n');
    });
  } else if (mode === 'pub') {
    const msgs = opts.messages || [];
    let left = msgs.length;
    if (left === 0) return done();
    for (const [topic, payload, qos] of msgs) {
      client.publish(topic, payload, {qos}, (err) => {
        if (err) return finish({ok: false, error: String(err)});
        if (--left === 0) done();
      });
    }
  } else {
    finish({ok: false, error: 'unknown mode ' + mode});
  }
});
