package dev.once.jdbc;

import dev.once.StoredResponse.Header;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@code headers} column: a versioned, length-prefixed binary list of name and value pairs.
 *
 * <p>Binary rather than JSON or two text arrays because it keeps any header exactly (order,
 * repeated names, empty values, any character, including NUL, which {@code text} and {@code jsonb}
 * cannot hold), needs no JSON library, and is read only by this store: nothing queries into it.
 * Layout: the format version (1), then the number of headers, then for each its name and its value,
 * each as a length and UTF-8 bytes; numbers are unsigned LEB128 varints.
 */
final class HeaderCodec {
  private static final int VERSION = 1;

  private HeaderCodec() {}

  static byte[] encode(List<Header> headers) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(16 + 32 * headers.size());
    out.write(VERSION);
    writeVarint(out, headers.size());
    for (Header header : headers) {
      writeString(out, header.name());
      writeString(out, header.value());
    }
    return out.toByteArray();
  }

  /**
   * @throws IllegalArgumentException if {@code bytes} is not a list this codec wrote
   */
  static List<Header> decode(byte[] bytes) {
    Reader reader = new Reader(bytes);
    int version = reader.readByte();
    if (version != VERSION) {
      throw new IllegalArgumentException("headers are in format " + version + ", but only format "
          + VERSION + " is known");
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
    return headers;
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
