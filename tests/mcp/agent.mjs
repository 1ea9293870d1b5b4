// An agent's session with lede's MCP server through the official TypeScript SDK, run by
// tests/api/agents.rs against a server it started (a contributor's token, the tools the role
// walk allows a contributor, an article to find). Exits non-zero on the first failed check.
import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";

const url = new URL(process.env.LEDE_MCP_URL);
const token = process.env.LEDE_MCP_TOKEN;
const expected = JSON.parse(process.env.LEDE_MCP_EXPECTED);
const article = process.env.LEDE_MCP_ARTICLE;
const word = process.env.LEDE_MCP_WORD;

const transport = new StreamableHTTPClientTransport(url, {
  requestInit: { headers: { Authorization: `Bearer ${token}` } },
});
const client = new Client({ name: "lede-agent-check", version: "1.0.0" });
await client.connect(transport);
assert.equal(client.getServerVersion().name, "lede");
assert.ok(client.getServerCapabilities().tools);

const { tools } = await client.listTools();
assert.deepEqual(tools.map((t) => t.name).sort(), [...expected].sort());
console.log("ok: a contributor is offered what it may do");

const found = await client.callTool({ name: "list_articles", arguments: { q: word } });
assert.equal(found.isError, false, JSON.stringify(found.content));
assert.ok(found.structuredContent.data.some((a) => a.slug === article));
const one = await client.callTool({ name: "find_article", arguments: { id_or_slug: article } });
assert.ok(one.structuredContent.body_html.toLowerCase().includes(word));
console.log("ok: search and read");

const draft = await client.callTool({
  name: "create_article",
  arguments: { body: { title: "Drafted in TypeScript", author: "test-author", body_markdown: "Words." } },
});
assert.equal(draft.structuredContent.status, "draft");
assert.ok(draft.structuredContent.preview.url.includes("/preview/"));
const publish = await client.callTool({
  name: "update_article",
  arguments: { id_or_slug: draft.structuredContent.id, body: { status: "published" } },
});
assert.equal(publish.isError, true);
assert.equal(publish.structuredContent.status, 403);
console.log("ok: a draft with its preview link; publishing refused");

await assert.rejects(
  client.callTool({ name: "delete_everything", arguments: {} }),
  (error) => error instanceof McpError && error.code === -32602 && error.data.errors[0].field === "name",
);
await assert.rejects(
  client.callTool({ name: "find_article", arguments: {} }),
  (error) => error instanceof McpError && error.code === -32602 && error.data.errors[0].field === "id_or_slug",
);
const invalid = await client.callTool({ name: "create_article", arguments: { body: { title: "" } } });
assert.equal(invalid.isError, true);
assert.ok(invalid.structuredContent.errors.some((e) => e.field === "title"));
console.log("ok: unknown tool, missing argument, validation");

await client.close();
