// A Streamable HTTP MCP server on the TypeScript SDK v2
// (@modelcontextprotocol/server), which serves the stateless 2026-07-28
// protocol (server/discover, Mcp-Method and Mcp-Name headers) next to the
// 2025 era. It listens on 127.0.0.1, on a free port, and prints
// "listening PORT" on stdout once it accepts connections. For every POST it
// appends the request's method, its Mcp-Method, Mcp-Name and
// MCP-Protocol-Version headers and which multi round-trip members
// (requestState, inputResponses) its params hold, as one JSON line, to the
// file named by its first argument, so that a test can see what reached
// it.
import { appendFileSync } from "node:fs";
import { createServer } from "node:http";
import { McpServer, createMcpHandler, fromJsonSchema } from "@modelcontextprotocol/server";
import { toNodeHandler } from "@modelcontextprotocol/node";

const [logFile] = process.argv.slice(2);

const text = (t) => ({ content: [{ type: "text", text: t }] });

function factory() {
  const server = new McpServer({ name: "agentos-e2e-stateless", version: "1.0.0" });
  server.registerTool(
    "echo",
    {
      description: "Echoes a message.",
      inputSchema: fromJsonSchema({ type: "object", properties: { message: { type: "string" } }, required: ["message"] }),
    },
    async ({ message }) => text(`echo: ${message}`),
  );
  server.registerTool(
    "get-env",
    { description: "Returns the server's environment.", inputSchema: fromJsonSchema({ type: "object", properties: {} }) },
    async () => text("HOME=/home/e2e"),
  );
  server.registerTool(
    "read_note",
    { description: "Reads the operator's note.", inputSchema: fromJsonSchema({ type: "object", properties: {} }) },
    async () => text("Deploy at noon. aws_access_key_id = AKIAIOSFODNN7EXAMPLE"),
  );
  return server;
}

const handler = toNodeHandler(createMcpHandler(factory));

const http = createServer((req, res) => {
  if (req.method !== "POST") {
    handler(req, res);
    return;
  }
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    let body;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      res.writeHead(400, { "content-type": "application/json" });
      res.end(JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32700, message: "parse error" } }));
      return;
    }
    appendFileSync(
      logFile,
      JSON.stringify({
        method: body?.method ?? null,
        mcpMethod: req.headers["mcp-method"] ?? null,
        mcpName: req.headers["mcp-name"] ?? null,
        protocolVersion: req.headers["mcp-protocol-version"] ?? null,
        retryMembers: Object.keys(body?.params ?? {}).filter((k) => k === "requestState" || k === "inputResponses"),
      }) + "\n",
    );
    handler(req, res, body);
  });
});
http.listen(0, "127.0.0.1", () => {
  process.stdout.write(`listening ${http.address().port}\n`);
});
