-- Requests paths read from a file, one picked at random each time (random slugs, tags or
-- cursors, as a site's many readers and crawlers send them; never one hot URL).
-- Usage: wrk -s bench/paths.lua URL -- PATH_FILE
local paths = {}

function init(args)
  for line in io.lines(args[1]) do
    paths[#paths + 1] = line
  end
  math.randomseed(os.time())
  wrk.headers["Accept-Encoding"] = "br, gzip"
end

function request()
  return wrk.format("GET", paths[math.random(#paths)])
end
