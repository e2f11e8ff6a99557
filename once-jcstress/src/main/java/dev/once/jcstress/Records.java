package dev.once.jcstress;

import dev.once.Fingerprint;
import dev.once.MemoryStore;
import dev.once.OnceRequest;
import dev.once.StoredResponse;
import dev.once.spi.Claim;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;

/** What the stress tests share: the states a claim can find, as numbers, and a fixed record. */
final class Records {
  /** {@link Claim.State#ACQUIRED}. */
  static final int ACQUIRED = 0;
  /** {@link Claim.State#IN_PROGRESS}. */
  static final int IN_PROGRESS = 1;
  /** {@link Claim.State#COMPLETED}. */
  static final int COMPLETED = 2;
  /** No live record. */
  static final int ABSENT = 3;

  static final String KEY = "k";
  /**
   * Long enough that no stall of a run can pass it: with 10 seconds, a default-mode run niced on a
   * machine at load 25 saw a claim take over a lease that had passed between two actors (both
   * acquired) and a completion refused after a renewal, both right for a lease that ended.
   */
  static final Duration LEASE = Duration.ofHours(1);
  static final Duration TTL = Duration.ofHours(1);
  static final Fingerprint FINGERPRINT = Fingerprint.of("POST", "/payments", null,
      "{\"amount\":100}".getBytes(StandardCharsets.UTF_8));
  static final StoredResponse CREATED =
      StoredResponse.of(201, List.of(), "{\"id\":1}".getBytes(StandardCharsets.UTF_8));

  private Records() {}

  static int state(Claim claim) {
    return claim == null ? ABSENT : claim.state().ordinal();
  }

  static int bool(boolean value) {
    return value ? 1 : 0;
  }

  /** A small store: the tests make millions of them. */
  static MemoryStore store(Clock clock) {
    MemoryStore.Builder builder = MemoryStore.builder().maximumWeightBytes(1 << 20);
    return clock == null ? builder.build() : builder.clock(clock).build();
  }

  /**
   * A clock whose time is set per thread, so two actors can see one instant on either side of a
   * lease's end.
   */
  static final class ThreadClock extends Clock {
    private final Instant base;
    private final ThreadLocal<Instant> now;

    ThreadClock(Instant base) {
      this.base = base;
      this.now = ThreadLocal.withInitial(() -> base);
    }

    void set(Duration sinceBase) {
      now.set(base.plus(sinceBase));
    }

    @Override
    public Instant instant() {
      return now.get();
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      throw new UnsupportedOperationException("one zone");
    }
  }

  /** A keyed POST with an empty body. */
  static final class Post implements OnceRequest {
    @Override
    public String method() {
      return "POST";
    }

    @Override
    public String path() {
      return "/payments";
    }

    @Override
    public String query() {
      return null;
    }

    @Override
    public List<String> headers(String name) {
      return "Idempotency-Key".equalsIgnoreCase(name) ? List.of(KEY) : List.of();
    }

    @Override
    public String principal() {
      return null;
    }

    @Override
    public byte[] body(long maxBytes) {
      return new byte[0];
    }
  }
}
