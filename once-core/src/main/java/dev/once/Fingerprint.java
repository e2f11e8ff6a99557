package dev.once;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.DigestException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.jspecify.annotations.Nullable;

/**
 * The SHA-256 fingerprint of a request: its method, path, query and body. Two requests with the
 * same key but different fingerprints are different requests, and the second is refused (422).
 *
 * <p>Each part is length-prefixed before it is hashed, so moving bytes from one part to another
 * (a query string that ends where the body begins) always changes the fingerprint. Instances are
 * immutable and thread-safe.
 *
 * <p>The bytes hashed are fixed for good, since stored records keep their fingerprints across
 * upgrades: for the method, the path and the query (an absent query as an empty one), a 4-byte
 * big-endian length and the UTF-8 bytes ({@code String.getBytes}, so an unpaired surrogate is
 * {@code ?}); then the body's 4-byte length and its bytes.
 *
 * <p>Hashing a small request costs about as much as setting a digest up, so digests are reused:
 * a small pool of them, each slot picked by the calling thread's id and taken with one atomic
 * swap, holds a {@link MessageDigest} and a scratch array into which the three text parts are
 * encoded, and a small body copied after them, so the digest gets one update for all of them (a
 * larger body gets one of its own, an empty one none) and writes its result into that array: the
 * fingerprint keeps the 32 bytes as four {@code long}s, one object with no array behind it. A pool
 * rather than a {@code ThreadLocal} because a library must not pin its class loader to a
 * container's threads, and because a virtual thread per request would make a digest per request
 * again. A digest is put back only after a fingerprint completed (which leaves it reset); if
 * anything fails half-way it is dropped, so no half-fed digest is ever reused.
 */
public final class Fingerprint {
  /** The number of bytes in a fingerprint. */
  public static final int LENGTH = 32;

  /** The most scratch bytes a pooled hasher keeps; longer text parts use an array of their own. */
  private static final int MAX_SCRATCH = 4096;

  /**
   * The largest body copied into the scratch array to be hashed in one update with the text parts;
   * a larger one is hashed from its own array (an update more, a copy less).
   */
  private static final int MAX_COPIED_BODY = 128;

