package dev.once.spi;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import org.jspecify.annotations.Nullable;

/**
 * What an operator may see of one live record, as {@link IdempotencyStore#inspect} read it: its
 * state, when it was created and expires, the lease left to its owner while in progress, and, once
 * completed, the status and size of the kept response and whether it can be replayed. Never the
 * response's body or headers, nor the owner's token: a record may hold a client's personal data,
 * and whoever inspects it needs none of it. Immutable and thread-safe. A store makes one with
 * {@link #inProgress} or {@link #completed}.
 *
 * @param state whether the record is in progress or completed
 * @param created when the request claimed the key; empty if the store does not keep it (see each
 *     store's documentation)
 * @param expires when the record stops existing: the end of the lease while in progress (unless
 *     its owner renews it), of the time to live once completed; in the store's time, which may
 *     differ from this JVM's clock by the two clocks' skew
 * @param timeLeft the time left until {@link #expires()} when the store read the record (a
 *     negative one is taken as zero)
 * @param status the kept response's status once completed; empty while in progress
 * @param storedBytes the bytes the store keeps for the response (body, headers and the store's
 *     framing of them; a measure of size, which differs a little from store to store); 0 while in
 *     progress
 * @param replayable whether a retry is answered with the kept response; false while in progress,
 *     and for a record kept without its response (too large, evicted from memory, or outcome
 *     unknown)
 */
public record RecordInfo(State state, Optional<Instant> created, Instant expires,
    Duration timeLeft, OptionalInt status, long storedBytes, boolean replayable) {
  /** The two states a live record is in. */
  public enum State {
    /** A request holds the key and has not finished: its owner renews the lease. */
    IN_PROGRESS,
    /** The request finished; the record answers retries until it expires. */
    COMPLETED
  }

  /**
   * A record's description, checked as {@link #inProgress} and {@link #completed} check theirs.
   *
   * @throws NullPointerException if any argument is null
   * @throws IllegalArgumentException if a completed record's {@code status} is absent or not 100
   *     to 599 or its {@code storedBytes} negative, or a record in progress has a status, stored
   *     bytes or a replay
   */
  public RecordInfo {
    Objects.requireNonNull(state, "state");
    Objects.requireNonNull(created, "created");
    Objects.requireNonNull(expires, "expires");
    Objects.requireNonNull(timeLeft, "timeLeft");
    Objects.requireNonNull(status, "status");
    timeLeft = timeLeft.isNegative() ? Duration.ZERO : timeLeft;
    if (state == State.IN_PROGRESS) {
      if (status.isPresent() || storedBytes != 0 || replayable) {
        throw new IllegalArgumentException("a record in progress has no status, stored bytes nor"
            + " replay, but was given " + status + ", " + storedBytes + ", " + replayable);
      }
    } else {
      int code = status.orElseThrow(
          () -> new IllegalArgumentException("a completed record must have a status"));
      if (code < 100 || code > 599) {
        throw new IllegalArgumentException("status must be 100 to 599, but was " + code);
      }
      if (storedBytes < 0) {
        throw new IllegalArgumentException(
            "storedBytes must not be negative, but was " + storedBytes);
      }
    }
  }

  /**
   * A record in progress.
   *
   * @param created when the request claimed the key, or null if the store does not keep it
   * @param expires when the lease passes unless the owner renews it
   * @param leaseLeft the lease left when the store read the record (a negative one is taken as
   *     zero)
   * @return the record's description
   * @throws NullPointerException if {@code expires} or {@code leaseLeft} is null
   */
  public static RecordInfo inProgress(
      @Nullable Instant created, Instant expires, Duration leaseLeft) {
    return new RecordInfo(State.IN_PROGRESS, Optional.ofNullable(created), expires, leaseLeft,
        OptionalInt.empty(), 0, false);
  }

  /**
   * A completed record.
   *
   * @param created when the request claimed the key, or null if the store does not keep it
   * @param expires when the record expires
   * @param timeLeft the time to live left when the store read the record (a negative one is
   *     taken as zero)
   * @param status the kept response's status
   * @param storedBytes the bytes the store keeps for the response (body, headers and the store's
   *     framing of them)
   * @param replayable whether a retry is answered with the kept response, rather than a 409 that
   *     says the request was done (too large to keep, or outcome unknown)
   * @return the record's description
   * @throws NullPointerException if {@code expires} or {@code timeLeft} is null
   * @throws IllegalArgumentException if {@code status} is not 100 to 599 or {@code storedBytes}
   *     is negative
   */
  public static RecordInfo completed(@Nullable Instant created, Instant expires, Duration timeLeft,
      int status, long storedBytes, boolean replayable) {
    return new RecordInfo(State.COMPLETED, Optional.ofNullable(created), expires, timeLeft,
        OptionalInt.of(status), storedBytes, replayable);
  }

  /** @return the lease left to the owner when in progress; empty once completed */
  public Optional<Duration> leaseLeft() {
    return state == State.IN_PROGRESS ? Optional.of(timeLeft) : Optional.empty();
  }
}
