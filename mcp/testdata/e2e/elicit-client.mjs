// A session-era client on the TypeScript SDK v1 (@modelcontextprotocol/sdk)
// over Streamable HTTP: it connects with a bearer token, declares form
// elicitation and answers every question it gets: approve when the
// question shows the argument "approve me", decline otherwise. It calls
// the tool named by its third argument with {id: "approve me"}, then with
// {id: "decline me"}, and prints what it saw as JSON.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";

const [url, token, tool] = process.argv.slice(2);

async function attempt(fn) {
  try {
    return { result: await fn() };
  } catch (e) {
    return { error: { code: e.code ?? null, message: String(e.message), data: e.data ?? null } };
  }
}

const out = { questions: [] };
const client = new Client({ name: "agentos-e2e-elicit", version: "1.0.0" }, { capabilities: { elicitation: { form: {} } } });
client.setRequestHandler(ElicitRequestSchema, async (req) => {
  out.questions.push(req.params.message);
  if (req.params.message.includes("approve me")) {
    return { action: "accept", content: { approve: true } };
  }
  return { action: "decline" };
});
const transport = new StreamableHTTPClientTransport(new URL(url), {
  requestInit: { headers: { Authorization: `Bearer ${token}` } },
});
try {
  await client.connect(transport);
  out.protocolVersion = transport.protocolVersion ?? null;
  out.sessionId = transport.sessionId ?? null;
  out.approved = await attempt(() => client.callTool({ name: tool, arguments: { id: "approve me" } }));
  out.declined = await attempt(() => client.callTool({ name: tool, arguments: { id: "decline me" } }));
} catch (e) {
  out.failure = String(e?.stack ?? e);
}
await client.close();
console.log(JSON.stringify(out));
