"""The Lua script that stores events: several users' events per call, each user atomically.

One call carries the events of one or more users (on Redis Cluster, only users whose keys
share a hash slot). ``KEYS`` are each user's keys in :data:`KEY_ORDER`, user after user;
``ARGV`` is the deadline (ms since the epoch), now (the seen-set score), forget-before, and
ONE JSON document: per user, in ``KEYS`` order, ``[[event_id, [[op, key name, a, b], ...]],
...]``. The reply is ``-1`` (too late: nothing applied) or one flag per event, user after
user, in order: 1 (applied) / 0 (seen before).

Every operation of the call is checked before anything is written, so a malformed call
applies nothing; a user's new events are then merged per key with the effect of applying
them in order (counters summed, the last write of a field wins, list pushes in order, the
last TTL wins).
"""

from __future__ import annotations

import hashlib

from context.store import STATE_KEYS

#: One user's keys as the script gets them (the first is the seen-set).
KEY_ORDER: tuple[str, ...] = ("seen_events", *STATE_KEYS, "history", "recent_items", "feedback")

_KEY_INDEX = "{" + ", ".join(f"{name} = {i}" for i, name in enumerate(KEY_ORDER, 1)) + "}"

APPLY_EVENTS_LUA = (
    """
local K = """
    + _KEY_INDEX
    + f"""
local PER_USER = {len(KEY_ORDER)}
"""
    + """
local OPS = {hincrbyfloat = 'count', hset = 'field', hdel = 'field', sadd = 'member',
             lpush_trim = 'list', expire = 'ttl'}
local t = redis.call('TIME')
if tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) > tonumber(ARGV[1]) then
  return -1
end
local users = cjson.decode(ARGV[4])
if #users * PER_USER ~= #KEYS then return redis.error_reply('keys do not match the users') end
-- check everything first (never a half-applied call): known ops and keys, and a hash key
-- of a user is either counted (hincrbyfloat) or set (hset/hdel), so ops can be merged below
for _, events in ipairs(users) do
  local kind = {}
  for _, e in ipairs(events) do
    if type(e[1]) ~= 'string' then return redis.error_reply('bad event id') end
    for _, o in ipairs(e[2]) do
      local k = OPS[o[1]]
      if not k or not K[o[2]] then return redis.error_reply('bad op') end
      if k ~= 'ttl' then
        if kind[o[2]] and kind[o[2]] ~= k then return redis.error_reply('mixed ops on a key') end
        kind[o[2]] = k
      end
    end
  end
end
local out = {}
for u, events in ipairs(users) do
  local base = (u - 1) * PER_USER
  local seen = KEYS[base + 1]
  local incr, sets, pushes, caps, members, ttls = {}, {}, {}, {}, {}, {}
  for _, e in ipairs(events) do
    if redis.call('ZADD', seen, 'NX', ARGV[2], e[1]) == 1 then
      for _, o in ipairs(e[2]) do
        local op, key, a, b = o[1], o[2], o[3], o[4]
        if op == 'hincrbyfloat' then
          incr[key] = incr[key] or {}
          incr[key][a] = (incr[key][a] or 0) + tonumber(b)
        elseif op == 'hset' or op == 'hdel' then
          sets[key] = sets[key] or {}
          sets[key][a] = (op == 'hset') and b or false
        elseif op == 'lpush_trim' then
          pushes[key] = pushes[key] or {}
          table.insert(pushes[key], a)
          caps[key] = math.min(caps[key] or math.huge, tonumber(b))
        elseif op == 'sadd' then
          members[key] = members[key] or {}
          table.insert(members[key], a)
        else
          ttls[key] = tonumber(a)
        end
      end
      out[#out + 1] = 1
    else
      out[#out + 1] = 0
    end
  end
  for key, fields in pairs(incr) do
    for f, v in pairs(fields) do
      redis.call('HINCRBYFLOAT', KEYS[base + K[key]], f, string.format('%.17g', v))
    end
  end
  for key, fields in pairs(sets) do
    local put, gone = {}, {}
    for f, v in pairs(fields) do
      if v then table.insert(put, f); table.insert(put, v) else table.insert(gone, f) end
    end
    if #put > 0 then redis.call('HSET', KEYS[base + K[key]], unpack(put)) end
    if #gone > 0 then redis.call('HDEL', KEYS[base + K[key]], unpack(gone)) end
  end
  for key, values in pairs(pushes) do
    if redis.call('LPUSH', KEYS[base + K[key]], unpack(values)) > caps[key] then
      redis.call('LTRIM', KEYS[base + K[key]], 0, caps[key] - 1)
    end
  end
  for key, values in pairs(members) do redis.call('SADD', KEYS[base + K[key]], unpack(values)) end
  for key, ttl in pairs(ttls) do redis.call('EXPIRE', KEYS[base + K[key]], ttl) end
  redis.call('ZREMRANGEBYSCORE', seen, '-inf', ARGV[3])
end
return out
"""
)

APPLY_EVENTS_SHA = hashlib.sha1(APPLY_EVENTS_LUA.encode(), usedforsecurity=False).hexdigest()
