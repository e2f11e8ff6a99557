package dev.once.redis;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The Lua scripts behind the store's operations. Each acts on exactly one key (KEYS[1], the record)
 * so it is valid on a cluster, and runs atomically on the server. The scripts know only the offsets
 * {@link RecordCodec} documents: the 18-byte owner prefix (version, state, token) and the flags
 * byte after it (Lua strings are 1-based, so that byte is at index 19), which record formats 1 and
 * 2 share; they keep the version byte as they find it, so they serve records of either format.
 */
enum Script {
  /**
   * ARGV[1] the new in-progress record, ARGV[2] the lease in milliseconds. Returns an empty array
   * if the caller now owns the key, else the live record and its remaining time to live in
   * milliseconds. An expired record is absent to the script, which is how a lease passes.
   */
  CLAIM("""
      local record = redis.call('GET', KEYS[1])
      if record then
        return {record, redis.call('PTTL', KEYS[1])}
      end
      redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
      return {}
      """),

  /**
   * No arguments. Returns the live record and its remaining time to live in milliseconds, as
   * {@link #CLAIM} does, or an empty array if there is none. Reads only: a peek never creates,
   * changes or marks a record.
   */
  PEEK("""
      local record = redis.call('GET', KEYS[1])
      if record then
        return {record, redis.call('PTTL', KEYS[1])}
      end
      return {}
      """),

  /**
   * ARGV[1] the owner prefix, ARGV[2] the response part, ARGV[3] the ttl in milliseconds. Returns 1
   * if the owner's record was completed, 0 if the token no longer owns a live in-progress record.
   * Publishes on the record's channel if someone awaits it.
   */
  COMPLETE("""
      local record = redis.call('GET', KEYS[1])
      if not record or string.sub(record, 1, 18) ~= ARGV[1] then
        return 0
      end
      redis.call('SET', KEYS[1],
        string.sub(record, 1, 1) .. '\\2' .. string.sub(record, 3) .. ARGV[2], 'PX', ARGV[3])
      if bit.band(string.byte(record, 19), 2) ~= 0 then
        redis.call('PUBLISH', KEYS[1], '')
      end
      return 1
      """),

  /**
   * ARGV[1] the owner prefix. Returns 1 if the owner's record was deleted, 0 if the token no longer
   * owns a live in-progress record. Publishes on the record's channel if someone awaits it.
   */
  RELEASE("""
      local record = redis.call('GET', KEYS[1])
      if not record or string.sub(record, 1, 18) ~= ARGV[1] then
        return 0
      end
      redis.call('DEL', KEYS[1])
      if bit.band(string.byte(record, 19), 2) ~= 0 then
        redis.call('PUBLISH', KEYS[1], '')
      end
      return 1
      """),

  /**
   * ARGV[1] the owner prefix, ARGV[2] the new lease in milliseconds. Returns 1 if the owner's
   * in-progress record now expires a lease from now, 0 if the token no longer owns a live
   * in-progress record (completed, released, taken over, or its lease passed: an expired record is
   * absent). Reads only the prefix ({@code GETRANGE}), so a late renewal of a large completed
   * record
   * copies 18 bytes, not its body. Only the expiry changes: the flags byte, and with it the awaited
   * mark, is kept, and nothing is published, so waiters stay parked.
   */
  RENEW("""
      if redis.call('GETRANGE', KEYS[1], 0, 17) ~= ARGV[1] then
        return 0
      end
      redis.call('PEXPIRE', KEYS[1], ARGV[2])
      return 1
      """),

  /**
   * No arguments. Returns an empty array if there is no live record, else the record's first 62
   * bytes (its head: prefix, flags, creation time in format 2, fingerprint, and a completed
   * record's response flags and status), its length and its remaining time to live in
   * milliseconds. Reads only, and never the body, so inspecting a large record costs a few bytes.
   */
  INSPECT("""
      local head = redis.call('GETRANGE', KEYS[1], 0, 61)
      if head == '' then
        return {}
      end
      return {head, redis.call('STRLEN', KEYS[1]), redis.call('PTTL', KEYS[1])}
      """),

  /**
   * ARGV[1] '1' to delete an in-progress record too. Returns 0 if there is no live record, 1 if a
   * completed record was deleted, 2 if the record is in progress and deletion was not forced
   * (nothing changed), 3 if an in-progress record was deleted by force; a forced deletion publishes
   * on the record's channel if someone awaits it, as a release does.
   */
  DELETE("""
      local head = redis.call('GETRANGE', KEYS[1], 0, 18)
      if head == '' then
        return 0
      end
      if string.byte(head, 2) ~= 1 then
        redis.call('DEL', KEYS[1])
        return 1
      end
      if ARGV[1] ~= '1' then
        return 2
      end
      redis.call('DEL', KEYS[1])
      if string.len(head) >= 19 and bit.band(string.byte(head, 19), 2) ~= 0 then
        redis.call('PUBLISH', KEYS[1], '')
      end
      return 3
      """),

  /**
   * Marks an in-progress record as awaited, so that completing or releasing it publishes on its
   * channel; the caller subscribed first. Returns 0 if the record is absent or finished (look again
   * now), else its remaining lease in milliseconds (at least 1), or -1 if it has no expiry: the
   * caller waits for the message, and looks again when that lease has passed, since a lease that
   * passes publishes nothing. Reads only the record's first 19 bytes; the mark keeps the record's
   * expiry.
   */
  AWAIT("""
      local head = redis.call('GETRANGE', KEYS[1], 0, 18)
      local version = string.byte(head, 1)
      if string.len(head) < 19 or (version ~= 1 and version ~= 2) or string.byte(head, 2) ~= 1
      then
        return 0
      end
      local flags = string.byte(head, 19)
      if bit.band(flags, 2) == 0 then
        redis.call('SETRANGE', KEYS[1], 18, string.char(bit.bor(flags, 2)))
      end
      local ttl = redis.call('PTTL', KEYS[1])
      if ttl == 0 then
        return 1
      end
      return ttl
      """);

  private final String source;
  private final byte[] bytes;
  private final String sha1;

  Script(String source) {
    this.source = source;
    this.bytes = source.getBytes(StandardCharsets.UTF_8);
    this.sha1 = sha1(bytes);
  }

  /** @return the Lua source */
  String source() {
    return source;
  }

  /** @return the Lua source as UTF-8 bytes, for EVAL */
  byte[] bytes() {
    return bytes.clone();
  }

  /** @return the SHA-1 digest Redis knows the script by, for EVALSHA */
  String sha1() {
    return sha1;
  }

  private static String sha1(byte[] bytes) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-1").digest(bytes);
      StringBuilder hex = new StringBuilder(40);
      for (byte b : digest) {
        hex.append(Character.forDigit((b >> 4) & 0xF, 16)).append(Character.forDigit(b & 0xF, 16));
      }
      return hex.toString();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-1 is required of every Java platform", e);
    }
  }
}
