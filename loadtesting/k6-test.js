// k6 scenarios for scalegate — the same traffic as loadtesting/locustfile.py, with thresholds.
//
// Through the runner (simulator + gateway + checks against the simulator's counters):
//   loadtesting/run-loadtest.sh [profile]
// Directly against a gateway you run yourself:
//   K6_NO_USAGE_REPORT=true k6 run -e SG_URL=http://127.0.0.1:8080 -e LT_K6_VUS=20 \
//       -e LT_K6_DURATION=1m loadtesting/k6-test.js
//
// Scenarios (constant VUs, split by the LT_WEIGHT_* weights the Locust file uses too; a
// weight of 0 drops the scenario):
//   chat        multi-turn conversations, streaming or not (LT_STREAM_RATIO), think time
//   premium     the same at x-scalegate-priority: high
//   background  low-priority enrichment calls, little think time (shed first)
//   repeat      FAQ questions with x-scalegate-cache: exact (repeats should be cache hits)
//   batch       POST /v1/jobs then GET /v1/jobs/{id} until the job ends; idles, with the
//               reason in the report, when the gateway has no jobs endpoint (404/405)
// LT_SHAPE=stress replaces them with one ramping-arrival-rate scenario from
// LT_K6_STRESS_START_RATE to LT_K6_STRESS_MAX_RATE requests/s (LT_K6_STRESS_STAGES stages of
// LT_K6_STRESS_STAGE_SECONDS each), the priority mix drawn by the same weights.
//
// Thresholds (the run fails, exit code 99, when one is crossed):
//   sg_latency      p(95) < LT_P95_MS        successful /v1/messages, whole answer, ms
//   sg_error_rate   rate < LT_MAX_ERROR_RATE errors / messages (a 429 shed at admission is
//                                            not an error: it is counted per priority)
//
// handleSummary writes the k6 JSON summary (LT_K6_SUMMARY_FILE) and the tally that
// loadtesting/summary.py compares with the simulator (LT_TALLY_FILE). k6 reads a response
// whole, so a stream's time to first token is not measured here (Locust measures it).

import http from 'k6/http';
import { sleep } from 'k6';
import { Counter, Rate, Trend } from 'k6/metrics';

const env = (name, fallback) => (__ENV[name] !== undefined && __ENV[name] !== '' ? __ENV[name] : fallback);
const num = (name, fallback) => Number(env(name, String(fallback)));

const BASE = env('SG_URL', 'http://127.0.0.1:8080').replace(/\/$/, '');
const MODEL = env('LT_MODEL', 'claude-sonnet-4-6');
const MAX_TOKENS = num('LT_MAX_TOKENS', 256);
const CLIENT_KEY = env('LT_CLIENT_KEY', 'sk-loadtest-client');
const API_VERSION = env('LT_API_VERSION', '2023-06-01');
const THINK_MIN = num('LT_THINK_MIN', 2);
const THINK_MAX = num('LT_THINK_MAX', 8);
const STREAM_RATIO = num('LT_STREAM_RATIO', 0.5);
const CHAT_TURNS = num('LT_CHAT_TURNS', 4);
const REPEAT_PROMPTS = num('LT_REPEAT_PROMPTS', 8);
const JOB_PRIORITY = env('LT_JOB_PRIORITY', 'low');
const JOB_POLL_SECONDS = num('LT_JOB_POLL_SECONDS', 1);
const JOB_WAIT_SECONDS = num('LT_JOB_WAIT_SECONDS', 30);
const TIMEOUT = num('LT_TIMEOUT', 120);
const P95_MS = num('LT_P95_MS', 5000);
const MAX_ERROR_RATE = num('LT_MAX_ERROR_RATE', 0.01);
const VUS = num('LT_K6_VUS', 10);
const DURATION = env('LT_K6_DURATION', '1m');
const SHAPE = env('LT_SHAPE', '');
const TALLY_FILE = env('LT_TALLY_FILE', '');
const SUMMARY_FILE = env('LT_K6_SUMMARY_FILE', '');