  /** Reads and writes the hash's bytes as big-endian longs. */
  private static final VarHandle LONGS =
      MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);

  /** Slots apart in {@link #POOL}, so that two slots in use never share a cache line. */
  private static final int STRIDE = 16;

  private static final AtomicReferenceArray<Hasher> POOL;
  private static final int STRIPE_MASK;

  static {
    int wanted = Math.min(256, Math.max(8, Runtime.getRuntime().availableProcessors() * 4));
    int stripes = Integer.highestOneBit(wanted * 2 - 1); // the power of two at or above
    STRIPE_MASK = stripes - 1;
    POOL = new AtomicReferenceArray<>(stripes * STRIDE);
    POOL.set(0, new Hasher()); // fails here, at class initialisation, if there is no SHA-256
  }

  /** The hash's bytes 0-7, 8-15, 16-23 and 24-31, big-endian. */
  private final long h0;
  private final long h1;
  private final long h2;
  private final long h3;

  private Fingerprint(byte[] hash, int at) {
    this.h0 = (long) LONGS.get(hash, at);
    this.h1 = (long) LONGS.get(hash, at + 8);
    this.h2 = (long) LONGS.get(hash, at + 16);
    this.h3 = (long) LONGS.get(hash, at + 24);
  }

  /** For {@code MemoryStore}, which keeps a fingerprint as its four longs outside the heap. */
  Fingerprint(long h0, long h1, long h2, long h3) {
    this.h0 = h0;
    this.h1 = h1;
    this.h2 = h2;
    this.h3 = h3;
  }

  /** @return the hash's bytes {@code 8 * index} to {@code 8 * index + 7}, big-endian */
  long word(int index) {
    switch (index) {
      case 0:
        return h0;
      case 1:
        return h1;
      case 2:
        return h2;
      case 3:
        return h3;
      default:
        throw new IndexOutOfBoundsException(index);
    }
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
    // an absent query and an empty one are the same request
    String q = query == null ? "" : query;
    // UTF-8 takes at most 3 bytes per char (a surrogate pair 4 for its 2 chars)
    long most = 16L + 3L * ((long) method.length() + path.length() + q.length());
    int stripe = stripe();
    Hasher hasher = POOL.getAndSet(stripe, null);
    if (hasher == null) {
      hasher = new Hasher();
    }
    byte[] scratch = most <= hasher.scratch.length ? hasher.scratch : hasher.grow(most);
    int end = put(scratch, 0, method);
    end = put(scratch, end, path);
    end = put(scratch, end, q);
    putLength(scratch, end, length);
    end += 4;
    MessageDigest digest = hasher.digest;
    if (length <= MAX_COPIED_BODY && length <= scratch.length - end) {
      System.arraycopy(body, offset, scratch, end, length);
      digest.update(scratch, 0, end + length);
    } else {
      digest.update(scratch, 0, end);
      digest.update(body, offset, length);
    }
    byte[] out = hasher.scratch; // at least 256 bytes, and the text parts are hashed
    try {
      digest.digest(out, 0, LENGTH); // and the digest is reset
    } catch (DigestException e) {
      throw new IllegalStateException("SHA-256 did not write its " + LENGTH + " bytes", e);
    }
    Fingerprint fingerprint = new Fingerprint(out, 0);
    POOL.lazySet(stripe, hasher);
    return fingerprint;
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
    return new Fingerprint(bytes, 0);
  }

  /** @return the {@value #LENGTH} bytes of the SHA-256 hash; a new array each call */
  public byte[] toBytes() {
    byte[] bytes = new byte[LENGTH];
    LONGS.set(bytes, 0, h0);
    LONGS.set(bytes, 8, h1);
    LONGS.set(bytes, 16, h2);
    LONGS.set(bytes, 24, h3);
    return bytes;
  }

  @Override
  public boolean equals(Object o) {
    // not MessageDigest.isEqual's constant time: the answer itself (a replay or a 422) tells
    // whether two fingerprints are equal, so the time taken to find it out hides nothing
    if (!(o instanceof Fingerprint)) {
      return false;
    }
    Fingerprint other = (Fingerprint) o;
    return h0 == other.h0 && h1 == other.h1 && h2 == other.h2 && h3 == other.h3;
  }

  @Override
  public int hashCode() {
    // the bytes of a SHA-256 are as evenly spread as any mix of them would be
    return Long.hashCode(h0);
  }

  /** @return the hash as 64 lowercase hexadecimal digits */
  @Override
  public String toString() {
    StringBuilder hex = new StringBuilder(LENGTH * 2);
    for (long part : new long[] {h0, h1, h2, h3}) {
      for (int shift = 60; shift >= 0; shift -= 4) {
        hex.append(Character.forDigit((int) (part >>> shift) & 0xF, 16));
      }
    }
    return hex.toString();
  }

  /** @return the first slot of the calling thread's stripe of {@link #POOL} */
  private static int stripe() {
    @SuppressWarnings("deprecation") // threadId() is JDK 19; getId() is the same number
    long id = Thread.currentThread().getId();
    int mixed = (int) ((id * 0x9E3779B97F4A7C15L) >>> 40);
    return (mixed & STRIPE_MASK) * STRIDE;
  }

  /**
   * Writes {@code text}'s length and UTF-8 bytes at {@code at}, as {@code getBytes(UTF_8)} would
   * encode it; the array has room for 4 + 3 bytes per char.
   *
   * @return the index after the last byte written
   */
  private static int put(byte[] into, int at, String text) {
    int n = text.length();
    int start = at + 4;
    for (int i = 0; i < n; i++) {
      char c = text.charAt(i);
      if (c >= 0x80) {
        byte[] encoded = text.getBytes(StandardCharsets.UTF_8);
        System.arraycopy(encoded, 0, into, start, encoded.length);
        putLength(into, at, encoded.length);
        return start + encoded.length;
      }
      into[start + i] = (byte) c;
    }
    putLength(into, at, n);
    return start + n;
  }

  private static void putLength(byte[] into, int at, int length) {
    into[at] = (byte) (length >>> 24);
    into[at + 1] = (byte) (length >>> 16);
    into[at + 2] = (byte) (length >>> 8);
    into[at + 3] = (byte) length;
  }

  /** A reusable SHA-256 digest and scratch array, used by one thread at a time. */
  private static final class Hasher {
    final MessageDigest digest;
    byte[] scratch = new byte[256];

    Hasher() {
      try {
        digest = MessageDigest.getInstance("SHA-256");
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException("this JVM has no SHA-256", e);
      }
    }

    /** @return an array of at least {@code size} bytes, kept for next time if not too large */
    byte[] grow(long size) {
      if (size > Integer.MAX_VALUE - 8) {
        throw new OutOfMemoryError("a request's method, path and query are too long to hash");
      }
      byte[] larger = new byte[(int) size];
      if (size <= MAX_SCRATCH) {
        scratch = larger;
      }
      return larger;
    }
  }
}
