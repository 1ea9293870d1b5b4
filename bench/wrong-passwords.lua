-- Signs in with wrong passwords as a guesser spread over many addresses would: each request
-- a new email from a new address (lede must trust the sender's X-Forwarded-For: run it with
-- LEDE_TRUSTED_PROXIES=127.0.0.1), so no limit stops it and every one is hashed.
-- Usage: wrk -s bench/wrong-passwords.lua URL
local n = 0

function init(args)
  math.randomseed(os.time() + math.random(1000))
end

function request()
  n = n + 1
  local who = math.random(1, 1000000000)
  local address = string.format("10.%d.%d.%d", math.random(0, 255), math.random(0, 255), math.random(1, 254))
  local body = string.format('{"email": "guess%d@example.com", "password": "not the password %d"}', who, n)
  return wrk.format("POST", "/api/v1/auth/sessions", {
    ["Content-Type"] = "application/json",
    ["X-Forwarded-For"] = address,
  }, body)
end
