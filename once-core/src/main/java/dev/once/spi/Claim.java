package dev.once.spi;

import dev.once.Fingerprint;
import dev.once.StoredResponse;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * What {@link IdempotencyStore#claim} found: either the caller now owns a new in-progress record
 * ({@link State#ACQUIRED}, with its {@link #token()}), or the live record someone else made
 * ({@link State#IN_PROGRESS} or {@link State#COMPLETED}, with its fingerprint and, when completed,
 * its response). Immutable and thread-safe.
 */
public final class Claim {
  /** The three things a claim can find. */
  public enum State {
    /** There was no live record; the caller now owns a new in-progress one. */
    ACQUIRED,
    /** Another caller owns the record and has not finished. */
    IN_PROGRESS,
    /** The record holds a finished response. */
    COMPLETED
  }

  private final State state;
  private final @Nullable Token token;
  private final @Nullable Fingerprint fingerprint;
  private final @Nullable StoredResponse response;

  private Claim(
      State state,
      @Nullable Token token,
      @Nullable Fingerprint fingerprint,
      @Nullable StoredResponse response) {
    this.state = state;
    this.token = token;
    this.fingerprint = fingerprint;
    this.response = response;
  }

  /**
   * The caller won: it owns a new in-progress record.
   *
   * @param token the owner token that fences {@code complete} and {@code release}
   * @return the claim
   */
  public static Claim acquired(Token token) {
    return new Claim(State.ACQUIRED, Objects.requireNonNull(token, "token"), null, null);
  }

  /**
   * Someone else owns the record and is still running.
   *
   * @param fingerprint the fingerprint the owner claimed with, or null if it had none
   * @return the claim
   */
  public static Claim inProgress(@Nullable Fingerprint fingerprint) {
    return new Claim(State.IN_PROGRESS, null, fingerprint, null);
  }

  /**
   * The record is finished.
   *
   * @param fingerprint the fingerprint the owner claimed with, or null if it had none
   * @param response the stored response
   * @return the claim
   */
  public static Claim completed(@Nullable Fingerprint fingerprint, StoredResponse response) {
    return new Claim(
        State.COMPLETED, null, fingerprint, Objects.requireNonNull(response, "response"));
  }

  /** @return what the claim found */
  public State state() {
    return state;
  }

  /** @return the caller's owner token when {@link State#ACQUIRED}, else null */
  public @Nullable Token token() {
    return token;
  }

  /** @return the fingerprint of the existing record, or null (acquired, or recorded without one) */
  public @Nullable Fingerprint fingerprint() {
    return fingerprint;
  }

  /** @return the stored response when {@link State#COMPLETED}, else null */
  public @Nullable StoredResponse response() {
    return response;
  }

  @Override
  public String toString() {
    return "Claim{" + state + (token == null ? "" : ", token=" + token)
        + (response == null ? "" : ", " + response) + "}";
  }
}
