#!/usr/bin/env node
'use strict';
// Reads the loadgen result lines of scripts/bench.sh and prints a Markdown table: per scenario and
// metric, the median and spread (min-max) over rounds for go and node, and the go/node ratio of
// the medians.   node scripts/bench/table.js results.jsonl
const fs = require('node:fs');

const OPTIONAL = true; // a row only when some result has the metric

const METRICS = {
  connect: [['connects_per_s', 'connects/s'], ['connect_latency.p50_ms', 'connect p50 ms'],
    ['connect_latency.p99_ms', 'connect p99 ms'], ['server_cpu_per_connect_us', 'server CPU µs/connect'],
    ['connect_failures', 'connect failures']],
  idle: [['rss_per_client_kib', 'RSS KiB/client'], ['connects_per_s', 'connects/s (connect phase)'],
    ['connect_latency.p99_ms', 'connect p99 ms'], ['server_cpu_per_connect_us', 'server CPU µs/connect'],
    ['connect_failures', 'connect failures']],
  fanout: [['deliveries_per_s', 'deliveries/s'], ['server_cpu_per_delivery_us', 'server CPU µs/delivery'],
    ['latency.p50_ms', 'latency p50 ms'], ['latency.p99_ms', 'latency p99 ms'], ['latency.max_ms', 'latency max ms'],
    ['lost', 'lost messages'], ['published', 'publishes'], ['loadgen_cpu_s', 'loadgen CPU s'],
    // at a fixed rate only: one publish's burst (medians over its publishes)
    ['burst.wall_ms', 'burst: publish to last delivery ms', OPTIONAL],
    ['burst.server_cpu_per_delivery_us', 'burst: server CPU µs/delivery', OPTIONAL],
    ['burst.loadgen_cpu_per_delivery_us', 'burst: loadgen CPU µs/delivery', OPTIONAL]],
  echo: [['acks_per_s', 'acks/s'], ['latency.p50_ms', 'ack p50 ms'], ['latency.p99_ms', 'ack p99 ms'],
    ['server_cpu_per_delivery_us', 'server CPU µs/ack']],
};

const get = (o, p) => p.split('.').reduce((v, k) => (v == null ? undefined : v[k]), o);
const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (v) => {
  if (v === undefined || Number.isNaN(v)) return '–';
  const a = Math.abs(v);
  if (a >= 1000) return Math.round(v).toLocaleString('en-US');
  if (a >= 10) return v.toFixed(1);
  return v.toFixed(2);
};

const lines = fs.readFileSync(process.argv[2], 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const groups = new Map(); // sc -> target -> [results]
const errors = [];
for (const r of lines) {
  const [target, sc, round] = String(r.label || '').split(' ');
  if (r.error) errors.push(`${sc} ${target} round ${round}: ${r.error}`);
  if (!groups.has(sc)) groups.set(sc, { go: [], node: [] });
  groups.get(sc)[target]?.push(r);
}
const out = [];
out.push('| scenario | metric | go median (min–max) | node median (min–max) | go/node |');
out.push('|---|---|---|---|---|');
for (const [sc, byTarget] of groups) {
  const any = byTarget.go[0] || byTarget.node[0];
  const kind = any.scenario;
  const n = any.n;
  for (const [path, name, optional] of METRICS[kind] || []) {
    const has = (rs) => rs.some((r) => typeof get(r, path) === 'number');
    if (optional && !has(byTarget.go) && !has(byTarget.node)) continue;
    const cell = (rs) => {
      const v = rs.map((r) => get(r, path)).filter((x) => typeof x === 'number');
      if (rs.length && v.length === 0) v.push(0); // omitted zero (omitempty)
      if (v.length === 0) return { text: '–' };
      const m = median(v);
      return { m, text: `${fmt(m)} (${fmt(Math.min(...v))}–${fmt(Math.max(...v))})` };
    };
    const g = cell(byTarget.go);
    const nd = cell(byTarget.node);
    const ratio = g.m !== undefined && nd.m ? fmt(g.m / nd.m) : '–';
    out.push(`| ${sc} (n=${n}) | ${name} | ${g.text} | ${nd.text} | ${ratio} |`);
  }
}
console.log(out.join('\n'));
if (errors.length) {
  console.log('\nErrors:\n' + errors.map((e) => `- ${e}`).join('\n'));
}
