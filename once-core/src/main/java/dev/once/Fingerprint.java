package dev.once;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The SHA-256 fingerprint of a request: its method, path, query and body. Two requests with the
 * same key but different fingerprints are different requests, and the second is refused (422).
 *
 * <p>Each part is length-prefixed before it is hashed, so moving bytes from one part to another
 * (a query string that ends where the body begins) always changes the fingerprint. Instances are
 * immutable and thread-safe.
 */
public final class Fingerprint {
  /** The number of bytes in a fingerprint. */
  public static final int LENGTH = 32;

  private static final MessageDigest PROTOTYPE;

  static {
    try {
      PROTOTYPE = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private final byte[] hash;

  private Fingerprint(byte[] hash) {
    this.hash = hash;
  }

  /**
   * Fingerprints a request.
   *
   * @param method the HTTP method, such as {@code POST}
   * @param path the request path as received (not decoded)
   * @param query the query string as received, or null when there is none
   * @param body the body bytes
   * @param offset where the body starts in {@code body}
   * @param length how many body bytes there are
   * @return the fingerprint
   * @throws NullPointerException if {@code method}, {@code path} or {@code body} is null
   * @throws IndexOutOfBoundsException if {@code offset} and {@code length} do not fit {@code body}
   */
  public static Fingerprint of(
      String method, String path, @Nullable String query, byte[] body, int offset, int length) {
    Objects.checkFromIndexSize(offset, length, body.length);
    MessageDigest digest = newDigest();
    update(digest, method.getBytes(StandardCharsets.UTF_8));
    update(digest, path.getBytes(StandardCharsets.UTF_8));
    // an absent query and an empty one are the same request
    update(digest, query == null ? new byte[0] : query.getBytes(StandardCharsets.UTF_8));
    updateLength(digest, length);
    digest.update(body, offset, length);
    return new Fingerprint(digest.digest());
  }

  /**
   * Fingerprints a request whose body is the whole of {@code body}.
   *
   * @param method the HTTP method
   * @param path the request path as received
   * @param query the query string as received, or null
   * @param body the body bytes
   * @return the fingerprint
   * @throws NullPointerException if {@code method}, {@code path} or {@code body} is null
   */
  public static Fingerprint of(
      String method, String path, @Nullable String query, byte[] body) {
    return of(method, path, query, body, 0, body.length);
  }

  /**
   * The fingerprint whose {@link #toBytes()} form is {@code bytes}, for stores reading a record.
   *
   * @param bytes exactly {@value #LENGTH} bytes
   * @return the fingerprint
   * @throws IllegalArgumentException if {@code bytes} is not {@value #LENGTH} bytes long
   */
  public static Fingerprint fromBytes(byte[] bytes) {
    if (bytes.length != LENGTH) {
      throw new IllegalArgumentException(
          "a fingerprint is " + LENGTH + " bytes, but was " + bytes.length);
    }
    return new Fingerprint(bytes.clone());
  }

  /** @return the {@value #LENGTH} bytes of the SHA-256 hash; a new array each call */
  public byte[] toBytes() {
    return hash.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Fingerprint && MessageDigest.isEqual(hash, ((Fingerprint) o).hash);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(hash);
  }

  /** @return the hash as 64 lowercase hexadecimal digits */
  @Override
  public String toString() {
    StringBuilder hex = new StringBuilder(LENGTH * 2);
    for (byte b : hash) {
      hex.append(Character.forDigit((b >> 4) & 0xF, 16)).append(Character.forDigit(b & 0xF, 16));
    }
    return hex.toString();
  }

  private static MessageDigest newDigest() {
    try {
      return (MessageDigest) PROTOTYPE.clone();
    } catch (CloneNotSupportedException e) {
      try {
        return MessageDigest.getInstance("SHA-256");
      } catch (NoSuchAlgorithmException impossible) {
        throw new IllegalStateException(impossible);
      }
    }
  }

  private static void update(MessageDigest digest, byte[] part) {
    updateLength(digest, part.length);
    digest.update(part);
  }

  private static void updateLength(MessageDigest digest, int length) {
    digest.update((byte) (length >>> 24));
    digest.update((byte) (length >>> 16));
    digest.update((byte) (length >>> 8));
    digest.update((byte) length);
  }
}
