// A stateless client on the TypeScript SDK v2 (@modelcontextprotocol/client)
// pinned to protocol 2026-07-28: it connects with a bearer token,
// declares form elicitation and answers every question an input_required
// result carries (the SDK retries the call with the answer): approve when
// the question shows the argument "approve me", decline otherwise. It
// calls echo with "approve me", then with "decline me", and prints what it
// saw as JSON.
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";

const [url, token] = process.argv.slice(2);

async function attempt(fn) {
  try {
    return { result: await fn() };
  } catch (e) {
    return { error: { code: e.code ?? null, message: String(e.message), data: e.data ?? null } };
  }
}

const out = { questions: [] };
const transport = new StreamableHTTPClientTransport(new URL(url), {
  requestInit: { headers: { Authorization: `Bearer ${token}` } },
});
const client = new Client(
  { name: "agentos-e2e-input-required", version: "1.0.0" },
  { capabilities: { elicitation: { form: {} } }, versionNegotiation: { mode: { pin: "2026-07-28" } } },
);
client.setRequestHandler("elicitation/create", async (req) => {
  out.questions.push(req.params.message);
  if (req.params.message.includes("approve me")) {
    return { action: "accept", content: { approve: true } };
  }
  return { action: "decline" };
});
try {
  await client.connect(transport);
  out.protocolVersion = client.getNegotiatedProtocolVersion() ?? null;
  out.approved = await attempt(() => client.callTool({ name: "echo", arguments: { message: "approve me" } }));
  out.declined = await attempt(() => client.callTool({ name: "echo", arguments: { message: "decline me" } }));
} catch (e) {
  out.failure = String(e?.stack ?? e);
}
await client.close();
console.log(JSON.stringify(out));
