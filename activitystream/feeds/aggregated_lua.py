"""The Lua scripts of aggregated and notification feeds: one atomic call per feed and write.

Every script gets the same KEYS, all under the feed's hash tag (one Redis
Cluster slot), and touches no other key:

1. the feed: a sorted set, group key -> newest activity (ms)
2. ``:groups``: a hash, group key -> JSON ``[verb, target, activity count,
   actor count, [score, member, actor, ...] newest first, [score, actor, ...]
   latest actors newest first]`` (scores as text: cjson rounds big numbers)
3. ``:actors``: a sorted set of ``group NUL actor`` (score 0, read by lex range)
4. ``:actn``: a hash, ``group NUL actor`` -> that actor's activities in the group
5. ``:acts``: a hash, activity member -> group key (replays, removals)
6. ``:built``: the feed was written from the database
7. to 10. (notification feeds only) ``:state``: a hash {seq, seen, read};
   ``:touch``: group -> seq of its last change; ``:seenmarks`` and
   ``:readmarks``: group -> seq when it was marked on its own.
"""

# Shared: loading, dropping, trimming groups and counting, for the scripts below.
PRELUDE = r"""
local notify = #KEYS > 6
local groups = {}
local function load(name)
  local g = groups[name]
  if g == nil then
    local raw = redis.call('HGET', KEYS[2], name)
    g = raw and cjson.decode(raw) or false
    groups[name] = g
  end
  return g
end
local function older(s1, m1, s2, m2)
  return s1 < s2 or (s1 == s2 and m1 < m2)
end
-- put actor (at score) in the flat [score, actor, ...] list, newest first, k at most
local function latest(list, actor, score_text, k)
  local score = tonumber(score_text)
  for j = 1, #list, 2 do
    if list[j + 1] == actor then
      if tonumber(list[j]) >= score then return end
      table.remove(list, j)
      table.remove(list, j)
      break
    end
  end
  local at = #list + 1
  for j = 1, #list, 2 do
    if older(tonumber(list[j]), list[j + 1], score, actor) then at = j break end
  end
  table.insert(list, at, actor)
  table.insert(list, at, score_text)
  while #list > 2 * k do list[#list] = nil end
end
local function drop(name)
  local g = load(name)
  if g then
    for j = 2, #g[5], 3 do redis.call('HDEL', KEYS[5], g[5][j]) end
  end
  local first, last = '[' .. name .. '\0', '(' .. name .. '\1'
  for _, field in ipairs(redis.call('ZRANGEBYLEX', KEYS[3], first, last)) do
    redis.call('HDEL', KEYS[4], field)
  end
  redis.call('ZREMRANGEBYLEX', KEYS[3], first, last)
  redis.call('HDEL', KEYS[2], name)
  redis.call('ZREM', KEYS[1], name)
  if notify then
    for i = 8, 10 do redis.call('ZREM', KEYS[i], name) end
  end
  groups[name] = false
end
local function trim(max_length)
  local extra = redis.call('ZCARD', KEYS[1]) - max_length
  if extra > 0 then
    for _, name in ipairs(redis.call('ZRANGE', KEYS[1], 0, extra - 1)) do drop(name) end
  end
end
local function counts()
  local marks = redis.call('HMGET', KEYS[7], 'seen', 'read')
  local found = {}
  for i = 1, 2 do
    local after = '(' .. (marks[i] or '0')
    found[i] = redis.call('ZCOUNT', KEYS[8], after, '+inf')
      - redis.call('ZCOUNT', KEYS[8 + i], after, '+inf')
  end
  return found
end
local function push(channel, feed)
  if channel == '' then return end
  local c = counts()
  redis.call('PUBLISH', channel,
             cjson.encode({feed = feed, unseen_count = c[1], unread_count = c[2]}))
end
local function note(changed, order, name)
  if not changed[name] then
    changed[name] = true
    order[#order + 1] = name
  end
end
local function save(order)
  for _, name in ipairs(order) do
    local g = groups[name]
    if g then redis.call('HSET', KEYS[2], name, cjson.encode(g)) end
  end
end
"""