const WEIGHTS = {
  chat: num('LT_WEIGHT_CHAT', 6),
  premium: num('LT_WEIGHT_PREMIUM', 2),
  background: num('LT_WEIGHT_BACKGROUND', 1),
  repeat: num('LT_WEIGHT_REPEAT', 2),
  batch: num('LT_WEIGHT_BATCH', 1),
};
const PRIORITIES = ['critical', 'high', 'normal', 'low'];
const CLASSES = Object.keys(WEIGHTS);
const TERMINAL_JOB_STATES = ['COMPLETED', 'FAILED', 'DEAD', 'CANCELED'];
const STATUSES = ['0', '200', '400', '401', '404', '413', '429', '500', '502', '503', '504', '529'];
// Answers the gateway gave without asking the provider: hit, semantic-hit, coalesced.
const CACHE_RESULTS = ['hit', 'semantic-hit', 'coalesced', 'miss', 'bypass', 'none'];
const CACHE_ANSWERS = ['hit', 'semantic-hit', 'coalesced'];

const TOPICS = [
  'how to size a connection pool',
  'the difference between a process and a thread',
  'a gentle introduction to rate limiting',
  'why caches need invalidation',
  'what a token bucket is',
  'tips for writing clear commit messages',
  'how retries with jitter avoid thundering herds',
  'the trade-offs of streaming responses',
  'how to read a latency histogram',
  'when to use a priority queue',
];
const FAQ = TOPICS.map((t) => `FAQ: explain ${t} in three sentences.`);

// -- metrics (all created in the init context, as k6 requires) -------------------------------

const m = {
  latency: new Trend('sg_latency', true),
  errorRate: new Rate('sg_error_rate'),
  messages: new Counter('sg_messages'),
  ok: new Counter('sg_ok'),
  upstreamOk: new Counter('sg_upstream_ok'),
  attempts: new Counter('sg_attempts'),
  errors: new Counter('sg_errors'),
  streamErrors: new Counter('sg_stream_errors'),
  askedCache: new Counter('sg_asked_cache'),
  status: Object.fromEntries(STATUSES.concat(['other']).map((s) => [s, new Counter(`sg_status_${s}`)])),
  cache: Object.fromEntries(CACHE_RESULTS.map((c) => [c, new Counter(`sg_cache_${c.replace('-', '_')}`)])),
  prio: Object.fromEntries(
    PRIORITIES.map((p) => [
      p,
      {
        sent: new Counter(`sg_sent_${p}`),
        ok: new Counter(`sg_ok_${p}`),
        shed: new Counter(`sg_shed_${p}`),
        error: new Counter(`sg_error_${p}`),
      },
    ]),
  ),
  cls: Object.fromEntries(CLASSES.map((c) => [c, new Counter(`sg_class_${c}`)])),
  jobs: Object.fromEntries(
    ['submitted', 'submit_errors', 'completed', 'failed', 'dead', 'canceled', 'unfinished'].map((j) => [
      j,
      new Counter(`sg_jobs_${j}`),
    ]),
  ),
};

// -- options ----------------------------------------------------------------------------------

function scenarios() {
  if (SHAPE === 'stress') {
    const start = num('LT_K6_STRESS_START_RATE', 2);
    const max = num('LT_K6_STRESS_MAX_RATE', 50);
    const stages = num('LT_K6_STRESS_STAGES', 5);
    const seconds = num('LT_K6_STRESS_STAGE_SECONDS', 30);
    return {
      stress: {
        executor: 'ramping-arrival-rate',
        exec: 'stress',
        startRate: start,
        timeUnit: '1s',
        preAllocatedVUs: num('LT_K6_STRESS_VUS', 50),
        maxVUs: num('LT_K6_STRESS_MAX_VUS', 200),
        stages: Array.from({ length: stages }, (_, i) => ({
          target: Math.round(start + ((max - start) * (i + 1)) / stages),
          duration: `${seconds}s`,
        })),
        gracefulStop: `${TIMEOUT}s`,
      },
    };
  }
  if (SHAPE !== '') throw new Error(`LT_SHAPE=${SHAPE}: the only shape is 'stress' (or unset)`);
  const active = CLASSES.filter((c) => WEIGHTS[c] > 0);
  const total = active.reduce((s, c) => s + WEIGHTS[c], 0);
  const out = {};
  for (const c of active) {
    out[c] = {
      executor: 'constant-vus',
      exec: c,
      vus: Math.max(1, Math.round((VUS * WEIGHTS[c]) / total)),
      duration: DURATION,
      // Let running iterations end (a followed job included) so the totals stay exact.
      gracefulStop: `${c === 'batch' ? JOB_WAIT_SECONDS + 10 : 30}s`,
    };
  }
  return out;
}

