package dev.once.redis;

import dev.once.Fingerprint;
import dev.once.StoredResponse;
import dev.once.spi.Claim;
import dev.once.spi.RecordInfo;
import dev.once.spi.ResponseCodec;
import dev.once.spi.StoreException;
import dev.once.spi.Token;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import org.jspecify.annotations.Nullable;

/**
 * The binary form of a record, as one Redis string. Format version 2, written since the record
 * keeps its creation time:
 *
 * <pre>
 *   offset  size  what
 *   0       1     format version (2)
 *   1       1     state: 1 in progress, 2 completed
 *   2       16    owner token (in a completed record, the token that completed it)
 *   18      1     flags: bit 0 a fingerprint follows, bit 1 someone awaits a change
 *   19      8     created: when the key was claimed, milliseconds since the epoch, big-endian
 *   27      32    fingerprint, when flag bit 0 is set
 *   completed records only, then the response in {@link ResponseCodec}'s format 1:
 *           1     response flags: bit 0 replayable, bit 1 outcome unknown
 *           2     status, big-endian
 *           var   header count, then per header: name length, name, value length, value (UTF-8)
 *           var   body length, then the body
 * </pre>
 *
 * <p>Format version 1, which earlier versions wrote, is the same without the creation time: the
 * fingerprint follows the flags at offset 19. It is still read, so the records an earlier version
 * left in Redis are replayed, inspected (with no creation time) and deleted until their ttl ends;
 * and written when {@link RedisStore.Builder#recordFormat} asks for it, so an instance being
 * upgraded writes nothing that the instances not yet upgraded cannot read.
 *
 * <p>A response kept without its body ({@link StoredResponse#notReplayable}) has flag bit 0 clear
 * and body length 0. The marker of an unknown outcome ({@link StoredResponse#outcomeUnknown}) has
 * flag bit 1 set, bit 0 clear, status 502, no headers and body length 0; it was added to version 1
 * without a new version byte because a reader that predates it ignores bit 1 and reads a kept 502
 * without its body: a retry it answers is told the request was done, never run again.
 *
 * <p>"var" is an unsigned LEB128 varint (7 bits a byte, low bits first). Both record formats hold
 * the response in {@link ResponseCodec}'s format 1: a later format of the response gets a new
 * record version byte. The first 18 bytes of an
 * in-progress record are its {@linkplain #ownerPrefix owner prefix}: the scripts compare it to
 * fence {@code complete} and {@code release}, and complete a record by rewriting its state byte and
 * appending the {@linkplain #response response part}, so the fingerprint and creation time the
 * claim stored are kept without the completing caller having to send them. The scripts know only
 * the offsets of the version, state, token and flags, which both formats share; all other parsing
 * is here. A later format gets a new version byte and must keep reading versions 1 and 2, which
 * are all this version reads: a record it cannot read, truncated, or with bytes past its end is
 * reported as a {@link StoreException}, never misread.
 */
final class RecordCodec {
  /** The format this version writes, unless told to write {@link #VERSION_1}. */
  static final byte VERSION = 2;
  /** The format earlier versions wrote: no creation time. */
  static final byte VERSION_1 = 1;
  static final byte IN_PROGRESS = 1;
  static final byte COMPLETED = 2;
  static final int OWNER_PREFIX_LENGTH = 18;
  static final int FLAG_FINGERPRINT = 1;
  static final int FLAG_AWAITED = 2;
  /** The format of the response part in both record formats: {@link ResponseCodec}'s first. */
  static final int RESPONSE_FORMAT = 1;
  /** The length of format 2's creation time, after the flags. */
  static final int CREATED_LENGTH = 8;

  private RecordCodec() {}

  /**
   * @param format the format to write, {@link #VERSION} or {@link #VERSION_1}
   * @param token the owner's token
   * @param fingerprint the request's fingerprint, or null
   * @param createdMillis when the key is claimed, in milliseconds since the epoch; format 1 does
   *     not keep it
   * @return the in-progress record a claim stores
   */
  static byte[] inProgress(
      byte format, Token token, @Nullable Fingerprint fingerprint, long createdMillis) {
    int fingerprintAt = OWNER_PREFIX_LENGTH + 1 + (format == VERSION ? CREATED_LENGTH : 0);
    byte[] record = new byte[fingerprintAt + (fingerprint == null ? 0 : Fingerprint.LENGTH)];
    writeOwnerPrefix(record, format, token);
    if (format == VERSION) {
      for (int i = 0; i < CREATED_LENGTH; i++) {
        record[OWNER_PREFIX_LENGTH + 1 + i] = (byte) (createdMillis >>> (56 - 8 * i));
      }
    }
    if (fingerprint != null) {
      record[OWNER_PREFIX_LENGTH] = FLAG_FINGERPRINT;
      System.arraycopy(fingerprint.toBytes(), 0, record, fingerprintAt, Fingerprint.LENGTH);
    }
    return record;
  }

  /**
   * @param format the format the owner's claim wrote
   * @param token the owner's token
   * @return the bytes an in-progress record owned by {@code token} starts with
   */
  static byte[] ownerPrefix(byte format, Token token) {
    byte[] prefix = new byte[OWNER_PREFIX_LENGTH];
    writeOwnerPrefix(prefix, format, token);
    return prefix;
  }

  private static void writeOwnerPrefix(byte[] record, byte format, Token token) {
    if (format != VERSION && format != VERSION_1) {
      throw new IllegalArgumentException("format must be 1 or 2, but was " + format);
    }
    record[0] = format;
    record[1] = IN_PROGRESS;
    System.arraycopy(token.toBytes(), 0, record, 2, 16);
  }