# ARGV: if_built, max_length, max_group_activities, max_latest_actors, channel, feed,
# then per entry (oldest first): group, score, member, actor, verb, target.
# Returns how many groups changed. An activity already in the feed changes nothing; so
# does one older than all a full group keeps (a replay of one it let go).
ADD = (
    PRELUDE
    + r"""
if ARGV[1] == '1' and redis.call('EXISTS', KEYS[6]) == 0 then return 0 end
local max_length, cap, k = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local order, changed = {}, {}
for i = 7, #ARGV, 6 do
  local name, score_text, member, actor = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local score = tonumber(score_text)
  if redis.call('HEXISTS', KEYS[5], member) == 0 then
    local g = load(name)
    if not g then
      g = {ARGV[i + 4], ARGV[i + 5], 0, 0, {}, {}}
      groups[name] = g
    end
    local acts = g[5]
    local at = #acts + 1
    for j = 1, #acts, 3 do
      if older(tonumber(acts[j]), acts[j + 1], score, member) then at = j break end
    end
    if (at - 1) / 3 < cap then
      table.insert(acts, at, actor)
      table.insert(acts, at, member)
      table.insert(acts, at, score_text)
      g[3] = g[3] + 1
      redis.call('HSET', KEYS[5], member, name)
      if #acts > 3 * cap then
        redis.call('HDEL', KEYS[5], acts[#acts - 1])
        for _ = 1, 3 do acts[#acts] = nil end
      end
      if actor ~= '' then
        local field = name .. '\0' .. actor
        if redis.call('HINCRBY', KEYS[4], field, 1) == 1 then
          redis.call('ZADD', KEYS[3], 0, field)
          g[4] = g[4] + 1
        end
        latest(g[6], actor, score_text, k)
      end
      redis.call('ZADD', KEYS[1], 'GT', score, name)
      note(changed, order, name)
    end
  end
end
save(order)
if notify then
  for _, name in ipairs(order) do
    local seq = redis.call('HINCRBY', KEYS[7], 'seq', 1)
    redis.call('ZADD', KEYS[8], seq, name)
    redis.call('ZREM', KEYS[9], name)
    redis.call('ZREM', KEYS[10], name)
  end
end
trim(max_length)
if notify and #order > 0 then push(ARGV[5], ARGV[6]) end
return #order
"""
)

# ARGV: channel, feed, max_latest_actors, then activity members. Returns how many groups
# changed. A group left without activities goes; its latest actors are chosen again
# among the actors still in it.
REMOVE = (
    PRELUDE
    + r"""
local k = tonumber(ARGV[3])
local order, changed = {}, {}
for i = 4, #ARGV do
  local member = ARGV[i]
  local name = redis.call('HGET', KEYS[5], member)
  if name then
    local g = load(name)
    local acts = g[5]
    redis.call('HDEL', KEYS[5], member)
    for j = 2, #acts, 3 do
      if acts[j] == member then
        local actor = acts[j + 1]
        for _ = 1, 3 do table.remove(acts, j - 1) end
        g[3] = g[3] - 1
        if actor ~= '' then
          local field = name .. '\0' .. actor
          if redis.call('HINCRBY', KEYS[4], field, -1) <= 0 then
            redis.call('HDEL', KEYS[4], field)
            redis.call('ZREM', KEYS[3], field)
            g[4] = g[4] - 1
          end
        end
        break
      end
    end
    if #acts == 0 then
      drop(name)
    else
      -- latest actors: the newest of each actor still kept, else what was known of it
      local best, pool = {}, {}
      for j = 1, #acts, 3 do
        local a = acts[j + 2]
        if a ~= '' and best[a] == nil then best[a] = acts[j] pool[#pool + 1] = a end
      end
      for j = 1, #g[6], 2 do
        local a = g[6][j + 1]
        if best[a] == nil and redis.call('HEXISTS', KEYS[4], name .. '\0' .. a) == 1 then
          best[a] = g[6][j]
          pool[#pool + 1] = a
        end
      end
      local list = {}
      for _, a in ipairs(pool) do latest(list, a, best[a], k) end
      g[6] = list
      redis.call('ZADD', KEYS[1], 'XX', acts[1], name)
    end
    note(changed, order, name)
  end
end
save(order)
if notify and #order > 0 then push(ARGV[1], ARGV[2]) end
return #order
"""
)

# Notification feeds. ARGV: seen ('1'/'0'), read, channel, feed. The watermarks move to
# the last change: O(1), then the new counts are pushed (two ZCOUNTs, O(log n)).
MARK_ALL = (
    PRELUDE
    + r"""
local seq = redis.call('HGET', KEYS[7], 'seq') or '0'
local moved = 0
for i, flag in ipairs({'seen', 'read'}) do
  if ARGV[i] == '1' and (redis.call('HGET', KEYS[7], flag) or '0') ~= seq then
    redis.call('HSET', KEYS[7], flag, seq)
    moved = 1
  end
end
if moved == 1 then push(ARGV[3], ARGV[4]) end
return moved
"""
)

# ARGV: group, seen ('1'/'0'), read, channel, feed: marks one group until it changes again.
MARK_ONE = (
    PRELUDE
    + r"""
local seq = redis.call('ZSCORE', KEYS[8], ARGV[1])
if not seq then return 0 end
local marks = redis.call('HMGET', KEYS[7], 'seen', 'read')
local moved = 0
for i = 1, 2 do
  if ARGV[i + 1] == '1' and tonumber(seq) > tonumber(marks[i] or '0')
     and redis.call('ZADD', KEYS[8 + i], seq, ARGV[1]) == 1 then
    moved = 1
  end
end
if moved == 1 then push(ARGV[4], ARGV[5]) end
return moved
"""
)

# {unseen, unread}: O(log n).
COUNTS = PRELUDE + '\nreturn counts()\n'
