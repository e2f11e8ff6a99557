package dev.once.spi;

import dev.once.StoredResponse;
import dev.once.StoredResponse.Header;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * The binary form of a {@link StoredResponse}, for a store that keeps its records as bytes: one
 * encoding for every such store ({@code RedisStore}'s records, {@code JdbcStore}'s {@code headers}
 * column), so a store of your own need not design one. Format version 1 ({@link #VERSION}):
 *
 * <pre>
 *   size  what
 *   1     flags: bit 0 replayable, bit 1 outcome unknown
 *   2     status, big-endian
 *   var   the header list: the header count, then per header its name length, name, value
 *         length and value (UTF-8), in order (a name may repeat)
 *   var   body length, then the body
 * </pre>
 *
 * <p>"var" is an unsigned LEB128 varint (7 bits a byte, low bits first). A response kept without
 * its body ({@link StoredResponse#notReplayable}) has flag bit 0 clear and body length 0; the
 * marker of an unknown outcome ({@link StoredResponse#outcomeUnknown}) has bit 1 set, bit 0
 * clear, status 502, no headers and body length 0. A store that keeps the status and the body
 * apart (in columns of their own) keeps just the {@linkplain #encodeHeaders header list}.
 *
 * <p>The bytes carry no version of their own: the store keeps the version where it reads it back
 * (the first byte of a Redis record, the first byte of the {@code headers} column), so records
 * written before this class existed keep their framing. A later format gets a new version, and
 * this class keeps reading every earlier one. Bytes that are not a valid encoding (truncated,
 * damaged, with bytes past their end) are refused with an {@link IllegalArgumentException} saying
 * what is wrong, never misread: a store reports it as a {@link StoreException}, so a damaged
 * record is a store failure, never a second run of a request. Stateless and thread-safe.
 */
public final class ResponseCodec {
  /** The format this class writes. */
  public static final int VERSION = 1;

  private static final int REPLAYABLE = 1;
  private static final int OUTCOME_UNKNOWN = 2;
  private static final int MAX_VARINT_BYTES = 5;
  private static final int CHUNK = 8192;

  private ResponseCodec() {}

  /**
   * @param response the response
   * @return its encoding in format {@link #VERSION}
   */
  public static byte[] encode(StoredResponse response) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(64 + response.bodyLength());
    out.write((response.isReplayable() ? REPLAYABLE : 0)
        | (response.isOutcomeUnknown() ? OUTCOME_UNKNOWN : 0));
    out.write(response.status() >>> 8);
    out.write(response.status());
    writeHeaders(out, response.headers());
    writeVarint(out, response.bodyLength());
    ByteBuffer body = response.bodyBuffer();
    byte[] chunk = new byte[Math.min(body.remaining(), CHUNK)];
    while (body.hasRemaining()) {
      int n = Math.min(chunk.length, body.remaining());
      body.get(chunk, 0, n);
      out.write(chunk, 0, n);
    }
    return out.toByteArray();
  }

  /**
   * Reads a response: the bytes from {@code offset} to {@code offset + length} must be one whole
   * encoding, nothing more.
   *
   * @param version the format the bytes were written in
   * @param bytes the bytes
   * @param offset where the encoding starts
   * @param length how many bytes it takes
   * @return the response
   * @throws IllegalArgumentException if {@code version} is not a known format, or the bytes are
   *     not a valid encoding in it
   * @throws IndexOutOfBoundsException if {@code offset} and {@code length} are outside {@code
   *     bytes}
   */
  public static StoredResponse decode(int version, byte[] bytes, int offset, int length) {
    Reader reader = new Reader(version, bytes, offset, length);
    int flags = reader.readByte("flags");
    boolean replayable = (flags & REPLAYABLE) != 0;
    boolean outcomeUnknown = (flags & OUTCOME_UNKNOWN) != 0;
    int status = (reader.readByte("status") << 8) | reader.readByte("status");
    if (status < 100 || status > 599) {
      throw new IllegalArgumentException("status " + status + " is outside 100 to 599");
    }
    List<Header> headers = reader.readHeaders();
    int bodyLength = reader.readVarint("body length");
    int start = reader.skip(bodyLength, "body");
    reader.end("response");
    if (outcomeUnknown) {
      if (replayable || status != StoredResponse.OUTCOME_UNKNOWN_STATUS || !headers.isEmpty()
          || bodyLength != 0) {
        throw new IllegalArgumentException("an outcome-unknown marker must be status "
            + StoredResponse.OUTCOME_UNKNOWN_STATUS + " with no headers, no body and nothing to"
            + " replay, but was status " + status + " with " + headers.size() + " headers, "
            + bodyLength + " body bytes" + (replayable ? ", replayable" : ""));
      }
      return StoredResponse.outcomeUnknown();
    }
    if (!replayable) {
      if (bodyLength != 0) {
        throw new IllegalArgumentException("a response kept without its body has " + bodyLength
            + " body bytes");
      }
      return StoredResponse.notReplayable(status, headers);
    }
    return StoredResponse.of(status, headers, Arrays.copyOfRange(bytes, start, start + bodyLength));
  }

  /**
   * @param headers the headers, in order
   * @return the header list alone, as in format {@link #VERSION}
   */
  public static byte[] encodeHeaders(List<Header> headers) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(2 + 32 * headers.size());
    writeHeaders(out, headers);
    return out.toByteArray();
  }

  /**
   * Reads a header list alone: the bytes from {@code offset} to {@code offset + length} must be
   * one whole list, nothing more.
   *
   * @param version the format the bytes were written in
   * @param bytes the bytes
   * @param offset where the list starts
   * @param length how many bytes it takes
   * @return the headers, in order
   * @throws IllegalArgumentException if {@code version} is not a known format, or the bytes are
   *     not a valid header list in it
   * @throws IndexOutOfBoundsException if {@code offset} and {@code length} are outside {@code
   *     bytes}
   */
  public static List<Header> decodeHeaders(int version, byte[] bytes, int offset, int length) {
    Reader reader = new Reader(version, bytes, offset, length);
    List<Header> headers = reader.readHeaders();
    reader.end("header list");
    return headers;
  }

  private static void writeHeaders(ByteArrayOutputStream out, List<Header> headers) {
    writeVarint(out, headers.size());
    for (Header header : headers) {
      writeString(out, header.name());
      writeString(out, header.value());
    }
  }

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

  /** Reads one encoding, checking every length against the bytes that are left. */
  private static final class Reader {
    private final byte[] bytes;
    private final int end;
    private int position;

    Reader(int version, byte[] bytes, int offset, int length) {
      if (version != VERSION) {
        throw new IllegalArgumentException("format version " + version + " is not supported"
            + " (this version reads " + VERSION + "); was it written by a newer version of once?");
      }
      Objects.checkFromIndexSize(offset, length, bytes.length);
      this.bytes = bytes;
      this.position = offset;
      this.end = offset + length;
    }

    List<Header> readHeaders() {
      int count = readVarint("header count");
      // every header takes at least two bytes, so a count the bytes cannot hold is caught here
      if (count > (end - position) / 2) {
        throw new IllegalArgumentException("header count " + count + " does not fit in the "
            + (end - position) + " bytes left");
      }
      List<Header> headers = new ArrayList<>(count);
      for (int i = 0; i < count; i++) {
        headers.add(new Header(readString("header name"), readString("header value")));
      }
      return headers;
    }

    int readByte(String what) {
      skip(1, what);
      return bytes[position - 1] & 0xFF;
    }

    int readVarint(String what) {
      int value = 0;
      for (int i = 0; i < MAX_VARINT_BYTES; i++) {
        int b = readByte(what);
        value |= (b & 0x7F) << (7 * i);
        if ((b & 0x80) == 0) {
          if (value < 0 || (i == MAX_VARINT_BYTES - 1 && b > 0x07)) {
            throw new IllegalArgumentException(what + " is too large");
          }
          return value;
        }
      }
      throw new IllegalArgumentException(what + " is too large");
    }

    String readString(String what) {
      int length = readVarint(what + " length");
      int start = skip(length, what);
      if (isAscii(start, length)) {
        // the common case, without a decoder: ASCII is Latin-1, the JDK's compact strings
        return new String(bytes, start, length, StandardCharsets.ISO_8859_1);
      }
      try {
        return StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT)
            .decode(ByteBuffer.wrap(bytes, start, length))
            .toString();
      } catch (CharacterCodingException e) {
        throw new IllegalArgumentException(what + " is not UTF-8");
      }
    }

    private boolean isAscii(int start, int length) {
      for (int i = start; i < start + length; i++) {
        if (bytes[i] < 0) {
          return false;
        }
      }
      return true;
    }

    /** @return where the {@code count} bytes skipped start, after checking they are there */
    int skip(int count, String what) {
      if (count > end - position) {
        throw new IllegalArgumentException("it ends inside the " + what + " (" + (end - position)
            + " bytes left)");
      }
      position += count;
      return position - count;
    }

    void end(String what) {
      if (position != end) {
        throw new IllegalArgumentException((end - position) + " bytes follow the end of the "
            + what);
      }
    }
  }
}
