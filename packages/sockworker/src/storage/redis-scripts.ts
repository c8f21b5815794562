/**
 * The Lua scripts of the Redis backend. A script runs atomically on the
 * server, so each of them is one step that no other client can interleave.
 *
 * Layout, for namespace `ns` (the braces keep every key in one cluster slot):
 *   {ns}:v:<key>   the value: one tag byte (`s` text, `b` bytes), then the payload;
 *                  expiry is Redis' own (PXAT)
 *   {ns}:i         a sorted set of the keys, all at score 0, for `list` in byte order
 *   {ns}:lock      the transaction lock: a random token, with a lease (PX)
 */

/**
 * Applies writes. KEYS: lock, index, then one value key per write.
 * ARGV: token ('' outside a transaction), now (ms), then per write:
 * op (`set` `del` `expire`), key, value, expiresAt ('' for none), onlyIf ('' `absent` `present`).
 * Returns -1 if a transaction holds the lock (retry later), -2 if `token`
 * no longer holds it (its lease lapsed), else the last write's result (1/0).
 * With a token, the lock is released after the writes.
 */
export const WRITE = `
local token, now = ARGV[1], tonumber(ARGV[2])
if token == '' then
  if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
elseif redis.call('GET', KEYS[1]) ~= token then
  return -2
end
local result = 0
for i = 3, #KEYS do
  local a = 3 + (i - 3) * 5
  local op, key, value, at, onlyIf = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4]
  local vkey = KEYS[i]
  local exists = redis.call('EXISTS', vkey) == 1
  result = 0
  if op == 'del' then
    if exists then result = 1 end
    redis.call('DEL', vkey)
    redis.call('ZREM', KEYS[2], key)
  elseif op == 'expire' then
    if exists then
      result = 1
      if at == '' then redis.call('PERSIST', vkey)
      elseif tonumber(at) <= now then
        redis.call('DEL', vkey)
        redis.call('ZREM', KEYS[2], key)
      else redis.call('PEXPIREAT', vkey, at) end
    end
  elseif (onlyIf == 'absent' and exists) or (onlyIf == 'present' and not exists) then
    result = 0
  else
    result = 1
    if at ~= '' and tonumber(at) <= now then
      redis.call('DEL', vkey)
      redis.call('ZREM', KEYS[2], key)
    else
      if at == '' then redis.call('SET', vkey, value)
      else redis.call('SET', vkey, value, 'PXAT', at) end
      redis.call('ZADD', KEYS[2], 0, key)
    end
  end
end
if token ~= '' then redis.call('DEL', KEYS[1]) end
return result
`

/**
 * Lists live keys in byte order. KEYS: index. ARGV: min, max (ZRANGEBYLEX
 * bounds), limit, value-key prefix. Returns [key, value, key, value, …];
 * index entries whose value has expired are removed on the way.
 */
export const LIST = `
local out, n, offset, dead = {}, 0, 0, {}
local limit = tonumber(ARGV[3])
while n < limit do
  local batch = redis.call('ZRANGEBYLEX', KEYS[1], ARGV[1], ARGV[2], 'LIMIT', offset, limit - n)
  if #batch == 0 then break end
  offset = offset + #batch
  for _, key in ipairs(batch) do
    local value = redis.call('GET', ARGV[4] .. key)
    if value then
      out[#out + 1] = key
      out[#out + 1] = value
      n = n + 1
    else
      dead[#dead + 1] = key
    end
  end
end
for i = 1, #dead, 1000 do
  redis.call('ZREM', KEYS[1], unpack(dead, i, math.min(i + 999, #dead)))
end
return out
`

/** Releases the lock if `token` (ARGV[1]) still holds it. KEYS: lock. */
export const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`
