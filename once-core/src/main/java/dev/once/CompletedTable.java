package dev.once;

import dev.once.StoredResponse.Header;
import dev.once.spi.Claim;
import dev.once.spi.ResponseCodec;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import org.jspecify.annotations.Nullable;

/**
 * {@link MemoryStore}'s completed records, with no Java object per record: a hash table in direct
 * buffers, its responses in a {@link SlabArena}. See {@link MemoryStore}'s design comment for how
 * it fits the store's state machine; this comment says how the table works.
 *
 * <p>The table is {@value #SEGMENTS} segments, chosen by the key's hash, each an open-addressing
 * table with linear probing in one direct buffer of {@value #SLOT_BYTES}-byte slots, guarded by
 * the segment's monitor. Every read and write of a segment's slots, and every free of a chain a
 * slot points to, is made holding that monitor, so a reader never sees a slot half written nor a
 * chain freed under it. A slot holds:
 *
 * <pre>
 *   0 hash (int)   4 state (byte)   5 flags (byte)   6 status (short)
 *   8 key length in chars (int)     12 key chain (int, when the key is not inline)
 *  16 created (long)   24 deadline (long)   32..63 fingerprint (four longs)
 *  64 response chain (int, -1 none)   68 header list bytes (int)   72 body bytes (int)
 *  76 stored bytes (int, what inspect reports)   80..127 the key inline (up to 48 bytes)
 * </pre>
 *
 * A key is kept one byte a char when every char is below 256 (Latin-1), two otherwise; inline when
 * it fits 48 bytes, else in a chain of a second arena. Keys are compared char by char with the
 * stored bytes, allocating nothing. A segment's buffer is made on its first record and doubled
 * (rehashed into a new buffer) when its live and deleted slots pass three quarters; a deleted slot
 * is a tombstone until the next rehash. The old buffer is freed by the collector when it finds its
 * small heap object gone, like any direct buffer. A record once run must be kept whatever room
 * direct memory has ({@code -XX:MaxDirectMemorySize}, by default the maximum heap): a segment's
 * buffer, and a slab of the keys' arena, that direct memory has no room for is made on the heap
 * instead, one byte array the collector copies but never looks inside. Responses are not: one
 * without room is kept without its body (a retry gets 409), so their bound holds for both.
 *
 * <p>A response (its header list in {@link ResponseCodec}'s form, then its body) is written into
 * the response arena before the record is put, outside any lock. The arena's capacity is {@code
 * maximumWeightBytes}: the byte bound is the bytes of the blocks in use. When a response finds no
 * room, responses are evicted by CLOCK (second chance), one segment at a time, the segments taken
 * in turn: a hand goes round the segment's slots; a record read since the hand last passed loses
 * its mark and stays, one not read loses its response (its chain is freed and it is kept without
 * it, flagged), an expired one is removed. That is simpler than Caffeine's W-TinyLFU (no
 * frequency sketch, so a flood of new keys can push out a replayed response once its mark is
 * spent) but needs no per-record object. A response larger than the whole bound, or one that finds
 * no room after two turns of every segment, is the one kept without its response.
 *
 * <p>Expiry: a record read past its deadline is removed by that read; the clock hand removes those
 * it passes; {@link #sweepExpired} removes all of them, for the record count.
 *
 * <p>Replays of the same keys are served from a small table on the heap ({@value #HOT_SLOTS}
 * claims, of responses up to {@value #HOT_MAX_BYTES} bytes): a read that copies a response out
 * leaves the claim it made there, and a claim finds it with no lock and no copy. A slot of that
 * table is written only holding the segment monitor of the key in it, and every change to a
 * record (removal, eviction of its response, replacement, close) clears the key's slot holding
 * that same monitor, so a claim found there is the record's current one, or was a moment before.
 */
final class CompletedTable {
  static final int SEGMENTS = 32;
  static final int SLOT_BYTES = 128;
  static final int INLINE_KEY_BYTES = 48;
  static final int HOT_SLOTS = 256;
  static final int HOT_MAX_BYTES = 2048;

