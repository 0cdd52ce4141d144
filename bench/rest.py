"""REST load with wrk at fixed concurrency. A generated Lua script adds the bearer header,
cycles through a list of paths (or POST bodies with unique client ids), and prints the
figures wrk's own report lacks (p99.9, error counts) as one JSON line from `done()`."""
from __future__ import annotations

import json
import os
import subprocess
import uuid
from typing import Any

LUA = r"""
local paths = {%(paths)s}
local method = "%(method)s"
local token = "%(token)s"
local body_template = %(body)s
local prefix = "%(prefix)s"
local counter = 0

request = function()
  counter = counter + 1
  local path = paths[(counter %% #paths) + 1]
  local headers = {}
  if token ~= "" then headers["Authorization"] = "Bearer " .. token end
  local body = nil
  if body_template ~= nil then
    headers["Content-Type"] = "application/json"
    -- every %%s becomes this request's unique id
    body = (body_template:gsub("%%%%s", prefix .. counter))
  end
  return wrk.format(method, path, headers, body)
end

-- wrk only counts 4xx/5xx as errors; a redirect would pass for a fast answer. Each
-- thread counts non-2xx itself; done() reads the counts through the thread objects.
local threads = {}
setup = function(thread) table.insert(threads, thread) end
not_ok = 0
codes = {}
response = function(status, headers, body)
  if status < 200 or status > 299 then
    not_ok = not_ok + 1
    codes[status] = (codes[status] or 0) + 1
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  local bad = 0
  local by_status = {}
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("not_ok")
    for status, n in pairs(thread:get("codes")) do
      by_status[status] = (by_status[status] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(by_status) do
    table.insert(parts, string.format('"%%d":%%d', status, n))
  end
  io.write(string.format(
    'BENCHJSON {"requests":%%d,"duration_us":%%d,"p50_us":%%d,"p99_us":%%d,' ..
    '"p999_us":%%d,"max_us":%%d,"connect":%%d,"read":%%d,"write":%%d,"status":%%d,' ..
    '"timeout":%%d,"not_2xx":%%d,"not_2xx_by_status":{%%s}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency:percentile(99.9), latency.max, e.connect, e.read, e.write, e.status, e.timeout,
    bad, table.concat(parts, ",")))
end
"""


def lua_script(paths: list[str], token: str = "", method: str = "GET",
               body: str | None = None) -> str:
    """`body` is a JSON text whose every %s is filled with a unique id per request."""
    quoted = ", ".join(json.dumps(p) for p in paths)
    body_lua = "nil" if body is None else "[[" + body + "]]"
    return LUA % {"paths": quoted, "method": method, "token": token, "body": body_lua,
                  "prefix": uuid.uuid4().hex[:8] + "-"}


def run_wrk(base_url: str, script: str, workdir: str, seconds: float, connections: int,
            threads: int = 1) -> dict[str, Any]:
    path = os.path.join(workdir, f"wrk-{uuid.uuid4().hex[:8]}.lua")
    with open(path, "w") as handle:
        handle.write(script)
    # One wrk thread: the server has one worker, and the second core must stay for it.
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "5s",
               "-s", path, base_url]
    output = subprocess.run(command, capture_output=True, text=True,
                            timeout=seconds + 30).stdout
    line = next((ln for ln in output.splitlines() if ln.startswith("BENCHJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no figures:\n{output}")
    raw = json.loads(line[len("BENCHJSON "):])
    seconds_taken = raw["duration_us"] / 1e6
    # Every answer that is not 2xx counts (4xx/5xx and redirects), plus socket errors.
    errors = raw["connect"] + raw["read"] + raw["write"] + raw["not_2xx"] + raw["timeout"]
    return {"requests": raw["requests"], "rps": raw["requests"] / seconds_taken,
            "p50_ms": raw["p50_us"] / 1000, "p99_ms": raw["p99_us"] / 1000,
            "p999_ms": raw["p999_us"] / 1000, "max_ms": raw["max_us"] / 1000,
            "errors": errors, "not_2xx": raw["not_2xx"], "timeouts": raw["timeout"],
            # which answers were not 2xx ({"429": n, ...}), and the socket errors apart
            "not_2xx_by_status": raw.get("not_2xx_by_status", {}),
            "socket_errors": {k: raw[k] for k in ("connect", "read", "write")},
            "seconds": seconds_taken}
