package dev.once.spi;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.Fingerprint;
import dev.once.StoredResponse;
import dev.once.StoredResponse.Header;
import dev.once.testing.Concurrently;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The behaviour every {@link IdempotencyStore} must have. A store's test class extends this and
 * supplies the store; every test uses keys of its own, so one server can serve them all.
 *
 * <p>Ships in the {@code once-core} test jar, so a third-party store runs it too:
 *
 * <pre>{@code
 * class MyStoreContractTest extends IdempotencyStoreContract {
 *   protected IdempotencyStore store() { return myStore; }
 * }
 * }</pre>
 *
 * Stores whose time cannot be faked keep the default {@link #advance}, which sleeps; the lease and
 * ttl used by the time tests are {@link #shortLifetime()}.
 */
public abstract class IdempotencyStoreContract {
  private static final Duration LONG = Duration.ofMinutes(5);
  private static final Fingerprint FINGERPRINT =
      Fingerprint.of(
          "POST", "/payments", null, "{\"amount\":100}".getBytes(StandardCharsets.UTF_8));
  private static final Fingerprint OTHER_FINGERPRINT =
      Fingerprint.of(
          "POST", "/payments", null, "{\"amount\":200}".getBytes(StandardCharsets.UTF_8));
  private static final StoredResponse CREATED = StoredResponse.of(
      201, List.of(new Header("Content-Type", "application/json")),
      "{\"id\":1}".getBytes(StandardCharsets.UTF_8));

  private final String prefix = "contract-" + UUID.randomUUID() + ":";

  /** @return the store under test; the same instance may be returned to every test */
  protected abstract IdempotencyStore store();

  /**
   * Lets at least {@code duration} pass in the store's time. The default sleeps.
   *
   * @param duration how much time must pass
   * @throws InterruptedException if interrupted while sleeping
   */
  protected void advance(Duration duration) throws InterruptedException {
    Thread.sleep(duration.toMillis());
  }

  /**
   * The store's clock, which {@link RecordInfo#created()} is read by. The default is this JVM's
   * clock, right for a store that takes its time from it or from a server on the same machine.
   *
   * @return the time now, by the store's clock
   */
  protected Instant now() {
    return Instant.now();
  }

  /** @return the lease and ttl the time tests use: short, but long enough to act within */
  protected Duration shortLifetime() {
    return Duration.ofMillis(500);
  }

  /** @param name what the test calls the key; the same name in one test is the same key */
  protected String key(String name) {
    return prefix + name;
  }

  @Test
  void firstClaimAcquiresAndSecondSeesItInProgress() {
    Claim first = store().claim(key("a"), FINGERPRINT, LONG);
    Claim second = store().claim(key("a"), FINGERPRINT, LONG);

    assertThat(first.state()).isEqualTo(Claim.State.ACQUIRED);
    assertThat(first.token()).isNotNull();
    assertThat(second.state()).isEqualTo(Claim.State.IN_PROGRESS);
    assertThat(second.fingerprint()).isEqualTo(FINGERPRINT);
    assertThat(second.token()).isNull();
  }

  @Test
  void exactlyOneOf200ConcurrentClaimsOfOneKeyAcquires() throws Exception {
    String key = key("race");

    List<Claim> claims = Concurrently.run(200, i -> store().claim(key, FINGERPRINT, LONG));

    assertThat(claims).filteredOn(c -> c.state() == Claim.State.ACQUIRED).hasSize(1);
    assertThat(claims).filteredOn(c -> c.state() == Claim.State.IN_PROGRESS).hasSize(199);
  }

  @Test
  void concurrentClaimsOfDifferentKeysAllAcquire() throws Exception {
    List<Claim> claims = Concurrently.run(50, i -> store().claim(key("k" + i), FINGERPRINT, LONG));

    assertThat(claims).allMatch(c -> c.state() == Claim.State.ACQUIRED);
  }

  @Test
  void claimAfterCompleteReturnsTheStoredResponseAndFingerprint() {
    Token token = store().claim(key("a"), FINGERPRINT, LONG).token();

    assertThat(store().complete(key("a"), token, CREATED, LONG)).isTrue();
    Claim replay = store().claim(key("a"), OTHER_FINGERPRINT, LONG);

    assertThat(replay.state()).isEqualTo(Claim.State.COMPLETED);
    assertThat(replay.response()).isEqualTo(CREATED);
    assertThat(replay.fingerprint()).isEqualTo(FINGERPRINT);
  }

  @Test
  void recordRoundTripKeepsStatusHeadersAndOneMebibyteBinaryBody() {
    byte[] body = new byte[1 << 20];
    new Random(42).nextBytes(body);
    for (int i = 0; i < 256; i++) {
      body[i] = (byte) i;
    }
    StoredResponse response = StoredResponse.of(200, List.of(
        new Header("Content-Type", "application/octet-stream"),
        new Header("X-Repeated", "one"),
        new Header("X-Repeated", "two"),
        new Header("X-Empty", ""),
        new Header("Location", "/payments/\u00e9t\u00e9?x=1&y=\"2\"")), body);
    Token token = store().claim(key("big"), FINGERPRINT, LONG).token();

    assertThat(store().complete(key("big"), token, response, LONG)).isTrue();
    StoredResponse read = store().claim(key("big"), FINGERPRINT, LONG).response();

    assertThat(read.status()).isEqualTo(200);
    assertThat(read.headers()).isEqualTo(response.headers());
    assertThat(read.body()).isEqualTo(body);
    assertThat(read.isReplayable()).isTrue();
  }

  @Test
  void emptyBodyAndNoHeadersRoundTrip() {
    StoredResponse noContent = StoredResponse.of(204, List.of(), new byte[0]);
    Token token = store().claim(key("empty"), FINGERPRINT, LONG).token();

    store().complete(key("empty"), token, noContent, LONG);

    assertThat(store().claim(key("empty"), FINGERPRINT, LONG).response()).isEqualTo(noContent);
  }

  @Test
  void notReplayableResponseRoundTrips() {
    StoredResponse marker =
        StoredResponse.notReplayable(201, List.of(new Header("Location", "/payments/7")));
    Token token = store().claim(key("large"), FINGERPRINT, LONG).token();

    store().complete(key("large"), token, marker, LONG);
    StoredResponse read = store().claim(key("large"), FINGERPRINT, LONG).response();

    assertThat(read.isReplayable()).isFalse();
    assertThat(read).isEqualTo(marker);
  }

  @Test
  void recordWithoutFingerprintRoundTrips() {
    Token token = store().claim(key("nofp"), null, LONG).token();
    assertThat(store().claim(key("nofp"), FINGERPRINT, LONG).fingerprint()).isNull();

    store().complete(key("nofp"), token, CREATED, LONG);

    Claim replay = store().claim(key("nofp"), FINGERPRINT, LONG);
    assertThat(replay.fingerprint()).isNull();
    assertThat(replay.response()).isEqualTo(CREATED);
  }

  @Test
  void keysWithSpacesAndNonAsciiScopesAreDistinctKeys() {
    String scoped = key("user \u00fc\u4e16 with spaces") + " abc";
    Token token = store().claim(scoped, FINGERPRINT, LONG).token();
    store().complete(scoped, token, CREATED, LONG);

    assertThat(store().claim(scoped, FINGERPRINT, LONG).response()).isEqualTo(CREATED);
    assertThat(store().claim(key("user") + " abc", FINGERPRINT, LONG).state())
        .isEqualTo(Claim.State.ACQUIRED);
  }

  @Test
  void completeWithAnotherTokenChangesNothing() {
    Token owner = store().claim(key("a"), FINGERPRINT, LONG).token();

    assertThat(store().complete(key("a"), Token.random(), CREATED, LONG)).isFalse();
    assertThat(store().claim(key("a"), FINGERPRINT, LONG).state())
        .isEqualTo(Claim.State.IN_PROGRESS);
    assertThat(store().complete(key("a"), owner, CREATED, LONG)).isTrue();
  }

  @Test
  void releaseWithAnotherTokenChangesNothing() {
    store().claim(key("a"), FINGERPRINT, LONG);

    assertThat(store().release(key("a"), Token.random())).isFalse();
    assertThat(store().claim(key("a"), FINGERPRINT, LONG).state())
        .isEqualTo(Claim.State.IN_PROGRESS);
  }

  @Test
  void completeOrReleaseOfAnAbsentKeyChangesNothing() {
    assertThat(store().complete(key("never"), Token.random(), CREATED, LONG)).isFalse();
    assertThat(store().release(key("never"), Token.random())).isFalse();
    assertThat(store().claim(key("never"), FINGERPRINT, LONG).state())
        .isEqualTo(Claim.State.ACQUIRED);
  }

  @Test
  void releaseFreesTheKeyForTheNextClaim() {
    Token first = store().claim(key("a"), FINGERPRINT, LONG).token();

    assertThat(store().release(key("a"), first)).isTrue();
    Claim next = store().claim(key("a"), OTHER_FINGERPRINT, LONG);

    assertThat(next.state()).isEqualTo(Claim.State.ACQUIRED);
    assertThat(next.token()).isNotEqualTo(first);
    assertThat(store().release(key("a"), first)).isFalse();
  }

  @Test
  void aCompletedRecordCanBeNeitherReleasedNorCompletedAgain() {
    Token token = store().claim(key("a"), FINGERPRINT, LONG).token();
    store().complete(key("a"), token, CREATED, LONG);

    assertThat(store().release(key("a"), token)).isFalse();
    assertThat(store().complete(key("a"), token, StoredResponse.of(200, List.of(), new byte[0]),
        LONG)).isFalse();
    assertThat(store().claim(key("a"), FINGERPRINT, LONG).response()).isEqualTo(CREATED);
  }

  @Test
  void aClaimWithinTheLeaseFindsTheRecordInProgress() throws Exception {
    store().claim(key("a"), FINGERPRINT, shortLifetime().multipliedBy(4));

    advance(shortLifetime());

    assertThat(store().claim(key("a"), FINGERPRINT, LONG).state())
        .isEqualTo(Claim.State.IN_PROGRESS);
  }

  @Test
  void aClaimAfterTheLeasePassesTakesTheRecordOverAndFencesTheOldOwner() throws Exception {
    Token dead = store().claim(key("a"), FINGERPRINT, shortLifetime()).token();

    advance(shortLifetime().multipliedBy(2));
    Claim takeover = store().claim(key("a"), OTHER_FINGERPRINT, LONG);

    assertThat(takeover.state()).isEqualTo(Claim.State.ACQUIRED);
    assertThat(store().complete(key("a"), dead, CREATED, LONG)).isFalse();
    assertThat(store().release(key("a"), dead)).isFalse();
    assertThat(store().claim(key("a"), FINGERPRINT, LONG).state())
        .isEqualTo(Claim.State.IN_PROGRESS);
    assertThat(store().complete(key("a"), takeover.token(), CREATED, LONG)).isTrue();
    assertThat(store().claim(key("a"), FINGERPRINT, LONG).fingerprint())
        .isEqualTo(OTHER_FINGERPRINT);
  }

  @Test
  void anOwnerWhoseLeasePassedCannotCompleteEvenIfNobodyTookOver() throws Exception {
    Token late = store().claim(key("a"), FINGERPRINT, shortLifetime()).token();

    advance(shortLifetime().multipliedBy(2));

    assertThat(store().complete(key("a"), late, CREATED, LONG)).isFalse();
    assertThat(store().claim(key("a"), FINGERPRINT, LONG).state())
        .isEqualTo(Claim.State.ACQUIRED);
  }

  @Test
  void aCompletedRecordLivesForItsTtlThenTheKeyIsFree() throws Exception {
    Token token = store().claim(key("a"), FINGERPRINT, LONG).token();
    store().complete(key("a"), token, CREATED, shortLifetime().multipliedBy(4));

    advance(shortLifetime());
    assertThat(store().claim(key("a"), FINGERPRINT, LONG).state())
        .isEqualTo(Claim.State.COMPLETED);

    advance(shortLifetime().multipliedBy(4));
    assertThat(store().claim(key("a"), FINGERPRINT, LONG).state())
        .isEqualTo(Claim.State.ACQUIRED);
  }

  @Test
  void theTtlRunsFromCompletionNotFromTheClaim() throws Exception {
    Token token = store().claim(key("a"), FINGERPRINT, LONG).token();
    advance(shortLifetime().multipliedBy(2));

    store().complete(key("a"), token, CREATED, shortLifetime().multipliedBy(4));
    advance(shortLifetime().multipliedBy(2));

    assertThat(store().claim(key("a"), FINGERPRINT, LONG).state())
        .isEqualTo(Claim.State.COMPLETED);
  }

  @Test
  void peekOfAnAbsentKeyFindsNothingAndLeavesTheKeyFree() {
    assertThat(store().peek(key("a"))).isNull();

    assertThat(store().claim(key("a"), FINGERPRINT, LONG).state())
        .isEqualTo(Claim.State.ACQUIRED);
  }

  @Test
  void peekSeesAnInProgressRecordWithoutTakingItOver() {
    Token token = store().claim(key("a"), FINGERPRINT, LONG).token();

    Claim seen = store().peek(key("a"));

    assertThat(seen.state()).isEqualTo(Claim.State.IN_PROGRESS);
    assertThat(seen.fingerprint()).isEqualTo(FINGERPRINT);
    assertThat(store().complete(key("a"), token, CREATED, LONG)).isTrue();
  }

  @Test
  void peekSeesACompletedRecordAndNothingOnceItIsReleasedOrExpired() throws Exception {
    Token token = store().claim(key("a"), FINGERPRINT, LONG).token();
    store().complete(key("a"), token, CREATED, shortLifetime());
    Token released = store().claim(key("b"), FINGERPRINT, LONG).token();
    store().release(key("b"), released);

    Claim seen = store().peek(key("a"));
    assertThat(seen.state()).isEqualTo(Claim.State.COMPLETED);
    assertThat(seen.response()).isEqualTo(CREATED);
    assertThat(seen.fingerprint()).isEqualTo(FINGERPRINT);
    assertThat(store().peek(key("b"))).isNull();

    advance(shortLifetime().multipliedBy(2));
    assertThat(store().peek(key("a"))).isNull();
  }

  @Test
  void awaitChangeReturnsOnceTheRecordIsCompleted() throws Exception {
    Token token = store().claim(key("a"), FINGERPRINT, LONG).token();
    CompletableFuture<Claim> waiter = CompletableFuture.supplyAsync(() -> {
      try {
        Claim claim;
        do {
          store().awaitChange(key("a"), Duration.ofSeconds(30));
          claim = store().claim(key("a"), FINGERPRINT, LONG);
        } while (claim.state() == Claim.State.IN_PROGRESS);
        return claim;
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
    });

    store().complete(key("a"), token, CREATED, LONG);

    Claim seen = waiter.get(20, TimeUnit.SECONDS);
    assertThat(seen.state()).isEqualTo(Claim.State.COMPLETED);
    assertThat(seen.response()).isEqualTo(CREATED);
  }

  @Test
  void awaitChangeOnAnAbsentKeyReturns() throws Exception {
    CompletableFuture<Void> waiter = CompletableFuture.runAsync(() -> {
      try {
        store().awaitChange(key("absent"), Duration.ofMillis(200));
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
    });

    waiter.get(20, TimeUnit.SECONDS);
    assertThat(waiter).isDone();
  }

  @Test
  void renewExtendsTheLeaseOfItsOwnerSoTheRecordOutlivesItsFirstLease() throws Exception {
    Token token = store().claim(key("a"), FINGERPRINT, shortLifetime().multipliedBy(2)).token();

    for (int i = 0; i < 3; i++) {
      advance(shortLifetime());
      assertThat(store().renew(key("a"), token, shortLifetime().multipliedBy(2))).isTrue();
    }

    assertThat(store().claim(key("a"), FINGERPRINT, LONG).state())
        .isEqualTo(Claim.State.IN_PROGRESS);
    assertThat(store().complete(key("a"), token, CREATED, LONG)).isTrue();
    assertThat(store().claim(key("a"), FINGERPRINT, LONG).state())
        .isEqualTo(Claim.State.COMPLETED);
  }

  @Test
  void renewWithAnotherTokenOrForAnAbsentKeyChangesNothing() {
    Token token = store().claim(key("a"), FINGERPRINT, LONG).token();

    assertThat(store().renew(key("a"), Token.random(), LONG)).isFalse();
    assertThat(store().renew(key("absent"), token, LONG)).isFalse();
    assertThat(store().claim(key("absent"), FINGERPRINT, LONG).state())
        .isEqualTo(Claim.State.ACQUIRED);
    assertThat(store().complete(key("a"), token, CREATED, LONG)).isTrue();
  }

  @Test
  void renewOfACompletedOrReleasedRecordIsRefusedAndChangesNothing() throws Exception {
    Token completed = store().claim(key("a"), FINGERPRINT, LONG).token();
    store().complete(key("a"), completed, CREATED, shortLifetime().multipliedBy(2));
    Token released = store().claim(key("b"), FINGERPRINT, LONG).token();
    store().release(key("b"), released);

    assertThat(store().renew(key("a"), completed, LONG)).isFalse();
    assertThat(store().renew(key("b"), released, LONG)).isFalse();

    assertThat(store().claim(key("a"), FINGERPRINT, LONG).response()).isEqualTo(CREATED);
    assertThat(store().claim(key("b"), FINGERPRINT, LONG).state())
        .isEqualTo(Claim.State.ACQUIRED);
    advance(shortLifetime().multipliedBy(3));
    assertThat(store().claim(key("a"), FINGERPRINT, LONG).state())
        .as("renewing a completed record must not extend its ttl")
        .isEqualTo(Claim.State.ACQUIRED);
  }

  @Test
  void anOwnerWhoseLeasePassedCannotRenewAndTheTakeoverIsNotDisturbed() throws Exception {
    Token dead = store().claim(key("a"), FINGERPRINT, shortLifetime()).token();
    Token late = store().claim(key("b"), FINGERPRINT, shortLifetime()).token();

    advance(shortLifetime().multipliedBy(2));
    Claim takeover = store().claim(key("a"), OTHER_FINGERPRINT, LONG);

    assertThat(store().renew(key("a"), dead, LONG)).isFalse();
    assertThat(store().renew(key("b"), late, LONG)).as("passed, nobody took over").isFalse();
    assertThat(store().complete(key("a"), takeover.token(), CREATED, LONG)).isTrue();
    assertThat(store().claim(key("b"), FINGERPRINT, LONG).state())
        .isEqualTo(Claim.State.ACQUIRED);
  }

  @Test
  void exactlyOneOf200ConcurrentClaimsAcquiresWhileItsOwnerRenews() throws Exception {
    Token owner = store().claim(key("a"), FINGERPRINT, LONG).token();

    List<Boolean> renewed = Concurrently.run(200, i -> i % 2 == 0
        ? store().renew(key("a"), owner, LONG)
        : store().claim(key("a"), FINGERPRINT, LONG).state() == Claim.State.ACQUIRED);

    assertThat(renewed.stream().filter(b -> b).count()).isEqualTo(100);
    assertThat(store().complete(key("a"), owner, CREATED, LONG)).isTrue();
  }

  @Test
  void outcomeUnknownMarkerRoundTrips() {
    Token token = store().claim(key("a"), FINGERPRINT, LONG).token();

    assertThat(store().complete(key("a"), token, StoredResponse.outcomeUnknown(), LONG)).isTrue();

    Claim seen = store().claim(key("a"), FINGERPRINT, LONG);
    assertThat(seen.state()).isEqualTo(Claim.State.COMPLETED);
    assertThat(seen.fingerprint()).isEqualTo(FINGERPRINT);
    assertThat(seen.response().isOutcomeUnknown()).isTrue();
    assertThat(seen.response().isReplayable()).isFalse();
    assertThat(seen.response()).isEqualTo(StoredResponse.outcomeUnknown());
    assertThat(store().peek(key("a")).response().isOutcomeUnknown()).isTrue();
  }

  @Test
  void theAsynchronousFormsDoWhatTheBlockingOnesDo() throws Exception {
    Claim first = await(store().claimAsync(key("a"), FINGERPRINT, LONG));
    Claim second = await(store().claimAsync(key("a"), FINGERPRINT, LONG));
    Claim other = await(store().claimAsync(key("b"), FINGERPRINT, LONG));

    assertThat(first.state()).isEqualTo(Claim.State.ACQUIRED);
    assertThat(second.state()).isEqualTo(Claim.State.IN_PROGRESS);
    assertThat(await(store().peekAsync(key("a"))).state()).isEqualTo(Claim.State.IN_PROGRESS);
    assertThat(await(store().peekAsync(key("absent")))).isNull();
    assertThat(await(store().renewAsync(key("a"), first.token(), LONG))).isTrue();
    assertThat(await(store().renewAsync(key("a"), Token.random(), LONG))).isFalse();
    assertThat(await(store().completeAsync(key("a"), Token.random(), CREATED, LONG))).isFalse();
    assertThat(await(store().completeAsync(key("a"), first.token(), CREATED, LONG))).isTrue();
    assertThat(await(store().releaseAsync(key("b"), Token.random()))).isFalse();
    assertThat(await(store().releaseAsync(key("b"), other.token()))).isTrue();

    Claim replay = await(store().claimAsync(key("a"), FINGERPRINT, LONG));
    assertThat(replay.state()).isEqualTo(Claim.State.COMPLETED);
    assertThat(replay.response()).isEqualTo(CREATED);
    assertThat(await(store().peekAsync(key("a"))).response()).isEqualTo(CREATED);
    assertThat(await(store().claimAsync(key("b"), FINGERPRINT, LONG)).state())
        .isEqualTo(Claim.State.ACQUIRED);
  }

  @Test
  void exactlyOneOf200ConcurrentAsynchronousClaimsAcquires() throws Exception {
    List<CompletableFuture<Claim>> claims = Concurrently.run(200,
        i -> store().claimAsync(key("a"), FINGERPRINT, LONG).toCompletableFuture());

    long acquired = 0;
    for (CompletableFuture<Claim> claim : claims) {
      if (claim.get(20, TimeUnit.SECONDS).state() == Claim.State.ACQUIRED) {
        acquired++;
      }
    }
    assertThat(acquired).isEqualTo(1);
  }

  @Test
  void manyParkedWaitersAreAllWokenWhenTheRecordIsCompleted() throws Exception {
    Token token = store().claim(key("a"), FINGERPRINT, LONG).token();
    List<CompletableFuture<Void>> waiters = new java.util.ArrayList<>();
    for (int i = 0; i < 300; i++) {
      waiters.add(store().awaitChangeAsync(key("a"), Duration.ofSeconds(30)).toCompletableFuture());
    }

    store().complete(key("a"), token, CREATED, LONG);

    CompletableFuture.allOf(waiters.toArray(new CompletableFuture<?>[0]))
        .get(20, TimeUnit.SECONDS);
    assertThat(await(store().peekAsync(key("a"))).response()).isEqualTo(CREATED);
  }

  @Test
  void aParkedWaiterIsWokenWhenTheRecordIsReleased() throws Exception {
    Token token = store().claim(key("a"), FINGERPRINT, LONG).token();
    CompletableFuture<Void> waiter =
        store().awaitChangeAsync(key("a"), Duration.ofSeconds(30)).toCompletableFuture();

    store().release(key("a"), token);

    waiter.get(20, TimeUnit.SECONDS);
    assertThat(await(store().peekAsync(key("a")))).isNull();
  }

  @Test
  void aParkedWaiterWakesByItsTimeoutWhenNothingChanges() throws Exception {
    store().claim(key("a"), FINGERPRINT, LONG);

    CompletableFuture<Void> waiter =
        store().awaitChangeAsync(key("a"), Duration.ofMillis(100)).toCompletableFuture();

    waiter.get(20, TimeUnit.SECONDS);
    assertThat(store().peek(key("a")).state()).isEqualTo(Claim.State.IN_PROGRESS);
  }

  @Test
  void aParkedWaiterStaysParkedWhileTheOwnerRenews() throws Exception {
    Token token = store().claim(key("a"), FINGERPRINT, LONG).token();
    CompletableFuture<Void> waiter =
        store().awaitChangeAsync(key("a"), Duration.ofSeconds(30)).toCompletableFuture();

    assertThat(store().renew(key("a"), token, LONG)).isTrue();
    assertThat(store().peek(key("a")).state()).isEqualTo(Claim.State.IN_PROGRESS);
    assertThat(waiter).as("a renewal is no change a waiter must wake for").isNotDone();
    store().complete(key("a"), token, CREATED, LONG);

    waiter.get(20, TimeUnit.SECONDS);
    assertThat(store().peek(key("a")).response()).isEqualTo(CREATED);
  }

  @Test
  void awaitChangeAsyncOnAnAbsentKeyCompletes() throws Exception {
    store().awaitChangeAsync(key("absent"), Duration.ofSeconds(30)).toCompletableFuture()
        .get(20, TimeUnit.SECONDS);
  }

  @Test
  void inspectOfAKeyWithoutARecordFindsNothingAndLeavesTheKeyFree() {
    assertThat(store().inspect(key("none"))).isEmpty();

    assertThat(store().claim(key("none"), FINGERPRINT, LONG).state())
        .isEqualTo(Claim.State.ACQUIRED);
  }

  @Test
  void inspectOfAnInProgressRecordShowsItsLeaseAndNoResponse() {
    Token token = store().claim(key("a"), FINGERPRINT, LONG).token();

    RecordInfo info = store().inspect(key("a")).orElseThrow();

    assertThat(info.state()).isEqualTo(RecordInfo.State.IN_PROGRESS);
    assertThat(info.leaseLeft()).hasValueSatisfying(
        left -> assertThat(left).isPositive().isLessThanOrEqualTo(LONG));
    assertThat(info.status()).isEmpty();
    assertThat(info.storedBytes()).isZero();
    assertThat(info.replayable()).isFalse();
    info.created().ifPresent(created -> assertThat(created).isBefore(info.expires()));
    assertThat(store().renew(key("a"), token, LONG)).as("inspecting takes nothing over").isTrue();
    assertThat(store().complete(key("a"), token, CREATED, LONG)).isTrue();
  }

  @Test
  void inspectOfACompletedRecordShowsItsStatusSizeAndWhetherItReplays() {
    Token token = store().claim(key("a"), FINGERPRINT, LONG).token();
    store().complete(key("a"), token, CREATED, LONG);
    Token marker = store().claim(key("b"), FINGERPRINT, LONG).token();
    store().complete(key("b"), marker, StoredResponse.notReplayable(201, List.of()), LONG);

    RecordInfo info = store().inspect(key("a")).orElseThrow();
    RecordInfo notReplayable = store().inspect(key("b")).orElseThrow();

    assertThat(info.state()).isEqualTo(RecordInfo.State.COMPLETED);
    assertThat(info.status()).hasValue(201);
    assertThat(info.replayable()).isTrue();
    assertThat(info.storedBytes()).isBetween((long) CREATED.bodyLength(), 1_000L);
    assertThat(info.leaseLeft()).isEmpty();
    assertThat(info.timeLeft()).isPositive().isLessThanOrEqualTo(LONG);
    info.created().ifPresent(created -> assertThat(created).isBefore(info.expires()));
    assertThat(notReplayable.status()).hasValue(201);
    assertThat(notReplayable.replayable()).isFalse();
    assertThat(store().claim(key("a"), FINGERPRINT, LONG).response()).isEqualTo(CREATED);
  }

  @Test
  void inspectShowsWhenTheKeyWasClaimedUnchangedByCompletion() throws Exception {
    // a store may keep the time to the millisecond
    Instant before = now().truncatedTo(ChronoUnit.MILLIS);
    Token token = store().claim(key("a"), FINGERPRINT, LONG).token();
    advance(Duration.ofMillis(5));
    RecordInfo running = store().inspect(key("a")).orElseThrow();
    store().complete(key("a"), token, CREATED, LONG);
    advance(Duration.ofMillis(5));
    RecordInfo done = store().inspect(key("a")).orElseThrow();
    Instant after = now();

    assertThat(running.created()).hasValueSatisfying(
        created -> assertThat(created).isBetween(before, after).isBefore(running.expires()));
    assertThat(done.created()).as("completion keeps the claim's time").isEqualTo(running.created());
  }

  @Test
  void inspectFindsNothingOnceTheLeaseOrTheTtlHasPassed() throws Exception {
    store().claim(key("abandoned"), FINGERPRINT, shortLifetime());
    Token token = store().claim(key("done"), FINGERPRINT, LONG).token();
    store().complete(key("done"), token, CREATED, shortLifetime());

    advance(shortLifetime().multipliedBy(2));

    assertThat(store().inspect(key("abandoned"))).isEmpty();
    assertThat(store().inspect(key("done"))).isEmpty();
  }

  @Test
  void deletingACompletedRecordLetsTheNextClaimAcquire() {
    Token token = store().claim(key("a"), FINGERPRINT, LONG).token();
    store().complete(key("a"), token, CREATED, LONG);
    assertThat(store().peek(key("a")).response()).as("read, as a cache would keep it")
        .isEqualTo(CREATED);

    assertThat(store().delete(key("a"), false)).isEqualTo(Deletion.DELETED);

    assertThat(store().inspect(key("a"))).isEmpty();
    assertThat(store().peek(key("a"))).isNull();
    assertThat(store().claim(key("a"), FINGERPRINT, LONG).state())
        .isEqualTo(Claim.State.ACQUIRED);
  }

  @Test
  void deletingAnInProgressRecordIsRefusedUnlessForcedThenAClaimAcquires() {
    Token stuck = store().claim(key("a"), FINGERPRINT, LONG).token();

    assertThat(store().delete(key("a"), false)).isEqualTo(Deletion.IN_PROGRESS);
    assertThat(store().claim(key("a"), FINGERPRINT, LONG).state())
        .isEqualTo(Claim.State.IN_PROGRESS);
    assertThat(store().delete(key("a"), true)).isEqualTo(Deletion.FORCED);
    Claim retry = store().claim(key("a"), FINGERPRINT, LONG);

    assertThat(retry.state()).isEqualTo(Claim.State.ACQUIRED);
    assertThat(store().complete(key("a"), stuck, CREATED, LONG))
        .as("the old owner is fenced off").isFalse();
    assertThat(store().complete(key("a"), retry.token(), CREATED, LONG)).isTrue();
  }

  @Test
  void deletingAKeyWithoutARecordChangesNothing() {
    assertThat(store().delete(key("none"), false)).isEqualTo(Deletion.ABSENT);
    assertThat(store().delete(key("none"), true)).isEqualTo(Deletion.ABSENT);

    assertThat(store().inspect(key("none"))).isEmpty();
  }

  @Test
  void aForcedDeletionWakesTheWaitersOfTheRecord() throws Exception {
    store().claim(key("a"), FINGERPRINT, LONG);
    CompletableFuture<Void> waiter =
        store().awaitChangeAsync(key("a"), Duration.ofSeconds(30)).toCompletableFuture();

    assertThat(store().delete(key("a"), true)).isEqualTo(Deletion.FORCED);

    waiter.get(20, TimeUnit.SECONDS);
    assertThat(store().claim(key("a"), FINGERPRINT, LONG).state())
        .isEqualTo(Claim.State.ACQUIRED);
  }

  @Test
  void exactlyOneOf200ConcurrentDeletionsOfACompletedRecordDeletesIt() throws Exception {
    Token token = store().claim(key("a"), FINGERPRINT, LONG).token();
    store().complete(key("a"), token, CREATED, LONG);

    List<Deletion> deletions = Concurrently.run(200, i -> store().delete(key("a"), false));

    assertThat(deletions).filteredOn(d -> d == Deletion.DELETED).hasSize(1);
    assertThat(deletions).filteredOn(d -> d == Deletion.ABSENT).hasSize(199);
  }

  @Test
  void forcedDeletionsRacingCompletionsOf100KeysEachLeaveExactlyOneWinner() throws Exception {
    List<Token> owners = new java.util.ArrayList<>();
    for (int i = 0; i < 100; i++) {
      owners.add(store().claim(key("k" + i), FINGERPRINT, LONG).token());
    }

    List<Object> results = Concurrently.run(200, i -> i % 2 == 0
        ? store().complete(key("k" + i / 2), owners.get(i / 2), CREATED, LONG)
        : store().delete(key("k" + i / 2), true));

    int completedThenDeleted = 0;
    int deletedBeforeCompletion = 0;
    for (int k = 0; k < 100; k++) {
      Object completed = results.get(2 * k);
      Object deletion = results.get(2 * k + 1);
      if (completed.equals(true) && deletion == Deletion.DELETED) {
        completedThenDeleted++;
      } else if (completed.equals(false) && deletion == Deletion.FORCED) {
        deletedBeforeCompletion++;
      }
      assertThat(store().inspect(key("k" + k))).as("key k" + k).isEmpty();
    }
    assertThat(completedThenDeleted + deletedBeforeCompletion).isEqualTo(100);
  }

  private static <T> T await(java.util.concurrent.CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(20, TimeUnit.SECONDS);
  }
}