  /** The bound on the memory of keys longer than {@value #INLINE_KEY_BYTES} bytes: 1 GiB. */
  private static final long KEY_ARENA_BYTES = 1L << 30;
  private static final int INITIAL_SLOTS = 16;
  private static final int HASH = 0;
  private static final int STATE = 4;
  private static final int FLAGS = 5;
  private static final int STATUS = 6;
  private static final int KEY_LENGTH = 8;
  private static final int KEY_CHAIN = 12;
  private static final int CREATED = 16;
  private static final int DEADLINE = 24;
  private static final int FINGERPRINT = 32;
  private static final int CHAIN = 64;
  private static final int HEADER_LENGTH = 68;
  private static final int BODY_LENGTH = 72;
  private static final int STORED_BYTES = 76;
  private static final int KEY = 80;

  private static final byte EMPTY = 0;
  private static final byte LIVE = 1;
  private static final byte DELETED = 2;

  private static final int HAS_FINGERPRINT = 1;
  private static final int REPLAYABLE = 2;
  private static final int STRIPPED = 4;
  private static final int REFERENCED = 8;
  private static final int WIDE_KEY = 16;
  private static final int KEY_IN_ARENA = 32;
  private static final int OUTCOME_UNKNOWN = 64;

  private static final ByteBuffer NO_SLOTS = ByteBuffer.allocate(0);
  private static final VarHandle HOT = MethodHandles.arrayElementVarHandle(Hot[].class);

  private final Segment[] segments = new Segment[SEGMENTS];
  private final SlabArena responses;
  private final SlabArena keys;
  private final Hot[] hot = new Hot[HOT_SLOTS];
  private final HeaderLists headerLists = new HeaderLists();
  private final AtomicInteger evictionHand = new AtomicInteger();
  private final LongAdder evictions = new LongAdder();

  /** @param maximumWeightBytes the bound on the blocks the responses take */
  CompletedTable(long maximumWeightBytes) {
    for (int i = 0; i < SEGMENTS; i++) {
      segments[i] = new Segment();
    }
    this.responses = new SlabArena(maximumWeightBytes, false);
    this.keys = new SlabArena(KEY_ARENA_BYTES, true);
  }

  /** @return the key's hash, spread so that its high bits choose the segment */
  private static int hash(String key) {
    int h = key.hashCode();
    return (h ^ (h >>> 16)) * 0x9E3779B9;
  }

  private Segment segment(int hash) {
    return segments[hash >>> (Integer.SIZE - Integer.numberOfTrailingZeros(SEGMENTS))];
  }

  private static int hotSlot(int hash) {
    return hash & (HOT_SLOTS - 1);
  }

  /**
   * The claim of a live record from the heap table of replayed claims, without a lock.
   *
   * @return the claim, or null if the key's claim is not there (the caller then calls {@link
   *     #get})
   */
  @Nullable Claim hot(String key, long now) {
    Hot entry = (Hot) HOT.getAcquire(hot, hotSlot(hash(key)));
    if (entry != null && now - entry.deadline < 0 && entry.key.equals(key)) {
      return entry.claim;
    }
    return null;
  }

  /**
   * @return the claim of the live completed record of {@code key}, its response copied out, or
   *     null if there is none (one that has expired is removed)
   */
  @Nullable Claim get(String key, long now) {
    Claim found = hot(key, now);
    if (found != null) {
      return found;
    }
    int hash = hash(key);
    Segment segment = segment(hash);
    synchronized (segment) {
      int slot = segment.find(hash, key, this);
      if (slot < 0) {
        return null;
      }
      ByteBuffer slots = segment.slots;
      int at = slot * SLOT_BYTES;
      if (now - slots.getLong(at + DEADLINE) >= 0) {
        segment.remove(slot, this);
        clearHot(hash, key);
        return null;
      }
      int flags = slots.get(at + FLAGS);
      if ((flags & REFERENCED) == 0) {
        slots.put(at + FLAGS, (byte) (flags | REFERENCED));
      }
      Claim claim = claimAt(slots, at, flags);
      int chain = slots.getInt(at + CHAIN);
      if (chain < 0
          || slots.getInt(at + HEADER_LENGTH) + slots.getInt(at + BODY_LENGTH) <= HOT_MAX_BYTES) {
        HOT.setRelease(hot, hotSlot(hash), new Hot(key, claim, slots.getLong(at + DEADLINE)));
      }
      return claim;
    }
  }

