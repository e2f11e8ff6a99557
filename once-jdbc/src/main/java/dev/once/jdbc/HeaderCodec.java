package dev.once.jdbc;

import dev.once.StoredResponse;
import dev.once.StoredResponse.Header;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@code headers} column: a versioned, length-prefixed binary list of name and value pairs,
 * which from format 2 on also says what kind of record the row completes.
 *
 * <p>Binary rather than JSON or two text arrays because it keeps any header exactly (order,
 * repeated names, empty values, any character, including NUL, which {@code text} and {@code jsonb}
 * cannot hold), needs no JSON library, and is read only by this store: nothing queries into it.
 * Numbers are unsigned LEB128 varints; strings a length and UTF-8 bytes.
 *
 * <ul>
 *   <li>Format 1: the byte 1, the number of headers, then each header's name and value. Every
 *       ordinary response (replayable, or kept without its body) is written in it, so a row an
 *       older version of this store reads is one it understands.
 *   <li>Format 2: the byte 2, a flags varint, then the list as in format 1. Flag bit 0 marks the
 *       record of an {@linkplain StoredResponse#outcomeUnknown() unknown outcome}; it is the only
 *       kind written in this format. Other bits are refused. An older version of this store, which
 *       knows format 1 only, refuses the row as unreadable: a store failure (503), never a second
 *       run of the request.
 * </ul>
 */
final class HeaderCodec {
  private static final int LIST = 1;
  private static final int FLAGGED_LIST = 2;
  private static final int OUTCOME_UNKNOWN = 1;

  private HeaderCodec() {}

  /** The {@code headers} value of a completed record: format 1, or 2 for an unknown outcome. */
  static byte[] encode(StoredResponse response) {
    List<Header> headers = response.headers();
    ByteArrayOutputStream out = new ByteArrayOutputStream(16 + 32 * headers.size());
    if (response.isOutcomeUnknown()) {
      out.write(FLAGGED_LIST);
      writeVarint(out, OUTCOME_UNKNOWN);
    } else {
      out.write(LIST);
    }
    writeVarint(out, headers.size());
    for (Header header : headers) {
      writeString(out, header.name());
      writeString(out, header.value());
    }
    return out.toByteArray();
  }

  /**
   * @throws IllegalArgumentException if {@code bytes} is not a value this codec wrote
   */
  static Decoded decode(byte[] bytes) {
    Reader reader = new Reader(bytes);
    int version = reader.readByte();
    boolean outcomeUnknown = false;
    if (version == FLAGGED_LIST) {
      int flags = reader.readVarint();
      if ((flags & ~OUTCOME_UNKNOWN) != 0) {
        throw new IllegalArgumentException("headers carry the flags " + flags + ", but only "
            + OUTCOME_UNKNOWN + " (outcome unknown) is known");
      }
      outcomeUnknown = (flags & OUTCOME_UNKNOWN) != 0;
    } else if (version != LIST) {
      throw new IllegalArgumentException("headers are in format " + version + ", but only formats "
          + LIST + " and " + FLAGGED_LIST + " are known");
    }
    int count = reader.readVarint();
    // every header takes at least two bytes, so a corrupt count cannot make us allocate much
    if (count > bytes.length / 2) {
      throw new IllegalArgumentException("headers claim " + count + " entries in "
          + bytes.length + " bytes");
    }
    List<Header> headers = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      headers.add(new Header(reader.readString(), reader.readString()));
    }
    if (reader.position != bytes.length) {
      throw new IllegalArgumentException("headers have " + (bytes.length - reader.position)
          + " bytes after their last entry");
    }
    return new Decoded(headers, outcomeUnknown);
  }

  /**
   * What a {@code headers} value holds.
   *
   * @param headers the headers, in order
   * @param outcomeUnknown whether the record is the marker of an unknown outcome
   */
  record Decoded(List<Header> headers, boolean outcomeUnknown) {}

  private static void writeString(ByteArrayOutputStream out, String value) {
    byte[] utf8 = value.getBytes(StandardCharsets.UTF_8);
    writeVarint(out, utf8.length);
    out.write(utf8, 0, utf8.length);
  }

  private static void writeVarint(ByteArrayOutputStream out, int value) {
    while ((value & ~0x7F) != 0) {
      out.write((value & 0x7F) | 0x80);
      value >>>= 7;
    }
    out.write(value);
  }

  private static final class Reader {
    private final byte[] bytes;
    private int position;

    Reader(byte[] bytes) {
      this.bytes = bytes;
    }

    int readByte() {
      if (position >= bytes.length) {
        throw new IllegalArgumentException("headers end after " + bytes.length
            + " bytes, in the middle of an entry");
      }
      return bytes[position++] & 0xFF;
    }

    int readVarint() {
      int value = 0;
      for (int shift = 0; shift < 32; shift += 7) {
        int b = readByte();
        if (shift == 28 && b > 0x07) {
          break; // more than 31 bits: no length this codec writes
        }
        value |= (b & 0x7F) << shift;
        if ((b & 0x80) == 0) {
          return value;
        }
      }
      throw new IllegalArgumentException("headers hold a length that is not a valid varint");
    }

    String readString() {
      int length = readVarint();
      if (length > bytes.length - position) {
        throw new IllegalArgumentException("headers hold a " + length + "-byte string where only "
            + (bytes.length - position) + " bytes are left");
      }
      String value = new String(bytes, position, length, StandardCharsets.UTF_8);
      position += length;
      return value;
    }
  }
}
