// Preloaded into Portkey's gateway by benchmarks/curve_sse_relay.py (node --import).
// Portkey 1.15.x appends x-portkey-* headers to the provider's fetch() Response, whose headers
// Node's fetch makes immutable: every request fails with "TypeError: immutable"
// (Portkey-AI/gateway issues #1389, #1550). This hands Portkey a copy with mutable headers,
// the workaround of Portkey-AI/gateway PR #1390; the body stream is passed on untouched,
// so the relay itself is not changed. One copy per request, nothing per event.
const original = globalThis.fetch;
globalThis.fetch = async (...args) => {
  const res = await original(...args);
  return new Response(res.body, {
    status: res.status,
    statusText: res.statusText,
    headers: new Headers(res.headers),
  });
};