  /**
   * What {@code inspect} reports of a live record, or null.
   *
   * @return {created, deadline, status, stored bytes, replayable (1 or 0)}
   */
  long @Nullable [] info(String key, long now) {
    int hash = hash(key);
    Segment segment = segment(hash);
    synchronized (segment) {
      int slot = segment.find(hash, key, this);
      if (slot < 0) {
        return null;
      }
      ByteBuffer slots = segment.slots;
      int at = slot * SLOT_BYTES;
      long deadline = slots.getLong(at + DEADLINE);
      if (now - deadline >= 0) {
        return null;
      }
      int flags = slots.get(at + FLAGS);
      return new long[] {slots.getLong(at + CREATED), deadline, slots.getShort(at + STATUS),
          slots.getInt(at + STORED_BYTES), (flags & REPLAYABLE) != 0 ? 1 : 0};
    }
  }

  private Claim claimAt(ByteBuffer slots, int at, int flags) {
    Fingerprint fingerprint = (flags & HAS_FINGERPRINT) == 0 ? null : new Fingerprint(
        slots.getLong(at + FINGERPRINT), slots.getLong(at + FINGERPRINT + 8),
        slots.getLong(at + FINGERPRINT + 16), slots.getLong(at + FINGERPRINT + 24));
    int status = slots.getShort(at + STATUS);
    StoredResponse response;
    int chain = slots.getInt(at + CHAIN);
    if ((flags & OUTCOME_UNKNOWN) != 0) {
      response = StoredResponse.outcomeUnknown();
    } else if (chain < 0) {
      response = StoredResponse.notReplayable(status, List.of());
    } else {
      int headerLength = slots.getInt(at + HEADER_LENGTH);
      byte[] headerBytes = new byte[headerLength];
      byte[] body = new byte[slots.getInt(at + BODY_LENGTH)];
      responses.read(chain, 0, headerBytes);
      if (body.length > 0) {
        responses.read(chain, headerLength, body);
      }
      List<Header> headers = headerLists.decode(headerBytes);
      response = (flags & REPLAYABLE) != 0
          ? StoredResponse.wrap(status, headers, body)
          : StoredResponse.notReplayable(status, headers);
    }
    return Claim.completed(fingerprint, response);
  }

  /**
   * Writes a response's header list and body into the response arena, evicting others' responses
   * if there is no room; called before {@link #put}, holding no lock of this table.
   *
   * @return the bytes, or null for a response kept without them (an unknown outcome, or no room)
   */
  @Nullable Serialized serialize(StoredResponse response, long now) {
    if (response.isOutcomeUnknown()) {
      return null;
    }
    byte[] headers = ResponseCodec.encodeHeaders(response.headers());
    byte[] bytes = new byte[headers.length + response.bodyLength()];
    System.arraycopy(headers, 0, bytes, 0, headers.length);
    response.bodyBuffer().get(bytes, headers.length, response.bodyLength());
    long needed = SlabArena.chainBytes(bytes.length);
    if (needed > responses.capacityBytes()) {
      evictions.increment();
      return null; // larger than the whole bound
    }
    int first = responses.store(bytes);
    for (int turn = 0; first < 0 && turn < 2 * SEGMENTS; turn++) {
      Segment segment = segments[evictionHand.getAndIncrement() & (SEGMENTS - 1)];
      synchronized (segment) {
        segment.evict(now, needed, this);
      }
      first = responses.store(bytes);
    }
    if (first < 0) {
      evictions.increment();
      return null;
    }
    return new Serialized(first, headers.length, response.bodyLength(), storedBytes(response));
  }

  /** Gives back the bytes of a response that was not put (its owner lost the key). */
  void discard(@Nullable Serialized serialized) {
    if (serialized != null) {
      responses.free(serialized.first);
    }
  }

