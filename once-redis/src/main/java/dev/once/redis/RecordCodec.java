package dev.once.redis;

import dev.once.Fingerprint;
import dev.once.StoredResponse;
import dev.once.StoredResponse.Header;
import dev.once.spi.Claim;
import dev.once.spi.StoreException;
import dev.once.spi.Token;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The binary form of a record, as one Redis string. Format version 1:
 *
 * <pre>
 *   offset  size  what
 *   0       1     format version (1)
 *   1       1     state: 1 in progress, 2 completed
 *   2       16    owner token (in a completed record, the token that completed it)
 *   18      1     flags: bit 0 a fingerprint follows, bit 1 someone awaits a change
 *   19      32    fingerprint, when flag bit 0 is set
 *   completed records only, then the response:
 *           1     response flags: bit 0 replayable, bit 1 outcome unknown
 *           2     status, big-endian
 *           var   header count, then per header: name length, name, value length, value (UTF-8)
 *           var   body length, then the body
 * </pre>
 *
 * <p>A response kept without its body ({@link StoredResponse#notReplayable}) has flag bit 0 clear
 * and body length 0. The marker of an unknown outcome ({@link StoredResponse#outcomeUnknown}) has
 * flag bit 1 set, bit 0 clear, status 502, no headers and body length 0; it was added to version 1
 * without a new version byte because a reader that predates it ignores bit 1 and reads a kept 502
 * without its body: a retry it answers is told the request was done, never run again.
 *
 * <p>"var" is an unsigned LEB128 varint (7 bits a byte, low bits first). The first 18 bytes of an
 * in-progress record are its {@linkplain #ownerPrefix owner prefix}: the scripts compare it to
 * fence {@code complete} and {@code release}, and complete a record by rewriting its state byte and
 * appending the {@linkplain #response response part}, so the fingerprint the claim stored is kept
 * without the completing caller having to send it. The scripts know only the offsets above; all
 * other parsing is here. A later format gets a new version byte and must keep reading version 1,
 * which is all this version reads: a record it cannot read, truncated, or with bytes past its end
 * is reported as a {@link StoreException}, never misread.
 */
final class RecordCodec {
  static final byte VERSION = 1;
  static final byte IN_PROGRESS = 1;
  static final byte COMPLETED = 2;
  static final int OWNER_PREFIX_LENGTH = 18;
  static final int FLAG_FINGERPRINT = 1;
  static final int FLAG_AWAITED = 2;
  private static final int RESPONSE_REPLAYABLE = 1;
  private static final int RESPONSE_OUTCOME_UNKNOWN = 2;
  private static final int MAX_VARINT_BYTES = 5;

  private RecordCodec() {}

  /** @return the in-progress record a claim stores */
  static byte[] inProgress(Token token, Fingerprint fingerprint) {
    int length = OWNER_PREFIX_LENGTH + 1 + (fingerprint == null ? 0 : Fingerprint.LENGTH);
    byte[] record = new byte[length];
    writeOwnerPrefix(record, token);
    if (fingerprint != null) {
      record[OWNER_PREFIX_LENGTH] = FLAG_FINGERPRINT;
      byte[] hash = fingerprint.toBytes();
      System.arraycopy(hash, 0, record, OWNER_PREFIX_LENGTH + 1, Fingerprint.LENGTH);
    }
    return record;
  }

  /** @return the bytes an in-progress record owned by {@code token} starts with */
  static byte[] ownerPrefix(Token token) {
    byte[] prefix = new byte[OWNER_PREFIX_LENGTH];
    writeOwnerPrefix(prefix, token);
    return prefix;
  }

  private static void writeOwnerPrefix(byte[] record, Token token) {
    record[0] = VERSION;
    record[1] = IN_PROGRESS;
    System.arraycopy(token.toBytes(), 0, record, 2, 16);
  }

  /** @return the response part that completing appends to the in-progress record */
  static byte[] response(StoredResponse response) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(64 + response.bodyLength());
    out.write((response.isReplayable() ? RESPONSE_REPLAYABLE : 0)
        | (response.isOutcomeUnknown() ? RESPONSE_OUTCOME_UNKNOWN : 0));
    out.write(response.status() >>> 8);
    out.write(response.status());
    writeVarint(out, response.headers().size());
    for (Header header : response.headers()) {
      writeString(out, header.name());
      writeString(out, header.value());
    }
    writeVarint(out, response.bodyLength());
    ByteBuffer body = response.bodyBuffer();
    byte[] chunk = new byte[Math.min(body.remaining(), 8192)];
    while (body.hasRemaining()) {
      int n = Math.min(chunk.length, body.remaining());
      body.get(chunk, 0, n);
      out.write(chunk, 0, n);
    }
    return out.toByteArray();
  }

  /**
   * What a claim finds in a stored record.
   *
   * @param key the record's key, for the message of a failure
   * @param record the record's bytes
   * @return {@link Claim#inProgress} or {@link Claim#completed} (with a response, a response kept
   *     without its body, or the outcome-unknown marker)
   * @throws StoreException if the record is not a version 1 record, or is damaged
   */
  static Claim decode(String key, byte[] record) {
    try {
      return new Reader(record).claim();
    } catch (CorruptRecord e) {
      throw new StoreException("stored record is unreadable: " + e.getMessage(), key, null);
    }
  }

  private static void writeString(ByteArrayOutputStream out, String value) {
    byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
    writeVarint(out, bytes.length);
    out.write(bytes, 0, bytes.length);
  }

  private static void writeVarint(ByteArrayOutputStream out, int value) {
    while ((value & ~0x7F) != 0) {
      out.write((value & 0x7F) | 0x80);
      value >>>= 7;
    }
    out.write(value);
  }

  /** A record that cannot be read; turned into a {@link StoreException} naming the key. */
  private static final class CorruptRecord extends Exception {
    private static final long serialVersionUID = 1L;

    CorruptRecord(String message) {
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
      if (version != VERSION) {
        throw new CorruptRecord("format version " + version + " is not supported (this version"
            + " reads " + VERSION + "); was it written by a newer version of once?");
      }
      position = 1;
      int state = readByte("state");
      if (state != IN_PROGRESS && state != COMPLETED) {
        throw new CorruptRecord("unknown state " + state);
      }
      position += need(16, "token");
      int flags = readByte("flags");
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
      StoredResponse response = response();
      end();
      return Claim.completed(fingerprint, response);
    }

    private StoredResponse response() throws CorruptRecord {
      int flags = readByte("response flags");
      boolean replayable = (flags & RESPONSE_REPLAYABLE) != 0;
      boolean outcomeUnknown = (flags & RESPONSE_OUTCOME_UNKNOWN) != 0;
      int status = (readByte("status") << 8) | readByte("status");
      if (status < 100 || status > 599) {
        throw new CorruptRecord("status " + status + " is outside 100 to 599");
      }
      int count = readVarint("header count");
      // every header takes at least two bytes, so a count the record cannot hold is caught here
      if (count > (bytes.length - position) / 2) {
        throw new CorruptRecord("header count " + count + " does not fit in the record");
      }
      List<Header> headers = new ArrayList<>(count);
      for (int i = 0; i < count; i++) {
        headers.add(new Header(readString("header name"), readString("header value")));
      }
      int length = readVarint("body length");
      int start = position;
      position += need(length, "body");
      if (outcomeUnknown) {
        if (replayable || status != StoredResponse.OUTCOME_UNKNOWN_STATUS || count != 0
            || length != 0) {
          throw new CorruptRecord("an outcome-unknown marker must be status "
              + StoredResponse.OUTCOME_UNKNOWN_STATUS + " with no headers, no body and nothing to"
              + " replay, but was status " + status + " with " + count + " headers, " + length
              + " body bytes" + (replayable ? ", replayable" : ""));
        }
        return StoredResponse.outcomeUnknown();
      }
      if (!replayable) {
        if (length != 0) {
          throw new CorruptRecord("a response kept without its body has " + length + " body bytes");
        }
        return StoredResponse.notReplayable(status, headers);
      }
      return StoredResponse.of(status, headers, Arrays.copyOfRange(bytes, start, position));
    }

    private int readByte(String what) throws CorruptRecord {
      need(1, what);
      return bytes[position++] & 0xFF;
    }

    private int readVarint(String what) throws CorruptRecord {
      int value = 0;
      for (int i = 0; i < MAX_VARINT_BYTES; i++) {
        int b = readByte(what);
        value |= (b & 0x7F) << (7 * i);
        if ((b & 0x80) == 0) {
          if (value < 0 || (i == MAX_VARINT_BYTES - 1 && b > 0x07)) {
            throw new CorruptRecord(what + " is too large");
          }
          return value;
        }
      }
      throw new CorruptRecord(what + " is too large");
    }

    private String readString(String what) throws CorruptRecord {
      int length = readVarint(what + " length");
      int start = position;
      position += need(length, what);
      try {
        return StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT)
            .decode(ByteBuffer.wrap(bytes, start, length))
            .toString();
      } catch (CharacterCodingException e) {
        throw new CorruptRecord(what + " is not UTF-8");
      }
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