export const options = {
  scenarios: scenarios(),
  thresholds: {
    sg_latency: [`p(95)<${P95_MS}`],
    sg_error_rate: [`rate<${MAX_ERROR_RATE}`],
  },
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(50)', 'p(95)', 'p(99)', 'count'],
  discardResponseBodies: false,
  noConnectionReuse: false,
};

// -- requests ---------------------------------------------------------------------------------

function headers(priority, cache) {
  const h = {
    'x-api-key': CLIENT_KEY,
    'anthropic-version': API_VERSION,
    'content-type': 'application/json',
  };
  if (priority) h['x-scalegate-priority'] = priority;
  if (cache) h['x-scalegate-cache'] = cache;
  return h;
}

function header(res, name) {
  const want = name.toLowerCase();
  for (const k of Object.keys(res.headers || {})) {
    if (k.toLowerCase() === want) return res.headers[k];
  }
  return undefined;
}

const think = (lo, hi) => sleep(lo + Math.random() * Math.max(0, hi - lo));
const question = () =>
  `${TOPICS[Math.floor(Math.random() * TOPICS.length)]}? (conversation ${Math.random().toString(16).slice(2, 10)})`;

function streamText(body) {
  let text = '';
  let stopped = false;
  let errored = false;
  for (const line of String(body || '').split('\n')) {
    if (line.startsWith('event: ')) {
      const name = line.slice(7).trim();
      if (name === 'message_stop') stopped = true;
      if (name === 'error') errored = true;
    } else if (line.startsWith('data: ') && line.includes('"text_delta"')) {
      try {
        text += JSON.parse(line.slice(6)).delta.text;
      } catch (e) {
        // a malformed event counts as an incomplete stream below
      }
    }
  }
  return { text, complete: stopped && !errored };
}

// One conversation per VU (each VU has its own JS runtime, so module state is per VU).
let conversation = [];

function message(cls, priority, content, { stream = false, cache = null, turns = CHAT_TURNS } = {}) {
  if (conversation.length >= 2 * turns) conversation = [];
  conversation.push({ role: 'user', content });
  const body = JSON.stringify({ model: MODEL, max_tokens: MAX_TOKENS, stream, messages: conversation });
  const res = http.post(`${BASE}/v1/messages`, body, {
    headers: headers(priority, cache),
    timeout: `${TIMEOUT}s`,
    tags: { name: `messages ${cls}${stream ? ' stream' : ''}` },
  });
  const status = res.status;
  const effective = String(header(res, 'x-scalegate-priority') || priority || 'normal').toLowerCase();
  const attempts = Number(header(res, 'x-scalegate-attempts') || 0);
  const cacheResult = String(header(res, 'x-scalegate-cache') || 'none').toLowerCase();
  m.messages.add(1);
  m.attempts.add(attempts);
  m.cls[cls].add(1);
  (m.status[String(status)] || m.status.other).add(1);
  if (cache) m.askedCache.add(1);
  const prio = m.prio[effective] || m.prio.normal;
  prio.sent.add(1);
  let kind;
  let reply = '';
  if (status >= 200 && status < 300) {
    let complete = true;
    if (stream) {
      const parsed = streamText(res.body);
      reply = parsed.text;
      complete = parsed.complete;
    } else {
      try {
        reply = JSON.parse(res.body).content.map((b) => b.text || '').join('');
      } catch (e) {
        complete = false;
      }
    }
    m.ok.add(1);
    (m.cache[cacheResult] || m.cache.none).add(1);
    if (!CACHE_ANSWERS.includes(cacheResult)) m.upstreamOk.add(1);
    m.latency.add(res.timings.duration);
    if (complete) {
      kind = 'ok';
    } else {
      kind = 'error';
      m.streamErrors.add(1);
    }
  } else if (status === 429 && attempts === 0) {
    kind = 'shed';
  } else {
    kind = 'error';
  }
  if (kind === 'error') m.errors.add(1);
  m.errorRate.add(kind === 'error');
  prio[kind].add(1);
  if (kind === 'ok') conversation.push({ role: 'assistant', content: reply || '…' });
  else conversation = [];
  return kind;
}