  /**
   * Puts a completed record, replacing the key's record if it has one. If it throws (no direct
   * memory left), the record was not put and the caller still owns {@code serialized}.
   *
   * @param serialized its response's bytes from {@link #serialize}, or null to keep it without
   */
  void put(String key, @Nullable Fingerprint fingerprint, StoredResponse response,
      @Nullable Serialized serialized, long created, long deadline) {
    int hash = hash(key);
    Segment segment = segment(hash);
    int flags = 0;
    if (fingerprint != null) {
      flags |= HAS_FINGERPRINT;
    }
    if (response.isOutcomeUnknown()) {
      flags |= OUTCOME_UNKNOWN;
    } else if (serialized == null) {
      flags |= STRIPPED;
    } else if (response.isReplayable()) {
      flags |= REPLAYABLE;
    }
    boolean wide = false;
    for (int i = 0; i < key.length() && !wide; i++) {
      wide = key.charAt(i) > 0xFF;
    }
    if (wide) {
      flags |= WIDE_KEY;
    }
    long keyBytes = (long) key.length() * (wide ? 2 : 1);
    int keyChain = -1;
    if (keyBytes > INLINE_KEY_BYTES) {
      keyChain = keys.store(encodeKey(key, wide));
      if (keyChain < 0) {
        throw new OutOfMemoryError("no direct memory left for the key of a completed record");
      }
      flags |= KEY_IN_ARENA;
    }
    try {
      putLocked(segment, hash, key, flags, keyChain, fingerprint, response.status(), serialized,
          created, deadline);
    } catch (RuntimeException | Error e) {
      if (keyChain >= 0) {
        keys.free(keyChain);
      }
      throw e;
    }
  }

  private void putLocked(Segment segment, int hash, String key, int flags, int keyChain,
      @Nullable Fingerprint fingerprint, int status, @Nullable Serialized serialized,
      long created, long deadline) {
    boolean wide = (flags & WIDE_KEY) != 0;
    synchronized (segment) {
      int slot = segment.find(hash, key, this);
      if (slot >= 0) {
        segment.remove(slot, this);
      }
      clearHot(hash, key);
      slot = segment.freeSlot(hash, this);
      ByteBuffer slots = segment.slots;
      int at = slot * SLOT_BYTES;
      slots.putInt(at + HASH, hash);
      slots.put(at + FLAGS, (byte) flags);
      slots.putShort(at + STATUS, (short) status);
      slots.putInt(at + KEY_LENGTH, key.length());
      slots.putInt(at + KEY_CHAIN, keyChain);
      slots.putLong(at + CREATED, created);
      slots.putLong(at + DEADLINE, deadline);
      for (int i = 0; i < 4; i++) {
        slots.putLong(at + FINGERPRINT + 8 * i, fingerprint == null ? 0 : fingerprint.word(i));
      }
      slots.putInt(at + CHAIN, serialized == null ? -1 : serialized.first);
      slots.putInt(at + HEADER_LENGTH, serialized == null ? 0 : serialized.headerLength);
      slots.putInt(at + BODY_LENGTH, serialized == null ? 0 : serialized.bodyLength);
      slots.putInt(at + STORED_BYTES, serialized == null ? 0 : serialized.storedBytes);
      if (keyChain < 0) {
        for (int i = 0; i < key.length(); i++) {
          if (wide) {
            slots.putChar(at + KEY + 2 * i, key.charAt(i));
          } else {
            slots.put(at + KEY + i, (byte) key.charAt(i));
          }
        }
      }
      slots.put(at + STATE, LIVE);
      segment.live++;
      if ((flags & STRIPPED) != 0) {
        segment.stripped++;
      }
    }
  }

  /** @return true if the key had a record, live or expired, now removed */
  boolean remove(String key) {
    int hash = hash(key);
    Segment segment = segment(hash);
    synchronized (segment) {
      int slot = segment.find(hash, key, this);
      clearHot(hash, key);
      if (slot < 0) {
        return false;
      }
      segment.remove(slot, this);
      return true;
    }
  }

  /** Removes every expired record, one segment at a time. */
  void sweepExpired(long now) {
    for (Segment segment : segments) {
      synchronized (segment) {
        segment.sweep(now, this);
      }
    }
  }

  /** Removes every record and gives every block back. */
  void clear() {
    for (Segment segment : segments) {
      synchronized (segment) {
        segment.sweep(Long.MIN_VALUE, this);
        segment.slots = NO_SLOTS;
        segment.capacity = 0;
        segment.used = 0;
      }
    }
    for (int i = 0; i < HOT_SLOTS; i++) {
      HOT.setRelease(hot, i, null);
    }
  }

  /** @return the number of records, with their responses or without, expired ones not yet gone */
  long size() {
    long count = 0;
    for (Segment segment : segments) {
      count += segment.live;
    }
    return count;
  }

