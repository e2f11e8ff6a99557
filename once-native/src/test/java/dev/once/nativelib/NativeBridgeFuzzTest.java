package dev.once.nativelib;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.BeforeAll;

/**
 * Fuzzes the Java side of libonce.so's calls ({@link NativeBridge}), which reads what the C side
 * wrote into a buffer and writes the records C reads back (as once.c's {@code fill_response}
 * does here). Two properties:
 *
 * <ul>
 *   <li>Within the protocol (lengths and UTF-8 as once.c checks them): a response completed with
 *       any status, headers and body is read back by claim and lookup exactly, packed as C walks
 *       it, cut to any capacities, through any number of {@link NativeBridge#GROW} answers.
 *   <li>Outside it (any bytes, any lengths and arguments): a call answers one of its outcomes or a
 *       code of once.h, and never lets an exception out to JNI.
 * </ul>
 *
 * <p>Input: its last byte chooses. Seeds in {@code NativeBridgeFuzzTestInputs/calls};
 * docs/FUZZING.md says how to run it. The bridge is opened once on a memory store for the JVM and
 * never closed (as in NativeBridgeTest); each input uses keys of its own.
 */
class NativeBridgeFuzzTest {
  private static final Set<Integer> ERRORS = Set.of(NativeBridge.ERR_ARG, NativeBridge.ERR_STATE,
      NativeBridge.ERR_STORE, NativeBridge.ERR_JVM, NativeBridge.ERR_NOMEM,
      NativeBridge.ERR_CONFLICT);
  private static final int MAX_GROWS = 4;
  private static final AtomicLong KEYS = new AtomicLong();

  /**
   * The store: memory, with room for every record a run keeps alive. Each round trip keeps its
   * record a minute (see below), so a run holds about a minute of them: at 26,000 inputs a second
   * (half of them round trips) that passed the default bound of 500,000 records within a minute of
   * a 10-minute run, and a claim then got ERR_STORE (store full), as it should but as no input
   * asked for.
   */
  private static final String STORE = "memory?maximumRecords=4000000";

  @BeforeAll
  static void open() {
    ByteBuffer io = ByteBuffer.allocateDirect(1024).order(ByteOrder.nativeOrder());
    byte[] url = STORE.getBytes(StandardCharsets.UTF_8);
    io.put(0, url);
    assertThat(NativeBridge.open(io, url.length, 60_000)).isZero();
  }

  @FuzzTest
  void calls(FuzzedDataProvider data) {
    if (data.consumeBoolean()) {
      anyCall(data);
    } else {
      roundTrip(data);
    }
  }

