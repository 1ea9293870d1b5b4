-- Reads articles by slug, as a site's readers do: `random` picks any of them each time,
-- `walk` goes through them in order (to fill the cache before measuring).
-- Usage: wrk -s bench/slugs.lua URL -- SLUG_FILE random|walk
local paths = {}
local mode = "random"
local next_index = 0

function init(args)
  for line in io.lines(args[1]) do
    paths[#paths + 1] = "/api/v1/articles/" .. line
  end
  mode = args[2] or "random"
  math.randomseed(os.time())
  wrk.headers["Accept-Encoding"] = "br, gzip"
end

function request()
  local index
  if mode == "walk" then
    next_index = next_index % #paths + 1
    index = next_index
  else
    index = math.random(#paths)
  end
  return wrk.format("GET", paths[index])
end
