-- The contact policy's admission script (recommender/policy/enforcer.py runs it;
-- the comment there above ADMIT_LUA lists its KEYS, ARGV and reply).
local function split(s)
  local out, start = {}, 1
  while true do
    local i = string.find(s, '|', start, true)
    if not i then out[#out + 1] = string.sub(s, start); return out end
    out[#out + 1] = string.sub(s, start, i - 1)
    start = i + 1
  end
end
local function under(cat, prefix)
  return cat == prefix or string.sub(cat, 1, #prefix + 1) == prefix .. '/'
end
local now = tonumber(ARGV[1])
local channel, session, request_id = ARGV[4], ARGV[5], ARGV[6]
local cfg = cjson.decode(ARGV[7])
local want, mode, ttl = tonumber(ARGV[8]), ARGV[9], tonumber(ARGV[10])
local prefix = ARGV[11] == '1'
local cands = cjson.decode(ARGV[12])
local n = #cands
local rules = cfg.rules

local function group(r, id, kind, cat)
  local m = r.match
  if r.scope == 'action' then
    if m == '' or m == id then return id end
  elseif r.scope == 'kind' then
    if m == '' or m == kind then return kind end
  else
    if m == '' then return cat end
    if under(cat, m) then return m end
  end
  return nil
end

-- impressions already reserved, counted per rule and group
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[2])
local counts = {}
for i = 1, #rules do counts[i] = {} end
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local f = split(member)
  local ts, ch, sess, kind, cat, id = tonumber(f[1]), f[4], f[5], f[6], f[7], f[8]
  for i, r in ipairs(rules) do
    if r.any_channel or ch == channel then
      local inside
      if r.session then inside = session ~= '' and sess == session
      else inside = ts > now - r.window end
      if inside then
        local g = group(r, id, kind, cat)
        if g then counts[i][g] = (counts[i][g] or 0) + 1 end
      end
    end
  end
end

-- declines / dismissals and snoozes
local negs, snoozed = {}, {}
local fb = redis.call('HGETALL', KEYS[2])
local forget = tonumber(ARGV[3])
for j = 1, #fb, 2 do
  local name, value = fb[j], fb[j + 1]
  if string.sub(name, 1, 2) == 'n:' then
    local f = split(value)
    local ts = tonumber(f[1])
    if ts < forget then redis.call('HDEL', KEYS[2], name)
    else
      local list = negs[f[2]] or {}
      list[#list + 1] = ts
      negs[f[2]] = list
    end
  elseif string.sub(name, 1, 2) == 's:' then
    local ts = tonumber(value)
    if ts < forget then redis.call('HDEL', KEYS[2], name)
    elseif cfg.snooze > 0 and now < ts + cfg.snooze then snoozed[string.sub(name, 3)] = true end
  end
end
local suppressed = {}
if cfg.supp then
  for id, list in pairs(negs) do
    local latest = list[1]
    for _, ts in ipairs(list) do if ts > latest then latest = ts end end
    local k = 0
    for _, ts in ipairs(list) do if ts >= latest - cfg.supp.within then k = k + 1 end end
    if k >= cfg.supp.after and now < latest + cfg.supp.cooldown then suppressed[id] = true end
  end
end

local function check(c)
  if suppressed[c[1]] then return 'suppressed' end
  if snoozed[c[1]] then return 'snoozed' end
  for i, r in ipairs(rules) do
    local g = group(r, c[1], c[2], c[3])
    if g and (counts[i][g] or 0) + 1 > r.max then return 'cap' end
  end
  return nil
end
local function count(c, delta)
  for i, r in ipairs(rules) do
    local g = group(r, c[1], c[2], c[3])
    if g then counts[i][g] = (counts[i][g] or 0) + delta end
  end
end

local admitted, taken, refused = {}, {}, {}
local denied = {cap = 0, suppressed = 0, snoozed = 0}
for i = 1, n do
  if #admitted >= want then break end
  local why = check(cands[i])
  if why then
    denied[why] = denied[why] + 1
    refused[#refused + 1] = i
  else
    admitted[#admitted + 1] = i
    taken[i] = true
    count(cands[i], 1)
  end
end
if prefix and #admitted < want then return {-1} end

-- mode '1': only count what exploration could pick (for the logged probabilities);
-- mode '2': explore, i.e. replace the last slot with the first eligible pool entry
local explored, eligible = 0, 0
if mode ~= '0' and #admitted > 0 then
  local last = admitted[#admitted]
  count(cands[last], -1)
  for _, i in ipairs(cjson.decode(ARGV[13])) do
    if not taken[i] and not check(cands[i]) then
      eligible = eligible + 1
      if explored == 0 then explored = i end
    end
  end
  if mode == '2' and explored ~= 0 then
    admitted[#admitted] = explored
    count(cands[explored], 1)
  else
    explored = 0
    count(cands[last], 1)
  end
end

for pos, i in ipairs(admitted) do
  local c = cands[i]
  if c[4] == 1 then
    local member = table.concat({ARGV[1], request_id, pos, channel, session, c[2], c[3], c[1]}, '|')
    redis.call('ZADD', KEYS[1], now, member)
  end
end
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('EXPIRE', KEYS[1], ttl) end

local out = {explored, eligible, denied.cap, denied.suppressed, denied.snoozed, #admitted}
for _, i in ipairs(admitted) do out[#out + 1] = i end
for _, i in ipairs(refused) do out[#out + 1] = i end
return out
