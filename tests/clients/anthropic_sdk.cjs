// The official TypeScript SDK (@anthropic-ai/sdk) at its defaults: base URL and key come from
// ANTHROPIC_BASE_URL and ANTHROPIC_API_KEY, as a user would set them. One messages.create and
// one messages.stream; prints one JSON line for tests/test_real_clients.py to check.
// CommonJS so that NODE_PATH (the project-local .clients/node/node_modules) resolves the SDK.
"use strict";
const Anthropic = require("@anthropic-ai/sdk");

async function main() {
  const client = new Anthropic.default();
  const model = process.argv[2] || "claude-sonnet-4-6";
  const messages = [{ role: "user", content: "Say hi" }];
  const { data, response } = await client.messages
    .create({ model, max_tokens: 1024, messages })
    .withResponse();
  const created = data.content.filter((b) => b.type === "text").map((b) => b.text).join("");
  const stream = client.messages.stream({ model, max_tokens: 1024, messages });
  let streamed = "";
  stream.on("text", (text) => {
    streamed += text;
  });
  const final = await stream.finalMessage();
  process.stdout.write(
    JSON.stringify({
      create: created,
      create_request_id: response.headers.get("x-scalegate-request-id"),
      stream: streamed,
      stream_stop_reason: final.stop_reason,
    }) + "\n",
  );
}

main().catch((err) => {
  process.stderr.write(`${err.status ?? ""} ${err.message}\n`);
  process.exit(1);
});
