// An MCP client on the official TypeScript SDK that speaks over its own
// stdin and stdout (the gateway under test sits at the other end), answers
// sampling and elicitation requests, and writes what it saw as JSON to the
// file named by its first argument. Steps, in order:
//   list the tools; call add; call count with a progress token; call
//   ask_model (answering the sampling request it triggers); call ask_user
//   (answering the elicitation); call toggle, wait for
//   notifications/tools/list_changed, call the tool whose definition
//   changed, list the tools again and call it again.
import { writeFileSync } from "node:fs";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ProgressNotificationSchema,
  ToolListChangedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";

const [outFile] = process.argv.slice(2);
const out = { steps: [] };
const step = (name) => out.steps.push(name);

// callError keeps what a client can see of a refused call.
async function attempt(fn) {
  try {
    const r = await fn();
    return { result: r };
  } catch (e) {
    return { error: { code: e.code ?? null, message: String(e.message), data: e.data ?? null } };
  }
}

const client = new Client(
  { name: "agentos-e2e-peer", version: "1.0.0" },
  { capabilities: { sampling: {}, elicitation: { form: {} } } },
);

client.setRequestHandler(CreateMessageRequestSchema, async (req) => {
  out.sampling = req.params;
  return { role: "assistant", model: "e2e-model", content: { type: "text", text: "the ticket asks for a refund" } };
});

client.setRequestHandler(ElicitRequestSchema, async (req) => {
  out.elicitation = req.params;
  return { action: "accept", content: { colour: "teal" } };
});

// Progress is collected by a notification handler of its own rather than
// the onprogress option: the SDK runs notification handlers a microtask
// late, after a response read in the same chunk has already retired the
// request's progress callback.
const progress = [];
let progressWaiter = null;
client.setNotificationHandler(ProgressNotificationSchema, async (n) => {
  if (n.params.progressToken !== "count-1") return;
  progress.push(n.params);
  if (progressWaiter && progress.length >= progressWaiter.n) progressWaiter.resolve();
});
const progressCount = (n) =>
  progress.length >= n ? Promise.resolve() : new Promise((resolve) => (progressWaiter = { n, resolve }));

let changed;
const listChanged = new Promise((resolve) => (changed = resolve));
client.setNotificationHandler(ToolListChangedNotificationSchema, async () => changed());

// The SDK's stdio transport is symmetric: given to a Client it reads the
// process's stdin and writes its stdout.
const transport = new StdioServerTransport();
try {
  await client.connect(transport);
  step("connected");
  out.before = (await client.listTools()).tools.map((t) => t.name);
  step("listed");
  out.add = await client.callTool({ name: "add", arguments: { a: 2, b: 40 } });
  step("add");
  out.count = await client.callTool({ name: "count", arguments: { n: 3 }, _meta: { progressToken: "count-1" } });
  await progressCount(3);
  out.progress = progress;
  step("count");
  out.askModel = await attempt(() => client.callTool({ name: "ask_model", arguments: {} }));
  step("ask_model");
  out.askUser = await attempt(() => client.callTool({ name: "ask_user", arguments: {} }));
  step("ask_user");
  out.toggle = await client.callTool({ name: "toggle", arguments: {} });
  await listChanged;
  step("list_changed");
  // A client that ignores list_changed and calls the changed tool at once.
  out.pulledUnlisted = await attempt(() => client.callTool({ name: "get_weather", arguments: { city: "Lyon" } }));
  out.after = (await client.listTools()).tools.map((t) => t.name);
  out.pulled = await attempt(() => client.callTool({ name: "get_weather", arguments: { city: "Lyon" } }));
  out.clean = await attempt(() => client.callTool({ name: "add", arguments: { a: 1, b: 1 } }));
  step("done");
} catch (e) {
  out.failure = String(e?.stack ?? e);
}
writeFileSync(outFile, JSON.stringify(out));
await client.close();
process.exit(out.failure ? 1 : 0);