  /** A response completed through the bridge comes back through claim and lookup as it went. */
  private static void roundTrip(FuzzedDataProvider data) {
    byte[] key = utf8(data.consumeString(64).replace("\0", "") + "#" + KEYS.incrementAndGet());
    boolean fingerprinted = data.consumeBoolean();
    byte[] fingerprint = Arrays.copyOf(data.consumeBytes(32), 32);
    int status = data.consumeInt(100, 599);
    int headerCount = data.consumeInt(0, 5);
    ByteArrayOutputStream packed = new ByteArrayOutputStream();
    for (int i = 0; i < headerCount; i++) {
      String name = data.consumeString(30).replace("\0", "");
      packed.writeBytes(utf8(name.isEmpty() ? "X" : name));
      packed.write(0);
      packed.writeBytes(utf8(data.consumeString(100).replace("\0", "")));
      packed.write(0);
    }
    byte[] headers = packed.toByteArray();
    int bodyCapacity = data.consumeInt(0, 300);
    int headersCapacity = data.consumeInt(0, 300);
    int initialCapacity = data.consumeInt(NativeBridge.HEADER, 512);
    byte[] body = data.consumeRemainingAsBytes();

    ByteBuffer io = buffer(key.length + 32);
    io.put(0, key);
    io.put(key.length, fingerprint);
    assertThat(NativeBridge.claim(io, key.length, fingerprinted ? 1 : 0, 60_000, 0, 0))
        .isEqualTo(NativeBridge.ACQUIRED);
    byte[] token = new byte[16];
    io.get(NativeBridge.OUT_TOKEN, token);

    io = buffer(key.length + 16 + headers.length + body.length);
    io.put(0, key).put(key.length, token).put(key.length + 16, headers)
        .put(key.length + 16 + headers.length, body);
    // kept a minute: a ttl of a second ran out on a loaded machine before the lookup (a 10-minute
    // run at load average 26 found the key free again); an hour filled the memory store's
    // 500,000 records, and a claim then got ERR_STORE (store full), as it should
    assertThat(NativeBridge.complete(io, key.length, status, headers.length, body.length,
        60_000)).isEqualTo(1);

    for (int claiming = 0; claiming < 2; claiming++) {
      ByteBuffer out = buffer(initialCapacity);
      int outcome = 0;
      for (int grows = 0; grows <= MAX_GROWS; grows++) {
        // as once.c reserves room for the inputs
        out = ensure(out, key.length + 32);
        out.put(0, key);
        if (claiming == 1) {
          out.put(key.length, fingerprint);
          outcome = NativeBridge.claim(out, key.length, fingerprinted ? 1 : 0, 60_000,
              bodyCapacity, headersCapacity);
        } else {
          outcome = NativeBridge.lookup(out, key.length, bodyCapacity, headersCapacity);
        }
        if (outcome != NativeBridge.GROW) {
          break;
        }
        int need = out.getInt(NativeBridge.OUT_NEED);
        assertThat(need).isGreaterThan(out.capacity());
        out = buffer(need);
      }
      assertThat(outcome).isEqualTo(NativeBridge.COMPLETED);
      assertThat(out.getInt(NativeBridge.OUT_STATUS)).isEqualTo(status);
      if (out.getInt(NativeBridge.OUT_REPLAYABLE) == 0) {
        // past the memory store's byte bound it drops responses and keeps their records (a
        // 10-minute run reached it): still done, never run again, but nothing to compare
        assertThat(out.getInt(NativeBridge.OUT_BODY_LEN)).isZero();
        return;
      }
      assertThat(out.getInt(NativeBridge.OUT_BODY_LEN)).isEqualTo(body.length);
      assertThat(out.getInt(NativeBridge.OUT_HEADERS_LEN)).isEqualTo(headers.length);
      assertThat(out.getInt(NativeBridge.OUT_HEADER_COUNT)).isEqualTo(headerCount);
      int headersCopied = headers.length <= headersCapacity ? headers.length : 0;
      int copied = out.getInt(NativeBridge.OUT_COPIED);
      assertThat(copied).isEqualTo(Math.min(body.length, bodyCapacity));
      byte[] readHeaders = new byte[headersCopied];
      out.get(NativeBridge.HEADER, readHeaders);
      assertThat(readHeaders).isEqualTo(Arrays.copyOf(headers, headersCopied));
      byte[] readBody = new byte[copied];
      out.get(NativeBridge.HEADER + headersCopied, readBody);
      assertThat(readBody).isEqualTo(Arrays.copyOf(body, copied));
    }
  }

  /** Any call, with any buffer contents and any arguments: an outcome or a code, never a throw. */
  private static void anyCall(FuzzedDataProvider data) {
    int call = data.consumeInt(0, 9);
    int a = data.consumeInt(-2, 300);
    int b = data.consumeInt(-2, 700);
    int c = data.consumeInt(-2, 300);
    int d = data.consumeInt(-2, 300);
    long millis = data.consumeLong(-2, 100_000);
    ByteBuffer io = buffer(data.consumeInt(0, 512));
    byte[] bytes = data.consumeRemainingAsBytes();
    io.put(0, bytes, 0, Math.min(bytes.length, io.capacity()));
    int result = switch (call) {
      case 0 -> NativeBridge.check(io, a, b);
      case 1 -> NativeBridge.store(io, a, b, c, millis);
      case 2 -> NativeBridge.lock(io, a);
      case 3 -> NativeBridge.fingerprint(io, a, b, c, d);
      case 4 -> NativeBridge.claim(io, a, c & 1, millis, b, d);
      case 5 -> NativeBridge.lookup(io, a, b, c);
      case 6 -> NativeBridge.complete(io, a, b, c, d, millis);
      case 7 -> NativeBridge.completeUnknown(io, a, millis);
      case 8 -> NativeBridge.release(io, a);
      default -> NativeBridge.renew(io, a, millis);
    };
    if (result == NativeBridge.GROW) {
      assertThat(call).isIn(0, 4, 5);
      assertThat(io.getInt(NativeBridge.OUT_NEED)).isGreaterThan(io.capacity());
    } else if (result < 0) {
      assertThat(ERRORS).contains(result);
    } else if (call == 2) {
      NativeBridge.unlock(result);
    }
  }

  private static ByteBuffer buffer(int capacity) {
    return ByteBuffer.allocateDirect(Math.max(capacity, NativeBridge.HEADER))
        .order(ByteOrder.nativeOrder());
  }

  private static ByteBuffer ensure(ByteBuffer io, int capacity) {
    if (io.capacity() >= capacity) {
      return io;
    }
    ByteBuffer larger = buffer(capacity);
    larger.put(0, io, 0, io.capacity());
    return larger;
  }

  private static byte[] utf8(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }
}