  /** @return the number of records kept without their response */
  long strippedCount() {
    long count = 0;
    for (Segment segment : segments) {
      count += segment.stripped;
    }
    return count;
  }

  /** @return the bytes of the response arena's blocks in use: what the byte bound bounds */
  long weightBytes() {
    return responses.usedBytes();
  }

  /** @return the bytes of both arenas' blocks in use (the segments' slots not counted) */
  long offHeapBytes() {
    return responses.usedBytes() + keys.usedBytes();
  }

  /** @return how many responses were dropped to keep within the byte bound */
  long evictionCount() {
    return evictions.sum();
  }

  private void clearHot(int hash, String key) {
    int slot = hotSlot(hash);
    Hot entry = (Hot) HOT.getAcquire(hot, slot);
    if (entry != null && entry.key.equals(key)) {
      HOT.setRelease(hot, slot, null);
    }
  }

  private static byte[] encodeKey(String key, boolean wide) {
    byte[] bytes = new byte[key.length() * (wide ? 2 : 1)];
    for (int i = 0; i < key.length(); i++) {
      char c = key.charAt(i);
      if (wide) {
        bytes[2 * i] = (byte) (c >>> 8);
        bytes[2 * i + 1] = (byte) c;
      } else {
        bytes[i] = (byte) c;
      }
    }
    return bytes;
  }

  private boolean keyMatches(ByteBuffer slots, int at, String key) {
    if (slots.getInt(at + KEY_LENGTH) != key.length()) {
      return false;
    }
    int flags = slots.get(at + FLAGS);
    boolean wide = (flags & WIDE_KEY) != 0;
    if ((flags & KEY_IN_ARENA) != 0) {
      return keys.matches(slots.getInt(at + KEY_CHAIN), key, wide);
    }
    for (int i = 0; i < key.length(); i++) {
      char stored = wide
          ? slots.getChar(at + KEY + 2 * i) : (char) (slots.get(at + KEY + i) & 0xFF);
      if (stored != key.charAt(i)) {
        return false;
      }
    }
    return true;
  }

  private static int storedBytes(StoredResponse response) {
    long bytes = response.bodyLength();
    for (Header header : response.headers()) {
      bytes += utf8Length(header.name()) + utf8Length(header.value());
    }
    return (int) Math.min(Integer.MAX_VALUE, bytes);
  }

