package dev.once.jdbc;

import dev.once.StoredResponse;
import dev.once.StoredResponse.Header;
import dev.once.spi.ResponseCodec;
import java.io.ByteArrayOutputStream;
import java.util.List;

/**
 * The {@code headers} column: a format byte, then the header list of {@link ResponseCodec}'s
 * format 1, which from format 2 on also says what kind of record the row completes (the status
 * and the body have columns of their own).
 *
 * <p>Binary rather than JSON or two text arrays because it keeps any header exactly (order,
 * repeated names, empty values, any character, including NUL, which {@code text} and {@code jsonb}
 * cannot hold), needs no JSON library, and is read only by this store: nothing queries into it.
 * Numbers are unsigned LEB128 varints.
 *
 * <ul>
 *   <li>Format 1: the byte 1, then the header list (the number of headers, then each header's
 *       name and value, each a length and UTF-8 bytes). Every
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
    byte[] list = ResponseCodec.encodeHeaders(response.headers());
    ByteArrayOutputStream out = new ByteArrayOutputStream(2 + list.length);
    if (response.isOutcomeUnknown()) {
      out.write(FLAGGED_LIST);
      out.write(OUTCOME_UNKNOWN);
    } else {
      out.write(LIST);
    }
    out.write(list, 0, list.length);
    return out.toByteArray();
  }

  /**
   * @throws IllegalArgumentException if {@code bytes} is not a value this codec wrote
   */
  static Decoded decode(byte[] bytes) {
    if (bytes.length == 0) {
      throw new IllegalArgumentException("headers are empty: they have no format byte");
    }
    int version = bytes[0] & 0xFF;
    int start = 1;
    boolean outcomeUnknown = false;
    if (version == FLAGGED_LIST) {
      if (bytes.length < 2) {
        throw new IllegalArgumentException("headers in format " + FLAGGED_LIST + " end before"
            + " their flags");
      }
      // a varint, one byte long for every flag this codec knows
      int flags = bytes[1] & 0xFF;
      if ((flags & ~OUTCOME_UNKNOWN) != 0) {
        throw new IllegalArgumentException("headers carry the flags " + flags + ", but only "
            + OUTCOME_UNKNOWN + " (outcome unknown) is known");
      }
      outcomeUnknown = (flags & OUTCOME_UNKNOWN) != 0;
      start = 2;
    } else if (version != LIST) {
      throw new IllegalArgumentException("headers are in format " + version + ", but only formats "
          + LIST + " and " + FLAGGED_LIST + " are known");
    }
    List<Header> headers = ResponseCodec.decodeHeaders(ResponseCodec.VERSION, bytes, start,
        bytes.length - start);
    return new Decoded(headers, outcomeUnknown);
  }

  /**
   * What a {@code headers} value holds.
   *
   * @param headers the headers, in order
   * @param outcomeUnknown whether the record is the marker of an unknown outcome
   */
  record Decoded(List<Header> headers, boolean outcomeUnknown) {}
}
