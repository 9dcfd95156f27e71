-- wrk script for benches/load/run.sh: every connection keeps its own
-- session, like a browser. It sends `GET /` with the cookie it was last
-- given and keeps the `Set-Cookie` of each answer.
--
--   wrk -t4 -c4 -d10s -s benches/load/session.lua http://127.0.0.1:3000/
--
-- One connection per thread (-t equal to -c): wrk runs one Lua state per
-- thread, and request() and response() are told nothing about which of the
-- thread's connections they serve, so per-thread state is per-connection
-- state only when each thread has one connection. (Keying cookies by a
-- request counter modulo the connections would not work: answers come back
-- in whatever order the server finishes them.) With one connection and no
-- pipelining (wrk's default), each request() follows the response() of the
-- previous request on the same connection, so the cookie sent is always the
-- one just received. run.sh enforces -t = -c.
--
-- Checks, printed by done() on one `LOAD key=value ...` line that run.sh
-- reads:
--   non2xx      answers whose status is not 2xx (wrk itself counts only > 399)
--   errors      socket connect/read/write errors and timeouts
--   cookies     answers carrying a Set-Cookie
--   lost        answers to a request that carried a cookie whose count is not
--               the previous count + 1: the session was not kept
--   rps         completed requests per second, as wrk computes it

local threads = {}

function setup(thread)
   thread:set("id", #threads + 1)
   table.insert(threads, thread)
end

function init(args)
   cookie = nil      -- `name=value` of the last Set-Cookie, sent back as is
   last = 0          -- the count in the last answer
   expected = nil    -- the count the current request should get, when known
   responses = 0
   non2xx = 0
   cookies = 0
   lost = 0
   first_bad = ""    -- the first non-2xx answer, for the error message
   -- The request for the current cookie, built again only when it changes
   -- (every answer for a client-side session, once for a store's id). It
   -- is the plain request with a `Cookie` line spliced in before the blank
   -- line that ends the head: plain concatenation, because wrk's own
   -- thread spends less time here than in wrk.format, and in the cookie
   -- mode this runs for every request.
   request_cookie = nil
   plain_request = wrk.format(nil, nil, {})
   request_head = string.sub(plain_request, 1, -3)
   request_text = plain_request
end

function request()
   if cookie then
      expected = last + 1
      if cookie ~= request_cookie then
         request_cookie = cookie
         request_text = request_head .. "Cookie: " .. cookie .. "\r\n\r\n"
      end
   else
      -- No session yet (or MODE=none): the answer cannot be predicted.
      expected = nil
   end
   return request_text
end

function response(status, headers, body)
   responses = responses + 1
   if status < 200 or status > 299 then
      non2xx = non2xx + 1
      if first_bad == "" then
         first_bad = status .. " " .. string.sub(body or "", 1, 200)
      end
   end
   -- hyper sends header names in lower case; accept either.
   local set_cookie = headers["set-cookie"] or headers["Set-Cookie"]
   if set_cookie then
      cookies = cookies + 1
      -- The `name=value` pair: everything before the first `;`. A plain
      -- find, not a pattern, for the same reason as above.
      local semicolon = string.find(set_cookie, ";", 1, true)
      cookie = semicolon and string.sub(set_cookie, 1, semicolon - 1) or set_cookie
   end
   local visits = nil
   if body and string.sub(body, 1, 8) == "visits: " then
      visits = tonumber(string.sub(body, 9))
   end
   if visits then
      if expected and visits ~= expected then
         lost = lost + 1
      end
      last = visits
   end
end

function done(summary, latency, requests)
   local totals = { responses = 0, non2xx = 0, cookies = 0, lost = 0 }
   local first_bad = ""
   for _, thread in ipairs(threads) do
      for name, _ in pairs(totals) do
         totals[name] = totals[name] + thread:get(name)
      end
      if first_bad == "" then
         first_bad = thread:get("first_bad")
      end
   end
   local e = summary.errors
   local errors = e.connect + e.read + e.write + e.timeout
   local rps = summary.requests / (summary.duration / 1e6)
   io.write(string.format(
      "LOAD rps=%.1f requests=%d responses=%d non2xx=%d errors=%d cookies=%d lost=%d"
         .. " p50_us=%d p99_us=%d\n",
      rps, summary.requests, totals.responses, totals.non2xx, errors, totals.cookies,
      totals.lost, latency:percentile(50), latency:percentile(99)))
   if errors > 0 then
      io.write(string.format("LOAD-ERRORS connect=%d read=%d write=%d timeout=%d\n",
         e.connect, e.read, e.write, e.timeout))
   end
   if first_bad ~= "" then
      io.write("LOAD-FIRST-NON2XX " .. string.gsub(first_bad, "\n", " ") .. "\n")
   end
end
