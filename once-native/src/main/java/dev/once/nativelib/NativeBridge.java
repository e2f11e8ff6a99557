package dev.once.nativelib;

import dev.once.Fingerprint;
import dev.once.StoredResponse;
import dev.once.StoredResponse.Header;
import dev.once.Stores;
import dev.once.spi.Claim;
import dev.once.spi.IdempotencyStore;
import dev.once.spi.Ticker;
import dev.once.spi.Token;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The entry points libonce.so calls through JNI: one static method per C function, and nothing
 * else calls them.
 *
 * <p>Protocol. Each call passes the calling thread's I/O buffer, a direct {@link ByteBuffer} over
 * memory that libonce.so owns, in the platform's byte order. The C side writes the inputs from
 * offset 0 (the key's UTF-8 bytes first, then what the method's javadoc says) and passes their
 * lengths as arguments; the Java side reads every input before it writes any output, into a fixed
 * header of {@value #HEADER} bytes ({@code OUT_*} offsets) followed by the payload. Lengths and
 * UTF-8 were checked in C, so the arguments are trusted. A method returns a non-negative result or
 * a negative {@code ONCE_ERR_*} code of once.h and never throws: a {@link Throwable} becomes a
 * code.
 * When the output does not fit the buffer, a method returns {@link #GROW} with the capacity it
 * needs at {@link #OUT_NEED}, and the C side grows the buffer and calls again; only calls without
 * side effects can need that (a replay of a large response).
 *
 * <p>Thread-safe: every C thread calls in with its own buffer; the session is immutable but for
 * its lock table, which is lock-free, and the renewals of its locks, on a thread of their own.
 */
final class NativeBridge {
  /** The buffer of a call that passes none. */
  private static final ByteBuffer NO_BUFFER = ByteBuffer.allocate(0);

  /** Bumped whenever a signature or the buffer layout changes; libonce.so checks it. */
  static final int VERSION = 2;

  static final int ERR_ARG = -1;
  static final int ERR_STATE = -2;
  static final int ERR_STORE = -3;
  static final int ERR_JVM = -4;
  static final int ERR_NOMEM = -5;
  static final int ERR_CONFLICT = -6;
  /** Not a code of once.h: the output needs a larger buffer, see the class description. */
  static final int GROW = -100;

  static final int ABSENT = 0;
  static final int ACQUIRED = 1;
  static final int IN_PROGRESS = 2;
  static final int COMPLETED = 3;
  static final int MISMATCH = 4;
  static final int OUTCOME_UNKNOWN = 5;

  static final int OUT_STATUS = 0;
  static final int OUT_REPLAYABLE = 4;
  static final int OUT_BODY_LEN = 8;
  static final int OUT_HEADERS_LEN = 12;
  static final int OUT_HEADER_COUNT = 16;
  static final int OUT_COPIED = 20;
  static final int OUT_NEED = 24;
  static final int OUT_TOKEN = 32;
  static final int HEADER = 64;

  /** The bytes of an owner token, after the key in the inputs of the calls that take one. */
  private static final int TOKEN = 16;

  private static final Object LIFECYCLE = new Object();
  private static volatile @Nullable Session session;
  private static volatile boolean closed;

  private NativeBridge() {}

  /** @return {@link #VERSION} */
  static int version() {
    return VERSION;
  }

  /**
   * {@code once_open}: opens the store. Inputs: the URL. On failure, the message's UTF-8 bytes are
   * the payload and their length is at {@link #OUT_BODY_LEN}.
   */
  static int open(ByteBuffer buffer, int urlLength, long leaseMillis) {
    ByteBuffer io = buffer.order(ByteOrder.nativeOrder());
    try {
      synchronized (LIFECYCLE) {
        if (closed) {
          return message(io, ERR_STATE, "the library was destroyed (once_destroy)");
        }
        if (session != null) {
          return 0;
        }
        String url = string(io, 0, urlLength);
        // the class path libonce.so gave may be a class loader of its own (a joined JVM), and
        // Stores.open finds store providers through the context class loader
        Thread thread = Thread.currentThread();
        ClassLoader previous = thread.getContextClassLoader();
        thread.setContextClassLoader(NativeBridge.class.getClassLoader());
        IdempotencyStore store;
        try {
          store = Stores.open(url);
        } finally {
          thread.setContextClassLoader(previous);
        }
        session = new Session(store, Duration.ofMillis(leaseMillis), Ticker.system());
        return 0;
      }
    } catch (IllegalArgumentException e) {
      return message(io, ERR_ARG, e.getMessage());
    } catch (Throwable t) {
      return message(io, code(null, t), t.toString());
    }
  }

  /** {@code once_destroy}: closes the store; every later call returns {@link #ERR_STATE}. */
  static int close() {
    try {
      synchronized (LIFECYCLE) {
        closed = true;
        Session open = session;
        session = null;
        if (open != null) {
          open.close();
        }
        return 0;
      }
    } catch (Throwable t) {
      return code(null, t);
    }
  }

  /**
   * {@code once_check}. Inputs: the key. Output: up to {@code want} body bytes as the payload,
   * their number at {@link #OUT_COPIED}. Returns the status, or 0.
   */
  static int check(ByteBuffer buffer, int keyLength, int want) {
    return withSession(buffer, (s, io) -> {
      StoredResponse response = s.check(string(io, 0, keyLength));
      if (response == null) {
        return 0;
      }
      int copied = Math.min(response.bodyLength(), want);
      if ((long) HEADER + copied > io.capacity()) {
        return grow(io, (long) HEADER + copied);
      }
      io.putInt(OUT_COPIED, copied);
      io.put(HEADER, response.bodyBuffer(), 0, copied);
      return response.status();
    });
  }

  /** {@code once_store}. Inputs: the key, then {@code bodyLength} body bytes. Returns 0. */
  static int store(ByteBuffer buffer, int keyLength, int status, int bodyLength, long ttlMillis) {
    return withSession(buffer, (s, io) -> {
      String key = string(io, 0, keyLength);
      byte[] body = bytes(io, keyLength, bodyLength);
      StoredResponse response = StoredResponse.of(status, List.of(), body);
      return s.store(key, response, Duration.ofMillis(ttlMillis)) ? 0 : refused(s, ERR_CONFLICT);
    });
  }

  /** {@code once_lock}. Inputs: the key. Returns the lock id, or 0. */
  static int lock(ByteBuffer buffer, int keyLength) {
    return withSession(buffer, (s, io) -> s.lock(string(io, 0, keyLength)));
  }

  /** {@code once_unlock}. Returns 0. */
  static int unlock(int id) {
    return withSession(NO_BUFFER, (s, io) -> {
      s.unlock(id);
      return 0;
    });
  }

  /**
   * {@code once_fingerprint}. Inputs: method, path, query (absent when {@code queryLength} is -1),
   * body, one after the other. Output: the {@value Fingerprint#LENGTH} bytes as the payload.
   */
  static int fingerprint(
      ByteBuffer buffer, int methodLength, int pathLength, int queryLength, int bodyLength) {
    ByteBuffer io = buffer.order(ByteOrder.nativeOrder());
    try {
      int at = 0;
      String method = string(io, at, methodLength);
      at += methodLength;
      String path = string(io, at, pathLength);
      at += pathLength;
      String query = null;
      if (queryLength >= 0) {
        query = string(io, at, queryLength);
        at += queryLength;
      }
      byte[] body = bytes(io, at, bodyLength);
      byte[] hash = Fingerprint.of(method, path, query, body).toBytes();
      io.put(HEADER, hash);
      return 0;
    } catch (Throwable t) {
      return code(null, t);
    }
  }

  /**
   * {@code once_claim}. Inputs: the key, then the fingerprint's bytes when {@code hasFingerprint}
   * is 1. Output: the token at {@link #OUT_TOKEN} when acquired; the record (see {@link #record})
   * when completed. Returns an outcome of once.h.
   */
  static int claim(ByteBuffer buffer, int keyLength, int hasFingerprint, long leaseMillis,
      int bodyCapacity, int headersCapacity) {
    return withSession(buffer, (s, io) -> {
      String key = string(io, 0, keyLength);
      Fingerprint fingerprint = hasFingerprint == 0
          ? null
          : Fingerprint.fromBytes(bytes(io, keyLength, Fingerprint.LENGTH));
      Claim claim = s.store().claim(key, fingerprint, lease(s, leaseMillis));
      if (claim.state() == Claim.State.ACQUIRED) {
        io.put(OUT_TOKEN,
            Objects.requireNonNull(claim.token(), "an acquired claim has a token").toBytes());
        return ACQUIRED;
      }
      return found(io, claim, fingerprint, bodyCapacity, headersCapacity);
    });
  }

  /** {@code once_lookup}. Inputs: the key. Output: the record when completed (or unknown). */
  static int lookup(ByteBuffer buffer, int keyLength, int bodyCapacity, int headersCapacity) {
    return withSession(buffer, (s, io) -> {
      Claim claim = s.store().peek(string(io, 0, keyLength));
      if (claim == null) {
        return ABSENT;
      }
      return found(io, claim, null, bodyCapacity, headersCapacity);
    });
  }

  /**
   * {@code once_complete}. Inputs: the key, the 16 token bytes, {@code headersLength} bytes of
   * packed headers ({@code name\0value\0}...), then the body. Returns 1 if completed, 0 if the
   * token no longer owns the record.
   */
  static int complete(ByteBuffer buffer, int keyLength, int status, int headersLength,
      int bodyLength, long ttlMillis) {
    return withSession(buffer, (s, io) -> {
      String key = string(io, 0, keyLength);
      Token token = token(io, keyLength);
      List<Header> headers = unpackHeaders(io, keyLength + TOKEN, headersLength);
      byte[] body = bytes(io, keyLength + TOKEN + headersLength, bodyLength);
      StoredResponse response = StoredResponse.of(status, headers, body);
      return s.store().complete(key, token, response, Duration.ofMillis(ttlMillis))
          ? 1
          : refused(s, 0);
    });
  }

  /**
   * {@code once_complete_unknown}. Inputs: the key, the 16 token bytes. Completes the record as
   * {@linkplain StoredResponse#outcomeUnknown() outcome unknown}. Returns 1 if completed, 0 if the
   * token no longer owns the record.
   */
  static int completeUnknown(ByteBuffer buffer, int keyLength, long ttlMillis) {
    return withSession(buffer, (s, io) -> s.store().complete(string(io, 0, keyLength),
        token(io, keyLength), StoredResponse.outcomeUnknown(), Duration.ofMillis(ttlMillis))
        ? 1 : refused(s, 0));
  }

  /** {@code once_release}. Inputs: the key, the 16 token bytes. Returns 1 or 0. */
  static int release(ByteBuffer buffer, int keyLength) {
    return withSession(buffer, (s, io) ->
        s.store().release(string(io, 0, keyLength), token(io, keyLength)) ? 1 : refused(s, 0));
  }

  /**
   * {@code once_renew}. Inputs: the key, the 16 token bytes. Extends the lease to {@code
   * leaseMillis} from now (0: the session's lease). Returns 1 if renewed, 0 if the token no longer
   * owns the record.
   */
  static int renew(ByteBuffer buffer, int keyLength, long leaseMillis) {
    return withSession(buffer, (s, io) -> s.store().renew(string(io, 0, keyLength),
        token(io, keyLength), lease(s, leaseMillis)) ? 1 : refused(s, 0));
  }

  /** What a call does with the open session and its I/O buffer, in the platform's byte order. */
  private interface Call {
    int run(Session s, ByteBuffer io);
  }

  /**
   * Runs {@code call} on the open session, with {@code buffer} (null for a call without one) in the
   * platform's byte order: {@link #ERR_STATE} when no session is open, the code of whatever it
   * throws.
   */
  private static int withSession(ByteBuffer buffer, Call call) {
    Session s = session;
    if (s == null) {
      return ERR_STATE;
    }
    ByteBuffer io = buffer.order(ByteOrder.nativeOrder());
    try {
      return call.run(s, io);
    } catch (Throwable t) {
      return code(s, t);
    }
  }

  /**
   * The outcome of a claim that did not acquire, or of a peek that found a record, with the
   * record written when it is completed: {@link #MISMATCH} when {@code fingerprint} is given and
   * the record was made with another (before anything else, so a reused key is told as such
   * whatever its record holds); {@link #IN_PROGRESS}; {@link #OUTCOME_UNKNOWN} for the marker of
   * an unknown outcome, written as a record (status 502, not replayable, no headers, no body) so a
   * caller that reads only the record never mistakes it for a response to replay; else {@link
   * #COMPLETED}, replayable or not. Or {@link #GROW}.
   */
  static int found(ByteBuffer io, Claim claim, @Nullable Fingerprint fingerprint, int bodyCapacity,
      int headersCapacity) {
    if (fingerprint != null && claim.fingerprint() != null
        && !fingerprint.equals(claim.fingerprint())) {
      return MISMATCH;
    }
    if (claim.state() == Claim.State.IN_PROGRESS) {
      return IN_PROGRESS;
    }
    StoredResponse response =
        Objects.requireNonNull(claim.response(), "a completed claim has a response");
    int written = record(io, response, bodyCapacity, headersCapacity);
    if (written < 0) {
      return written;
    }
    return response.isOutcomeUnknown() ? OUTCOME_UNKNOWN : COMPLETED;
  }

  /**
   * Writes a completed record: status, replayable, full body and header lengths and the header
   * count in the output header; the packed headers as the payload when they fit {@code
   * headersCapacity} whole (else none), then the first {@code bodyCapacity} body bytes.
   */
  private static int record(ByteBuffer io, StoredResponse response, int bodyCapacity,
      int headersCapacity) {
    List<Header> headers = response.headers();
    byte[] packed = packHeaders(headers);
    int headersWritten = packed.length <= headersCapacity ? packed.length : 0;
    int copied = Math.min(response.bodyLength(), bodyCapacity);
    long need = (long) HEADER + headersWritten + copied;
    if (need > io.capacity()) {
      return grow(io, need);
    }
    io.putInt(OUT_STATUS, response.status());
    io.putInt(OUT_REPLAYABLE, response.isReplayable() && !response.isOutcomeUnknown() ? 1 : 0);
    io.putInt(OUT_BODY_LEN, response.bodyLength());
    io.putInt(OUT_HEADERS_LEN, packed.length);
    io.putInt(OUT_HEADER_COUNT, countPacked(packed));
    io.putInt(OUT_COPIED, copied);
    io.put(HEADER, packed, 0, headersWritten);
    io.put(HEADER + headersWritten, response.bodyBuffer(), 0, copied);
    return 0;
  }

  /** Headers as {@code name\0value\0}..., in order; a header holding a NUL cannot be packed. */
  private static byte[] packHeaders(List<Header> headers) {
    if (headers.isEmpty()) {
      return new byte[0];
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (Header header : headers) {
      if (header.name().indexOf('\0') >= 0 || header.value().indexOf('\0') >= 0) {
        continue;
      }
      out.writeBytes(header.name().getBytes(StandardCharsets.UTF_8));
      out.write(0);
      out.writeBytes(header.value().getBytes(StandardCharsets.UTF_8));
      out.write(0);
    }
    return out.toByteArray();
  }

  private static int countPacked(byte[] packed) {
    int nuls = 0;
    for (byte b : packed) {
      if (b == 0) {
        nuls++;
      }
    }
    return nuls / 2;
  }

  private static List<Header> unpackHeaders(ByteBuffer io, int at, int length) {
    List<Header> headers = new ArrayList<>();
    int end = at + length;
    while (at < end) {
      int nameEnd = nul(io, at, end);
      int valueEnd = nul(io, nameEnd + 1, end);
      headers.add(new Header(string(io, at, nameEnd - at),
          string(io, nameEnd + 1, valueEnd - nameEnd - 1)));
      at = valueEnd + 1;
    }
    return headers;
  }

  private static int nul(ByteBuffer io, int from, int end) {
    for (int i = from; i < end; i++) {
      if (io.get(i) == 0) {
        return i;
      }
    }
    throw new IllegalArgumentException("packed headers end without a NUL");
  }

  /**
   * What to answer when the store refused a change: {@code answer}, unless the session was closed
   * meanwhile ({@code once_destroy} while the call ran), when the refusal may only mean that the
   * closing store had let go of its records: {@link #ERR_STATE}, as for every call after it.
   */
  private static int refused(Session s, int answer) {
    return closed || s.isClosed() ? ERR_STATE : answer;
  }

  /** @return the owner token that follows the key in the inputs */
  private static Token token(ByteBuffer io, int keyLength) {
    return Token.fromBytes(bytes(io, keyLength, TOKEN));
  }

  private static Duration lease(Session s, long leaseMillis) {
    return leaseMillis > 0 ? Duration.ofMillis(leaseMillis) : s.lease();
  }

  private static String string(ByteBuffer io, int at, int length) {
    return new String(bytes(io, at, length), StandardCharsets.UTF_8);
  }

  private static byte[] bytes(ByteBuffer io, int at, int length) {
    byte[] bytes = new byte[length];
    io.get(at, bytes);
    return bytes;
  }

  private static int grow(ByteBuffer io, long need) {
    if (need > Integer.MAX_VALUE) {
      return ERR_NOMEM;
    }
    io.putInt(OUT_NEED, (int) need);
    return GROW;
  }

  private static int message(ByteBuffer io, int code, @Nullable String text) {
    byte[] bytes = String.valueOf(text).getBytes(StandardCharsets.UTF_8);
    int length = Math.max(0, Math.min(bytes.length, io.capacity() - HEADER));
    io.putInt(OUT_BODY_LEN, length);
    io.put(HEADER, bytes, 0, length);
    return code;
  }

  /** The once.h code for a failure: out of memory, closed, a JVM error, or the store's. */
  private static int code(@Nullable Session s, Throwable t) {
    if (t instanceof OutOfMemoryError) {
      return ERR_NOMEM;
    }
    if (closed || (s != null && s.isClosed())) {
      return ERR_STATE;
    }
    if (t instanceof Error) {
      return ERR_JVM;
    }
    return ERR_STORE;
  }
}
