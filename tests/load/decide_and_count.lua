-- wrk script: a visitor's two calls, over and over. Ask for a personalized page's decisions
-- (`personalizedPage`, no visit recorded), then report an IMPRESSION for the first decision token it
-- returned (`recordEvent`). Counts, per thread, the answers that say the event counted, those that do
-- not, GraphQL errors and non-200 statuses; `done` prints them as one JSON line with the latency
-- percentiles (microseconds), for the test to read.
--
-- Run as `wrk ... -s decide_and_count.lua URL -- SECONDS`: two seconds before the run ends it stops
-- reporting events (only decisions, which record nothing), so no event is still in flight when wrk
-- stops reading answers, and what it counted can be compared exactly with what the server stored.

local UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
local DECIDE = '{"query":"{ personalizedPage(urlPath: \\"/\\", inSite: true, recordVisit: false, '
  .. 'context: {timezone: \\"Asia/Seoul\\"}) { decisions { slot token } } }"}'
local RECORD = '{"query":"mutation($t: String!) { recordEvent(token: $t, kind: IMPRESSION) { ok counted reason } }",'
  .. '"variables":{"t":"%s"}}'

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  counted, refused, errors, statuses, decided = 0, 0, 0, 0, 0
  pending = nil
  quiet_after = os.time() + math.max(tonumber(args[1] or "0") - 2, 1)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["User-Agent"] = UA
end

function request()
  if pending and os.time() >= quiet_after then
    pending = nil
  end
  if pending then
    local body = string.format(RECORD, pending)
    pending = nil
    last = "record"
    return wrk.format(nil, "/graphql/", nil, body)
  end
  last = "decide"
  return wrk.format(nil, "/graphql/", nil, DECIDE)
end

function response(status, headers, body)
  if status ~= 200 then
    statuses = statuses + 1
    return
  end
  if string.find(body, '"errors"', 1, true) then
    errors = errors + 1
    return
  end
  if last == "decide" then
    decided = decided + 1
    pending = string.match(body, '"token"%s*:%s*"([^"]+)"')
  elseif string.find(body, '"counted":true', 1, true) or string.find(body, '"counted": true', 1, true) then
    counted = counted + 1
  else
    refused = refused + 1
  end
end

function done(summary, latency, requests)
  local totals = { counted = 0, refused = 0, errors = 0, statuses = 0, decided = 0 }
  for _, thread in ipairs(threads) do
    for name, _ in pairs(totals) do
      totals[name] = totals[name] + thread:get(name)
    end
  end
  io.write(string.format(
    'WRK_RESULT {"requests": %d, "duration_us": %d, "socket_errors": %d, "non_2xx": %d, '
      .. '"decided": %d, "counted": %d, "refused": %d, "graphql_errors": %d, "bad_status": %d, '
      .. '"p50_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, totals.decided, totals.counted, totals.refused, totals.errors, totals.statuses,
    latency:percentile(50), latency:percentile(99), latency.max
  ))
end
