-- wrk script for Scripts/bench-events.sh: expected-version appends of one event to Chorus's event store.
--   wrk -s Scripts/bench-events.lua URL -- TAG
-- Every request appends ONE event to a stream of its own with the stream's
-- exact revision as the expected one (X-Chorus-Expected-Revision: no_stream
-- for a new stream, then N): the peer of Scripts/peers/postgres-events.sh,
-- whose clients keep their stream's revision the same way.
-- wrk does not tell a script which connection a request goes out on, so the
-- streams are handed out per request: each thread keeps a queue of idle
-- streams with their last revision; request() takes one (or makes a new one,
-- "bench-TAG-THREAD-N") and response() puts it back with the lastRevision the
-- answer reports. A stream is therefore never in two requests at once, and
-- there are as many streams as connections: no two appends conflict. A 409
-- wrong_expected_version is counted (conflicts=) and its stream resynced to the
-- actualRevision; any other answer is counted (other=) and its stream dropped.
-- The event is the same as PostgreSQL's: type bench-event, data
-- {"amount":1,"note":"0123456789abcdef"} (38 bytes of JSON), a server-assigned id.
-- done() prints one line:
--   ops_per_second=… p50_ms=… p99_ms=… appended=… conflicts=… other=… socket_errors=… streams=…
-- where ops_per_second counts appended events (200 and "written") per second.

local threads = {}
local next_thread = 0

function setup(thread)
  next_thread = next_thread + 1
  thread:set("thread_number", next_thread)
  table.insert(threads, thread)
end

local tag = "run"
local body = '[{"type":"bench-event","data":{"amount":1,"note":"0123456789abcdef"}}]'
local token = os.getenv("CHORUS_TOKEN") or ""
local idle = {}      -- stream names ready for their next append
local revision = {}  -- stream name -> its last revision (nil: no stream yet)
local made = 0
-- Counters read by done() through thread:get; streams counts those with at least one event (wrk calls request()
-- once more than it sends, to check the script, so one name per run is made and never used).
appended, conflicts, other, streams = 0, 0, 0, 0

function init(args)
  if args[1] then tag = args[1] end
end

request = function()
  local stream = table.remove(idle)
  if stream == nil then
    made = made + 1
    stream = "bench-" .. tag .. "-" .. thread_number .. "-" .. made
  end
  local expected = revision[stream]
  local headers = {
    ["Content-Type"] = "application/json",
    ["X-Chorus-Expected-Revision"] = expected == nil and "no_stream" or tostring(expected),
  }
  if token ~= "" then headers["Authorization"] = "Bearer " .. token end
  return wrk.format("POST", "/v1/streams/" .. stream, headers, body)
end

response = function(status, headers, answer)
  if status == 200 then
    local stream, last = answer:match('^{"stream":"([^"]*)","firstRevision":%d+,"lastRevision":(%d+)')
    if stream ~= nil and answer:find('"disposition":"written"', 1, true) then
      appended = appended + 1
      if revision[stream] == nil then streams = streams + 1 end
      revision[stream] = tonumber(last)
      table.insert(idle, stream)
      return
    end
  elseif status == 409 then
    local stream = answer:match('"stream":"([^"]*)"')
    local actual = answer:match('"actualRevision":(%d+)')
    if stream ~= nil and actual ~= nil then
      conflicts = conflicts + 1
      revision[stream] = tonumber(actual)
      table.insert(idle, stream)
      return
    end
  end
  other = other + 1
end

function done(summary, latency, requests)
  local total = { appended = 0, conflicts = 0, other = 0, streams = 0 }
  for _, thread in ipairs(threads) do
    for name, _ in pairs(total) do total[name] = total[name] + (thread:get(name) or 0) end
  end
  local e = summary.errors
  io.write(string.format(
    "ops_per_second=%.1f p50_ms=%.3f p99_ms=%.3f appended=%d conflicts=%d other=%d socket_errors=%d streams=%d\n",
    total.appended / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    total.appended, total.conflicts, total.other, e.connect + e.read + e.write + e.timeout, total.streams))
end
