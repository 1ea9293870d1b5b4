"""An agent's session with lede's MCP server through the official Python SDK (`mcp`).

Run by tests/api/agents.rs against a server it started: the tokens of four people (one per
role), the tools each role must be offered (from the role walk's table) and a published
article to find come in the environment. Every check is an assert; the last line printed is
a JSON report the Rust test checks against the API.
"""

import asyncio
import base64
import json
import os
import struct
import zlib
from contextlib import asynccontextmanager

import httpx2
from mcp import Client, ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

URL = os.environ["LEDE_MCP_URL"]
TOKENS = json.loads(os.environ["LEDE_MCP_TOKENS"])
EXPECTED = json.loads(os.environ["LEDE_MCP_EXPECTED"])
ARTICLE = os.environ["LEDE_MCP_ARTICLE"]
WORD = os.environ["LEDE_MCP_WORD"]


def png(width: int, height: int) -> bytes:
    """A small PNG whose bytes no other test uploads."""
    rows = b"".join(
        b"\x00" + bytes(v for x in range(width) for v in ((x * 9) % 256, (y * 13) % 256, 77))
        for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def bearer(role: str) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKENS[role]}"}, timeout=60)


@asynccontextmanager
async def session(role: str):
    """The initialize handshake, as a token of `role`."""
    async with bearer(role) as http, streamable_http_client(URL, http_client=http) as (read, write):
        async with ClientSession(read, write) as s:
            init = await s.initialize()
            assert init.server_info.name == "lede", init
            assert init.capabilities.tools is not None, init
            yield s


def structured(result, want_error: bool = False) -> dict:
    text = " ".join(c.text for c in result.content if c.type == "text")
    assert result.is_error == want_error, f"is_error {result.is_error}: {text}"
    assert text, result
    if not want_error:
        # A line to read first, then the answer itself as text, for hosts that show only text.
        assert json.loads(result.content[1].text) == result.structured_content, result
    return result.structured_content


async def main() -> None:
    report: dict = {}

    # Each role is offered exactly what the role walk says it may do.
    counts = []
    for role in TOKENS:
        async with session(role) as s:
            listed = await s.list_tools()
            names = sorted(t.name for t in listed.tools)
            want = sorted(EXPECTED[role])
            assert names == want, (
                f"{role}: offered but not allowed {sorted(set(names) - set(want))}, "
                f"allowed but not offered {sorted(set(want) - set(names))}"
            )
            counts.append(f"{role} {len(names)}")
            tools = {t.name: t for t in listed.tools}
            if role == "editor":
                assert tools["delete_article"].annotations.destructive_hint is True
                assert tools["list_articles"].annotations.read_only_hint is True
                assert "idempotency_key" in tools["create_article"].input_schema["properties"]
                assert "cursor" in tools["list_articles"].input_schema["properties"]
    print(f"ok: each role is offered what it may do ({', '.join(counts)} tools)")

    # The default client (it probes for the 2026 protocol, then falls back to initialize).
    async with bearer("contributor") as http:
        async with Client(streamable_http_client(URL, http_client=http)) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            assert names == set(EXPECTED["contributor"]), names
    print("ok: the SDK's default client connects")

    async with session("author") as s:
        # Search, then read one.
        found = structured(await s.call_tool("list_articles", {"q": WORD}))
        slugs = [item["slug"] for item in found["data"]]
        assert ARTICLE in slugs, found
        assert "body_html" not in found["data"][0], "lists are cards"
        one = structured(await s.call_tool("find_article", {"id_or_slug": ARTICLE}))
        assert WORD in one["body_html"].lower(), one
        print("ok: search and read")

        # An image from base64, then a draft with it as a figure and as the cover.
        image = structured(
            await s.call_tool(
                "create_image",
                {
                    "file_base64": base64.b64encode(png(48, 32)).decode(),
                    "alt": "Tram lines at the depot",
                    "caption": "The depot at dawn",
                },
            )
        )
        draft_args = {
            "idempotency_key": "agent-draft-1",
            "body": {
                "title": "Night trams return",
                "author": "test-author",
                "body_markdown": f"The trams are back.\n\n![Tram lines at the depot](image:{image['id']} \"The depot at dawn\")\n",
                "cover_image": image["id"],
            },
        }
        draft = structured(await s.call_tool("create_article", draft_args))
        assert draft["status"] == "draft", draft
        assert draft["cover_image"]["id"] == image["id"], draft
        preview = draft["preview"]["url"]
        again = structured(await s.call_tool("create_article", draft_args))
        assert again["id"] == draft["id"], "the idempotency key replays the first answer"
        async with httpx2.AsyncClient(timeout=30) as http:
            shown = await http.get(preview)
        assert shown.status_code == 200, shown.text
        assert "<figure" in shown.json()["body_html"], shown.text
        print("ok: a draft with an uploaded image, and its preview link")

        # Submitted for review, with a note.
        submitted = structured(
            await s.call_tool(
                "update_article",
                {"id_or_slug": draft["id"], "body": {"status": "in_review", "note": "Ready when you are"}},
            )
        )
        assert submitted["status"] == "in_review", submitted
        report["submitted"] = draft["id"]
        print("ok: submitted for review")

    async with session("contributor") as s:
        own = structured(
            await s.call_tool(
                "create_article",
                {"body": {"title": "A contributor's draft", "author": "test-author", "body_markdown": "Words."}},
            )
        )
        assert own["status"] == "draft" and own["preview"]["url"], own
        refused = structured(
            await s.call_tool("update_article", {"id_or_slug": own["id"], "body": {"status": "published"}}),
            want_error=True,
        )
        assert refused["status"] == 403, refused
        report["contributor_draft"] = own["id"]
        print("ok: a contributor's token drafts but cannot publish")

        # An unknown tool, and arguments that do not fit: the protocol's error, field by field.
        try:
            await s.call_tool("publish_everything", {})
            raise AssertionError("an unknown tool was called")
        except MCPError as error:
            assert error.error.code == -32602, error.error
            assert error.error.data["errors"][0]["field"] == "name", error.error
        try:
            await s.call_tool("find_article", {"slug": ARTICLE})
            raise AssertionError("a call without its required argument went through")
        except MCPError as error:
            assert error.error.code == -32602, error.error
            fields = {e["field"] for e in error.error.data["errors"]}
            assert fields == {"slug", "id_or_slug"}, error.error
        # What lede's validation refuses: a failed call, with the problem's field errors.
        invalid = structured(
            await s.call_tool("create_article", {"body": {"title": "", "author": "test-author"}}),
            want_error=True,
        )
        assert invalid["status"] == 422, invalid
        assert "title" in {e["field"] for e in invalid["errors"]}, invalid
        print("ok: unknown tool, arguments that do not fit, validation")

    # A malformed message: 400 with the JSON-RPC error and its field errors.
    async with bearer("contributor") as http:
        answer = await http.post(URL, content=b'{"jsonrpc": "2.0", "id": 1,', headers={
            "Content-Type": "application/json", "Accept": "application/json, text/event-stream"})
        assert answer.status_code == 400, answer.text
        error = answer.json()["error"]
        assert error["code"] == -32700 and error["data"]["errors"][0]["code"] == "invalid_json", error
    print("ok: a malformed message")

    print(json.dumps(report))


asyncio.run(main())
