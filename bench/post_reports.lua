-- wrk script of bench/http_intake.py: POST the report bodies of a file in turn.
--
-- wrk ... -s bench/post_reports.lua URL -- BODIES_FILE API_KEY IDEMPOTENCY TAG
--   BODIES_FILE  one JSON body a line
--   API_KEY      sent as "Authorization: Bearer ..." ("" for none)
--   IDEMPOTENCY  "1": a distinct Idempotency-Key on every request, else none
--   TAG          makes the keys of this run distinct from every other run's

local counter = 1

function setup(thread)
   thread:set("id", counter)
   counter = counter + 1
end

function init(args)
   bodies = {}
   for line in io.lines(args[1]) do
      bodies[#bodies + 1] = line
   end
   api_key = args[2]
   use_keys = args[3] == "1"
   tag = args[4]
   -- Threads start at different bodies, so they do not send the same mix.
   sent = id * 7919
end

function request()
   sent = sent + 1
   local headers = { ["Content-Type"] = "application/json" }
   if api_key ~= "" then
      headers["Authorization"] = "Bearer " .. api_key
   end
   if use_keys then
      headers["Idempotency-Key"] = tag .. "-" .. id .. "-" .. sent
   end
   return wrk.format("POST", nil, headers, bodies[(sent % #bodies) + 1])
end

function done(summary, latency, requests)
   local errors = summary.errors
   io.write(string.format(
      '{"requests": %d, "duration_us": %d, "p50_us": %.0f, "p99_us": %.0f, ' ..
      '"status_errors": %d, "connect_errors": %d, "read_errors": %d, ' ..
      '"write_errors": %d, "timeouts": %d}\n',
      summary.requests, summary.duration, latency:percentile(50),
      latency:percentile(99), errors.status, errors.connect, errors.read,
      errors.write, errors.timeout))
end
