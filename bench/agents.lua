-- Reads articles by random slug with a token, as the API (`api`) or as an agent's tool call
-- through /mcp (`mcp`), to compare what the MCP layer costs.
-- Usage: wrk -s bench/agents.lua URL -- SLUG_FILE api|mcp TOKEN
local slugs = {}
local mode = "api"
-- wrk.format's own headers replace wrk.headers: the token goes in both.
local json_headers = {}

function init(args)
  for line in io.lines(args[1]) do
    slugs[#slugs + 1] = line
  end
  mode = args[2] or "api"
  wrk.headers["Authorization"] = "Bearer " .. args[3]
  json_headers["Authorization"] = "Bearer " .. args[3]
  json_headers["Content-Type"] = "application/json"
  math.randomseed(os.time())
end

function request()
  local slug = slugs[math.random(#slugs)]
  if mode == "api" then
    return wrk.format("GET", "/api/v1/articles/" .. slug)
  end
  local body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"find_article",'
    .. '"arguments":{"id_or_slug":"' .. slug .. '"}}}'
  return wrk.format("POST", "/mcp", json_headers, body)
end