  private static long utf8Length(String value) {
    long bytes = 0;
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      // a surrogate pair is four bytes, two for each half
      bytes += c < 0x80 ? 1 : c < 0x800 || Character.isSurrogate(c) ? 2 : 3;
    }
    return bytes;
  }

  /**
   * A response's bytes in the response arena: the header list, then the body.
   *
   * @param first the chain's first block
   * @param headerLength the bytes of the header list
   * @param bodyLength the bytes of the body
   * @param storedBytes the body's bytes and the headers' names and values in UTF-8
   */
  record Serialized(int first, int headerLength, int bodyLength, int storedBytes) {}

  /** A claim left by a read, for the claims of the same key that follow. */
  private static final class Hot {
    final String key;
    final Claim claim;
    final long deadline;

    Hot(String key, Claim claim, long deadline) {
      this.key = key;
      this.claim = claim;
      this.deadline = deadline;
    }
  }

  /** One segment: its slots, and its counts; every field guarded by its monitor. */
  private static final class Segment {
    /**
     * No slots until the first record; then a buffer of {@code capacity} slots, direct unless
     * direct memory had no room.
     */
    ByteBuffer slots = NO_SLOTS;
    int capacity;
    /** Live slots (expired ones not yet removed included); read without the monitor. */
    volatile int live;
    /** Live slots kept without their response; read without the monitor. */
    volatile int stripped;
    /** Live and deleted slots. */
    int used;
    int clockHand;

    /** @return the key's live slot, or -1 */
    int find(int hash, String key, CompletedTable table) {
      ByteBuffer buffer = slots;
      if (capacity == 0) {
        return -1;
      }
      int mask = capacity - 1;
      int slot = hash & mask;
      for (int probe = 0; probe < capacity; probe++) {
        int at = slot * SLOT_BYTES;
        byte state = buffer.get(at + STATE);
        if (state == EMPTY) {
          return -1;
        }
        if (state == LIVE && buffer.getInt(at + HASH) == hash
            && table.keyMatches(buffer, at, key)) {
          return slot;
        }
        slot = (slot + 1) & mask;
      }
      return -1;
    }

    /** @return a slot to write a new record into, the key being absent; grows first if due */
    int freeSlot(int hash, CompletedTable table) {
      if (capacity == 0) {
        slots = newSlots(INITIAL_SLOTS);
        capacity = INITIAL_SLOTS;
        used = 0;
      } else if (4L * (used + 1) > 3L * capacity) {
        try {
          rehash();
        } catch (OutOfMemoryError e) {
          // no memory for a larger table, direct or heap: fill the slots there are, fuller than
          // planned
          if (live + 1 >= capacity) {
            throw e;
          }
          if (used + 1 >= capacity) {
            rehashInPlace();
          }
        }
      }
      ByteBuffer buffer = slots;
      int mask = capacity - 1;
      int slot = hash & mask;
      while (buffer.get(slot * SLOT_BYTES + STATE) == LIVE) {
        slot = (slot + 1) & mask;
      }
      if (buffer.get(slot * SLOT_BYTES + STATE) == EMPTY) {
        used++;
      }
      return slot;
    }

    /**
     * @return a buffer of {@code count} slots: direct, or on the heap when direct memory has no
     *     room (a record, once run, is kept whatever {@code -XX:MaxDirectMemorySize} allows)
     */
    private static ByteBuffer newSlots(int count) {
      return Objects.requireNonNull(
          SlabArena.allocate(Math.multiplyExact(count, SLOT_BYTES), true), "slots");
    }

    private void rehash() {
      int grown = capacity;
      while (2L * (live + 1) > grown) {
        grown *= 2;
      }
      rehashInto(grown);
    }

    /** Drops the tombstones, into a copy of the same size made on the heap first. */
    private void rehashInPlace() {
      ByteBuffer copy = ByteBuffer.allocate(slots.capacity());
      copy.put(0, slots, 0, slots.capacity());
      for (int slot = 0; slot < capacity; slot++) {
        slots.put(slot * SLOT_BYTES + STATE, EMPTY);
      }
      ByteBuffer target = slots;
      int mask = capacity - 1;
      for (int slot = 0; slot < capacity; slot++) {
        int at = slot * SLOT_BYTES;
        if (copy.get(at + STATE) == LIVE) {
          int index = copy.getInt(at + HASH) & mask;
          while (target.get(index * SLOT_BYTES + STATE) != EMPTY) {
            index = (index + 1) & mask;
          }
          target.put(index * SLOT_BYTES, copy, at, SLOT_BYTES);
        }
      }
      used = live;
      clockHand = 0;
    }

    private void rehashInto(int grown) {
      ByteBuffer old = slots;
      ByteBuffer fresh = newSlots(grown);
      int mask = grown - 1;
      for (int slot = 0; slot < capacity; slot++) {
        int at = slot * SLOT_BYTES;
        if (old.get(at + STATE) != LIVE) {
          continue;
        }
        int target = old.getInt(at + HASH) & mask;
        while (fresh.get(target * SLOT_BYTES + STATE) != EMPTY) {
          target = (target + 1) & mask;
        }
        fresh.put(target * SLOT_BYTES, old, at, SLOT_BYTES);
      }
      slots = fresh;
      capacity = grown;
      used = live;
      clockHand = 0;
    }

    /** Removes a live slot, giving its chains back. */
    void remove(int slot, CompletedTable table) {
      ByteBuffer buffer = slots;
      int at = slot * SLOT_BYTES;
      int flags = buffer.get(at + FLAGS);
      int chain = buffer.getInt(at + CHAIN);
      if (chain >= 0) {
        table.responses.free(chain);
      }
      if ((flags & KEY_IN_ARENA) != 0) {
        table.keys.free(buffer.getInt(at + KEY_CHAIN));
      }
      if ((flags & STRIPPED) != 0) {
        stripped--;
      }
      buffer.put(at + STATE, DELETED);
      live--;
    }

    /** Removes the records whose deadline is at or before {@code now}. */
    void sweep(long now, CompletedTable table) {
      ByteBuffer buffer = slots;
      if (capacity == 0) {
        return;
      }
      for (int slot = 0; slot < capacity; slot++) {
        int at = slot * SLOT_BYTES;
        if (buffer.get(at + STATE) == LIVE
            && (now == Long.MIN_VALUE || now - buffer.getLong(at + DEADLINE) >= 0)) {
          table.clearHotAt(buffer, at);
          remove(slot, table);
        }
      }
    }

    /**
     * Moves the clock hand until {@code bytes} of responses are freed or it has gone round once: an
     * expired record is removed, a marked one (read through the table since the hand last passed,
     * or whose claim is in the heap table of replayed claims) loses its mark, an unmarked one loses
     * its response. Once round at most, so a record replayed since survives the turn.
     */
    void evict(long now, long bytes, CompletedTable table) {
      ByteBuffer buffer = slots;
      if (capacity == 0) {
        return;
      }
      long freed = 0;
      for (int step = 0; step < capacity && freed < bytes; step++) {
        int slot = clockHand;
        clockHand = (slot + 1) & (capacity - 1);
        int at = slot * SLOT_BYTES;
        if (buffer.get(at + STATE) != LIVE) {
          continue;
        }
        int chain = buffer.getInt(at + CHAIN);
        long chainBytes = chain < 0 ? 0 : SlabArena.chainBytes(
            buffer.getInt(at + HEADER_LENGTH) + buffer.getInt(at + BODY_LENGTH));
        int flags = buffer.get(at + FLAGS);
        if (now - buffer.getLong(at + DEADLINE) >= 0) {
          table.clearHotAt(buffer, at);
          remove(slot, table);
          freed += chainBytes;
        } else if (chain < 0) {
          continue;
        } else if ((flags & REFERENCED) != 0 || table.clearHotAt(buffer, at)) {
          // its next read goes through the table and marks it again
          buffer.put(at + FLAGS, (byte) (flags & ~REFERENCED));
        } else {
          table.clearHotAt(buffer, at);
          table.responses.free(chain);
          buffer.putInt(at + CHAIN, -1);
          buffer.putInt(at + STORED_BYTES, 0);
          buffer.put(at + FLAGS, (byte) ((flags & ~REPLAYABLE) | STRIPPED));
          stripped++;
          table.evictions.increment();
          freed += chainBytes;
        }
      }
    }
  }

  /**
   * Clears the heap table's slot of the record at {@code at}, if it holds that record's claim.
   *
   * @return true if it did
   */
  private boolean clearHotAt(ByteBuffer slots, int at) {
    int slot = hotSlot(slots.getInt(at + HASH));
    Hot entry = (Hot) HOT.getAcquire(hot, slot);
    if (entry != null && keyMatches(slots, at, entry.key)) {
      HOT.setRelease(hot, slot, null);
      return true;
    }
    return false;
  }

  /**
   * The header lists decoded last, by their bytes: the records of one service mostly carry the
   * same few lists ({@code Content-Type: application/json}), so a replay finds its list here and
   * decodes no strings. Bounded: {@value #SLOTS} lists of at most {@value #MAX_BYTES} bytes, one
   * per slot, the last decoded winning. Slots are read and written without a lock: an entry is
   * immutable, and a thread that misses one decodes the list itself.
   */
  private static final class HeaderLists {
    private static final int SLOTS = 64;
    private static final int MAX_BYTES = 256;

    private final Entry[] slots = new Entry[SLOTS];

    List<Header> decode(byte[] bytes) {
      if (bytes.length > MAX_BYTES) {
        return List.copyOf(
            ResponseCodec.decodeHeaders(ResponseCodec.VERSION, bytes, 0, bytes.length));
      }
      int hash = Arrays.hashCode(bytes);
      int slot = (hash ^ (hash >>> 16)) & (SLOTS - 1);
      Entry entry = slots[slot];
      if (entry != null && Arrays.equals(entry.bytes(), bytes)) {
        return entry.headers();
      }
      List<Header> headers = List.copyOf(
          ResponseCodec.decodeHeaders(ResponseCodec.VERSION, bytes, 0, bytes.length));
      slots[slot] = new Entry(bytes, headers);
      return headers;
    }

    /** A header list's bytes, and the list: both never changed. */
    private record Entry(byte[] bytes, List<Header> headers) {}
  }
}
