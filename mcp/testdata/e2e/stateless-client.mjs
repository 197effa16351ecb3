// A client on the TypeScript SDK v2 (@modelcontextprotocol/client) pinned
// to the stateless 2026-07-28 protocol: it connects to a Streamable HTTP
// endpoint with a bearer token, lists the tools, calls echo, get-env and
// read_note, and prints what it saw as JSON.
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";

const [url, token] = process.argv.slice(2);

async function attempt(fn) {
  try {
    return { result: await fn() };
  } catch (e) {
    return { error: { code: e.code ?? null, message: String(e.message), data: e.data ?? null } };
  }
}

const transport = new StreamableHTTPClientTransport(new URL(url), {
  requestInit: { headers: { Authorization: `Bearer ${token}` } },
});
const client = new Client(
  { name: "agentos-e2e-stateless", version: "1.0.0" },
  { versionNegotiation: { mode: { pin: "2026-07-28" } } },
);
const out = {};
try {
  await client.connect(transport);
  out.protocolVersion = client.getNegotiatedProtocolVersion() ?? null;
  out.discovered = client.getDiscoverResult() !== undefined;
  out.sessionId = transport.sessionId ?? null;
  out.tools = (await client.listTools()).tools.map((t) => t.name);
  out.echo = await attempt(() => client.callTool({ name: "echo", arguments: { message: "hello, stateless" } }));
  out.env = await attempt(() => client.callTool({ name: "get-env", arguments: {} }));
  out.note = await attempt(() => client.callTool({ name: "read_note", arguments: {} }));
} catch (e) {
  out.failure = String(e?.stack ?? e);
}
await client.close();
console.log(JSON.stringify(out));