  /** @return the response part that completing appends to the in-progress record */
  static byte[] response(StoredResponse response) {
    return ResponseCodec.encode(response);
  }

  /**
   * What a claim finds in a stored record.
   *
   * @param key the record's key, for the message of a failure
   * @param record the record's bytes
   * @return {@link Claim#inProgress} or {@link Claim#completed} (with a response, a response kept
   *     without its body, or the outcome-unknown marker)
   * @throws StoreException if the record is not a version 1 or 2 record, or is damaged
   */
  static Claim decode(String key, byte[] record) {
    try {
      return new Reader(record).claim();
    } catch (CorruptRecord e) {
      throw new StoreException("stored record is unreadable: " + e.getMessage(), key, null);
    }
  }

  /** How many bytes of a record {@link #info} needs at most: {@code Script.INSPECT} reads them. */
  static final int HEAD_LENGTH = OWNER_PREFIX_LENGTH + 1 + CREATED_LENGTH + Fingerprint.LENGTH + 3;

  /**
   * What an operator may see of a record, from its first bytes alone, so the body is never read.
   *
   * @param key the record's key, for the message of a failure
   * @param head the record's first {@link #HEAD_LENGTH} bytes, or all of it if shorter
   * @param length the record's length
   * @param expires when the record expires, by this JVM's clock
   * @param timeLeft its remaining time to live
   * @return the description; with no creation time for a format 1 record, which keeps none
   * @throws StoreException if the head is not that of a version 1 or 2 record
   */
  static RecordInfo info(String key, byte[] head, long length, Instant expires, Duration timeLeft) {
    int version = head.length == 0 ? 0 : head[0];
    int fixed = OWNER_PREFIX_LENGTH + 1 + (version == VERSION ? CREATED_LENGTH : 0);
    if (head.length < fixed || (version != VERSION && version != VERSION_1)
        || (head[1] != IN_PROGRESS && head[1] != COMPLETED)) {
      throw new StoreException("stored record is unreadable: it does not start as a format "
          + VERSION_1 + " or " + VERSION + " record does", key, null);
    }
    Instant created = null;
    if (version == VERSION) {
      long millis = 0;
      for (int i = 0; i < CREATED_LENGTH; i++) {
        millis = (millis << 8) | (head[OWNER_PREFIX_LENGTH + 1 + i] & 0xFF);
      }
      created = Instant.ofEpochMilli(millis);
    }
    if (head[1] == IN_PROGRESS) {
      return RecordInfo.inProgress(created, expires, timeLeft);
    }
    int response =
        fixed + ((head[OWNER_PREFIX_LENGTH] & FLAG_FINGERPRINT) != 0 ? Fingerprint.LENGTH : 0);
    if (head.length < response + 3) {
      throw new StoreException(
          "stored record is unreadable: it ends inside the response's status", key, null);
    }
    int flags = head[response] & 0xFF;
    int status = ((head[response + 1] & 0xFF) << 8) | (head[response + 2] & 0xFF);
    try {
      return RecordInfo.completed(
          created, expires, timeLeft, status, length - response, (flags & 1) != 0);
    } catch (IllegalArgumentException e) {
      throw new StoreException("stored record is unreadable: " + e.getMessage(), key, null);
    }
  }

  /** A record that cannot be read; turned into a {@link StoreException} naming the key. */
  private static final class CorruptRecord extends Exception {
    private static final long serialVersionUID = 1L;

    CorruptRecord(@Nullable String message) {
      super(message, null, false, false);
    }
  }

  private static final class Reader {
    private final byte[] bytes;
    private int position;

    Reader(byte[] bytes) {
      this.bytes = bytes;
    }

    Claim claim() throws CorruptRecord {
      if (bytes.length == 0) {
        throw new CorruptRecord("it is empty");
      }
      int version = bytes[0] & 0xFF;
      if (version != VERSION && version != VERSION_1) {
        throw new CorruptRecord("format version " + version + " is not supported (this version"
            + " reads " + VERSION_1 + " and " + VERSION + "); was it written by a newer version of"
            + " once?");
      }
      position = 1;
      int state = readByte("state");
      if (state != IN_PROGRESS && state != COMPLETED) {
        throw new CorruptRecord("unknown state " + state);
      }
      position += need(16, "token");
      int flags = readByte("flags");
      if (version == VERSION) {
        position += need(CREATED_LENGTH, "creation time");
      }
      Fingerprint fingerprint = null;
      if ((flags & FLAG_FINGERPRINT) != 0) {
        int start = position;
        position += need(Fingerprint.LENGTH, "fingerprint");
        fingerprint = Fingerprint.fromBytes(Arrays.copyOfRange(bytes, start, position));
      }
      if (state == IN_PROGRESS) {
        end();
        return Claim.inProgress(fingerprint);
      }
      return Claim.completed(fingerprint, response());
    }

    private StoredResponse response() throws CorruptRecord {
      try {
        return ResponseCodec.decode(RESPONSE_FORMAT, bytes, position, bytes.length - position);
      } catch (IllegalArgumentException e) {
        throw new CorruptRecord(e.getMessage());
      }
    }

    private int readByte(String what) throws CorruptRecord {
      need(1, what);
      return bytes[position++] & 0xFF;
    }

    /** @return {@code count}, after checking that so many bytes remain */
    private int need(int count, String what) throws CorruptRecord {
      if (count > bytes.length - position) {
        throw new CorruptRecord("it ends inside the " + what + " (" + bytes.length + " bytes)");
      }
      return count;
    }

    private void end() throws CorruptRecord {
      if (position != bytes.length) {
        throw new CorruptRecord((bytes.length - position) + " bytes follow the end of the record");
      }
    }
  }
}