// -- scenario functions -----------------------------------------------------------------------

export function setup() {
  if (WEIGHTS.batch <= 0) return { jobs: false, reason: 'batch weight is 0' };
  const res = http.post(`${BASE}/v1/jobs`, '{}', { headers: headers(), tags: { name: 'jobs probe' } });
  if (res.status === 404 || res.status === 405) {
    const reason = `POST /v1/jobs answered ${res.status}: the gateway has no jobs endpoint`;
    console.warn(`batch scenario disabled: ${reason}`);
    return { jobs: false, reason };
  }
  if (res.status === 0) return { jobs: false, reason: `POST /v1/jobs probe failed: ${res.error}` };
  return { jobs: true, reason: `probe answered ${res.status}` };
}

export function chat() {
  message('chat', null, question(), { stream: Math.random() < STREAM_RATIO });
  think(THINK_MIN, THINK_MAX);
}

export function premium() {
  message('premium', 'high', question(), { stream: Math.random() < STREAM_RATIO });
  think(THINK_MIN, THINK_MAX);
}

export function background() {
  conversation = [];
  message('background', 'low', `Tag this text: ${question()}`);
  think(THINK_MIN / 4, THINK_MAX / 4);
}

export function repeat() {
  conversation = [];
  const n = Math.min(REPEAT_PROMPTS, FAQ.length);
  message('repeat', null, FAQ[Math.floor(Math.random() * n)], { cache: 'exact' });
  think(THINK_MIN, THINK_MAX);
}

export function batch(data) {
  if (!data.jobs) {
    sleep(5); // no jobs endpoint: idle (the report says why)
    return;
  }
  m.cls.batch.add(1);
  const payload = JSON.stringify({
    request: { model: MODEL, max_tokens: MAX_TOKENS, messages: [{ role: 'user', content: `Summarise: ${question()}` }] },
    priority: JOB_PRIORITY,
    callback_url: null,
  });
  const res = http.post(`${BASE}/v1/jobs`, payload, {
    headers: headers(),
    timeout: `${TIMEOUT}s`,
    tags: { name: 'jobs submit' },
  });
  if (res.status !== 202) {
    m.jobs.submit_errors.add(1);
    return;
  }
  m.jobs.submitted.add(1);
  const id = JSON.parse(res.body).id;
  const deadline = Date.now() + JOB_WAIT_SECONDS * 1000;
  while (Date.now() < deadline) {
    sleep(JOB_POLL_SECONDS);
    const poll = http.get(`${BASE}/v1/jobs/${id}`, { headers: headers(), tags: { name: 'jobs poll' } });
    if (poll.status !== 200) continue;
    const state = String(JSON.parse(poll.body).state || '').toUpperCase();
    if (TERMINAL_JOB_STATES.includes(state)) {
      m.jobs[state.toLowerCase()].add(1);
      think(THINK_MIN, THINK_MAX);
      return;
    }
  }
  m.jobs.unfinished.add(1);
}

