-- Searches as a site's readers make them: a random word of WORD_FILE each time.
-- Usage: wrk -s bench/words.lua URL -- WORD_FILE
local words = {}

function init(args)
  for line in io.lines(args[1]) do
    words[#words + 1] = line
  end
  math.randomseed(os.time())
  wrk.headers["Accept-Encoding"] = "br, gzip"
end

function request()
  return wrk.format("GET", "/api/v1/articles?q=" .. words[math.random(#words)])
end
