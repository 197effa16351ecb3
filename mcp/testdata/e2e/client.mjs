// A small MCP client on the official TypeScript SDK: connects to a
// Streamable HTTP endpoint with a bearer token, lists tools, calls echo,
// ends the session with DELETE and prints what it saw as JSON.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [url, token] = process.argv.slice(2);
const transport = new StreamableHTTPClientTransport(new URL(url), {
  requestInit: { headers: { Authorization: `Bearer ${token}` } },
});
const client = new Client({ name: "agentos-e2e", version: "1.0.0" });
await client.connect(transport);
const sessionId = transport.sessionId;
const tools = await client.listTools();
const echo = await client.callTool({ name: "echo", arguments: { message: "hello from node" } });
let denied = null;
try {
  const r = await client.callTool({ name: "get-env", arguments: {} });
  denied = r.isError ? "isError" : null;
} catch (e) {
  denied = String(e.code ?? e.message);
}
await transport.terminateSession();
await client.close();
console.log(JSON.stringify({ sessionId, tools: tools.tools.map((t) => t.name), echo: echo.content, denied }));