// Stress: an arrival-rate executor paces the requests, so no think time; the class of each
// request is drawn by the weights (batch excluded: jobs are not synchronous load).
export function stress() {
  const classes = ['chat', 'premium', 'background', 'repeat'].filter((c) => WEIGHTS[c] > 0);
  const total = classes.reduce((s, c) => s + WEIGHTS[c], 0);
  let pick = Math.random() * total;
  let cls = classes[classes.length - 1];
  for (const c of classes) {
    pick -= WEIGHTS[c];
    if (pick < 0) {
      cls = c;
      break;
    }
  }
  conversation = [];
  if (cls === 'repeat') {
    const n = Math.min(REPEAT_PROMPTS, FAQ.length);
    message('repeat', null, FAQ[Math.floor(Math.random() * n)], { cache: 'exact' });
  } else {
    const priority = { chat: null, premium: 'high', background: 'low' }[cls];
    message(cls, priority, question(), { stream: cls !== 'background' && Math.random() < STREAM_RATIO });
  }
}

// -- summary ----------------------------------------------------------------------------------

function count(data, name) {
  const metric = data.metrics[name];
  return metric ? metric.values.count || 0 : 0;
}

function nonZero(entries) {
  return Object.fromEntries(entries.filter(([, v]) => v > 0));
}

export function handleSummary(data) {
  const lat = data.metrics.sg_latency ? data.metrics.sg_latency.values : {};
  const byPriority = {};
  for (const p of PRIORITIES) {
    byPriority[p] = nonZero(['sent', 'ok', 'shed', 'error'].map((k) => [k, count(data, `sg_${k}_${p}`)]));
  }
  const setupData = data.setup_data || {};
  const tally = {
    tool: 'k6',
    duration_s: Math.round(data.state.testRunDurationMs) / 1000,
    messages: {
      total: count(data, 'sg_messages'),
      ok: count(data, 'sg_ok'),
      upstream_ok: count(data, 'sg_upstream_ok'),
      attempts: count(data, 'sg_attempts'),
      errors: count(data, 'sg_errors'),
      stream_errors: count(data, 'sg_stream_errors'),
      asked_cache: count(data, 'sg_asked_cache'),
      status: nonZero(STATUSES.concat(['other']).map((s) => [s, count(data, `sg_status_${s}`)])),
      cache: nonZero(CACHE_RESULTS.map((c) => [c, count(data, `sg_cache_${c.replace('-', '_')}`)])),
      shed: nonZero(PRIORITIES.map((p) => [p, count(data, `sg_shed_${p}`)])),
      by_priority: byPriority,
      by_class: nonZero(CLASSES.map((c) => [c, count(data, `sg_class_${c}`)])),
      latency_ms: {
        count: lat.count || 0,
        p50: lat['p(50)'] === undefined ? null : lat['p(50)'],
        p95: lat['p(95)'] === undefined ? null : lat['p(95)'],
        p99: lat['p(99)'] === undefined ? null : lat['p(99)'],
        max: lat.max === undefined ? null : lat.max,
      },
      ttft_ms: { count: 0, p50: null, p95: null, p99: null, max: null },
    },
    jobs: {
      enabled: setupData.jobs === undefined ? null : setupData.jobs,
      reason: setupData.reason || '',
      ...nonZero(Object.keys(m.jobs).map((j) => [j, count(data, `sg_jobs_${j}`)])),
    },
    thresholds: Object.fromEntries(
      Object.entries(data.metrics)
        .filter(([, v]) => v.thresholds)
        .map(([k, v]) => [k, Object.fromEntries(Object.entries(v.thresholds).map(([t, r]) => [t, r.ok]))]),
    ),
    stress: null,
  };
  const out = {};
  if (TALLY_FILE) out[TALLY_FILE] = JSON.stringify(tally, null, 2);
  if (SUMMARY_FILE) out[SUMMARY_FILE] = JSON.stringify(data, null, 2);
  const failed = Object.values(tally.thresholds).some((t) => Object.values(t).includes(false));
  out.stdout =
    `k6: ${tally.messages.total} messages, ${tally.messages.ok} ok, ${tally.messages.errors} errors, ` +
    `p95 ${lat['p(95)'] === undefined ? 'n/a' : lat['p(95)'].toFixed(0)} ms; thresholds ${failed ? 'FAILED' : 'ok'}\n`;
  return out;
}
