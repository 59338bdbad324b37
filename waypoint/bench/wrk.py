"""Load generation with ``wrk``: Lua scripts that build each request, and the run itself.

The scripts are generated per run. Each request is built in wrk's ``request()`` hook, so
the mix is drawn afresh for every request; ``done()`` prints one JSON line with the
throughput, the errors and the latency percentiles, which :func:`run_wrk` parses.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: ``(query, long_tail)``: ``None`` is a request without a query; a long-tail query gets a
#: made-up word appended per request, so no two requests send the same text (within a run,
#: and across the runs of one bench: each run's words start with that run's own ``salt``,
#: see :func:`recommend_script`, so no phase is served from caches an earlier phase filled).
#: The users are the run's own too (``bench-<salt>-<n>``): a later phase does not read the
#: longer histories and fatigue counts the earlier phases' decisions left its users.
QUERIES: list[tuple[str | None, bool]] = [
    (None, False),
    ("I want a new crime novel", False),
    ("my dishwasher broke, I need a new one", True),
    ("I want to cancel my contract", False),
    ("looking for a new phone", True),
    ("ich suche einen neuen Laptop", True),
    ("je cherche un roman policier", False),
    ("what's the weather tomorrow", True),
    ("my internet is not working", False),
]
CHANNELS = ["web", "app", "contact_center"]
LANGUAGES = ["en", "en", "de", "fr"]
COUNTRIES = ["DE", "FR", "GB", "AT"]
EVENT_TYPES = ["view", "view", "click", "impression", "impression", "add_to_cart", "purchase"]

_COMMON = r"""
local counter = 0
local threads = {}
local syl = {"ka","lo","mi","ren","sto","vu","dar","fel","gin","hol","jor","pes","qua","ris"}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function init(args)
  math.randomseed(SEED + 7919 * (tid or 0))
end

-- a made-up word, unique per (run, thread, counter): SALT names the run, and the
-- syllables are a prefix code, so no two (SALT, thread, counter) spell the same word
local function word(n)
  local s = SALT .. syl[((tid or 0) % #syl) + 1]
  repeat
    s = s .. syl[(n % #syl) + 1]
    n = math.floor(n / #syl)
  until n == 0
  return s
end

local function pick(list) return list[math.random(#list)] end

done = function(summary, latency, requests)
  local e = summary.errors
  local first = threads[1] and threads[1]:get("first_answered") or ""
  io.write(string.format(
    'WRK_JSON {"first_answered":"%s","requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"max":%d}}\n',
    first, summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max))
end
"""

_RECOMMEND = r"""
request = function()
  counter = counter + 1
  local q = pick(QUERIES)
  local body = '{"user_id":"bench-' .. SALT .. '-' .. math.random(0, USERS - 1) ..
    '","context":{"channel":"' .. pick(CHANNELS) .. '","language":"' .. pick(LANGUAGES) ..
    '","location":{"country":"' .. pick(COUNTRIES) .. '"}},"limit":5'
  if q[1] then
    local text = q[1]
    if q[2] then text = text .. " " .. word(counter) end
    body = body .. ',"query":"' .. text .. '"'
  end
  return wrk.format("POST", "/v1/recommend", HEADERS, body .. "}")
end
"""

_EVENTS = r"""
request = function()
  counter = counter + 1
  local parts = {}
  for i = 1, BATCH do
    local user = (counter * 7919 + i * 31) % USERS
    local kind = pick(EVENT_TYPES)
    local ev = '{"event_id":"' .. RUN .. '-' .. (tid or 0) .. '-' .. counter .. '-' .. i ..
      '","user_id":"bench-' .. user .. '","type":"' .. kind .. '","item_id":"' .. pick(ITEMS) ..
      '","context":{"channel":"' .. pick(CHANNELS) .. '","language":"' .. pick(LANGUAGES) .. '"}'
    if kind == "purchase" then ev = ev .. ',"value":' .. math.random(1, 50) end
    parts[i] = ev .. "}"
  end
  local body = '{"events":[' .. table.concat(parts, ",") .. ']}'
  return wrk.format("POST", "/v1/events", HEADERS, body)
end

-- the first event id of the first answered batch, so the bench can send that batch again
response = function(status, headers, body)
  if first_answered == nil and status == 200 then
    first_answered = string.match(body, '"event_id":"([^"]+)"')
  end
end
"""


def _lua(value: Any) -> str:
    """A Lua literal for a JSON-able value (strings are JSON-escaped for the request body)."""
    if value is None:
        return "false"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        escaped = json.dumps(value)[1:-1]  # safe inside a JSON string in the body
        return "[==[" + escaped + "]==]"
    if isinstance(value, list | tuple):
        return "{" + ", ".join(_lua(v) for v in value) + "}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"[ {_lua(k)} ] = {_lua(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no Lua literal for {type(value).__name__}")


#: the syllables of the made-up words (the Lua ``syl`` table): no one is a prefix of another
SYLLABLES = ["ka", "lo", "mi", "ren", "sto", "vu", "dar", "fel", "gin", "hol", "jor", "pes",
             "qua", "ris"]  # fmt: skip


def salt_word(salt: int) -> str:
    """Two syllables naming run ``salt`` (``salt`` mod 196): the start of its long-tail words."""
    n = len(SYLLABLES)
    return SYLLABLES[salt % n] + SYLLABLES[(salt // n) % n]


def _header(key: str, seed: int, users: int, salt: int = 0) -> str:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
    return "\n".join(
        [
            f"SEED = {seed}",
            f"SALT = {_lua(salt_word(salt))}",
            f"USERS = {users}",
            f"HEADERS = {_lua(headers)}",
            f"CHANNELS = {_lua(CHANNELS)}",
            f"LANGUAGES = {_lua(LANGUAGES)}",
            f"COUNTRIES = {_lua(COUNTRIES)}",
        ]
    )


def recommend_script(key: str, *, users: int, seed: int, salt: int = 0) -> str:
    """The recommend mix; scripts with different ``salt`` never send the same long-tail
    word nor the same user id, so a run starts as cold as the one before it."""
    queries = _lua([[q, tail] for q, tail in QUERIES])
    return f"{_header(key, seed, users, salt)}\nQUERIES = {queries}\n{_COMMON}\n{_RECOMMEND}"


def events_script(
    key: str, *, users: int, seed: int, batch: int, items: list[str], run_id: str
) -> str:
    return "\n".join(
        [
            _header(key, seed, users),
            f"BATCH = {batch}",
            f"RUN = {_lua(run_id)}",
            f"ITEMS = {_lua(items)}",
            f"EVENT_TYPES = {_lua(EVENT_TYPES)}",
            _COMMON,
            _EVENTS,
        ]
    )


def event_id(run_id: str, thread: int, request: int, index: int) -> str:
    """The id the events script gives event ``index`` (1-based) of a thread's request."""
    return f"{run_id}-{thread}-{request}-{index}"


def parse_event_id(value: str) -> tuple[str, int, int, int] | None:
    """``(run_id, thread, request, index)`` of an id made by :func:`event_id`."""
    parts = value.rsplit("-", 3)
    if len(parts) != 4 or not all(p.isdigit() for p in parts[1:]):
        return None
    return parts[0], int(parts[1]), int(parts[2]), int(parts[3])


def event_user(request: int, index: int, users: int) -> str:
    """The user of that event (event ids are unique per user, so a resend needs both)."""
    return f"bench-{(request * 7919 + index * 31) % users}"


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    errors: dict[str, int]
    latency_ms: dict[str, float]
    first_answered: str = ""

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def as_dict(self) -> dict[str, Any]:
        """The figures; a phase in which no request was answered counts as one error
        (``none_answered``) and has no latencies."""
        errors = {k: v for k, v in self.errors.items() if v}
        if self.requests == 0:
            errors["none_answered"] = 1
        latency = {f"{k}_ms": (v if self.requests else None) for k, v in self.latency_ms.items()}
        return {
            "requests": self.requests,
            "seconds": round(self.seconds, 2),
            "rps": round(self.rps, 1),
            "errors": sum(errors.values()),
            "error_kinds": errors,
            **latency,
        }


def wrk_binary(path: str = "wrk") -> str | None:
    return shutil.which(path)


def parse_output(stdout: str) -> WrkResult:
    for line in stdout.splitlines():
        if line.startswith("WRK_JSON "):
            data = json.loads(line[len("WRK_JSON ") :])
            return WrkResult(
                requests=int(data["requests"]),
                seconds=data["duration_us"] / 1e6,
                errors={k: int(v) for k, v in data["errors"].items()},
                latency_ms={k: round(v / 1000, 2) for k, v in data["latency_us"].items()},
                first_answered=str(data.get("first_answered") or ""),
            )
    raise RuntimeError(f"wrk printed no result line:\n{stdout[-2000:]}")


def run_wrk(
    binary: str,
    url: str,
    script: Path,
    *,
    seconds: int,
    connections: int,
    threads: int,
    timeout_s: int = 10,
) -> WrkResult:
    """Run wrk once against ``url`` with ``script``; ``threads`` is capped by connections."""
    argv = [
        binary,
        f"-t{min(threads, connections)}",
        f"-c{connections}",
        f"-d{seconds}s",
        f"--timeout={timeout_s}s",
        "-s",
        str(script),
        url,
    ]
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=seconds + timeout_s + 30, check=False
    )
    if done.returncode != 0 or ".lua:" in done.stderr:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return parse_output(done.stdout)
