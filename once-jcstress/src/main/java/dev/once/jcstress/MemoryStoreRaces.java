package dev.once.jcstress;

import static dev.once.jcstress.Records.CREATED;
import static dev.once.jcstress.Records.FINGERPRINT;
import static dev.once.jcstress.Records.KEY;
import static dev.once.jcstress.Records.LEASE;
import static dev.once.jcstress.Records.TTL;
import static dev.once.jcstress.Records.bool;
import static dev.once.jcstress.Records.state;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;

import dev.once.MemoryStore;
import dev.once.spi.Token;
import java.time.Instant;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.III_Result;
import org.openjdk.jcstress.infra.results.II_Result;

/**
 * The races of {@link MemoryStore}'s operations on one key. Every outcome not listed as acceptable
 * is forbidden: jcstress fails the run if it is ever seen.
 */
public final class MemoryStoreRaces {
  private MemoryStoreRaces() {}

  /** Two claims of a free key: exactly one acquires. */
  @JCStressTest
  @Description("Of two concurrent claims of one key, exactly one acquires.")
  @Outcome(id = "0, 1", expect = ACCEPTABLE, desc = "the first acquired, the second saw it")
  @Outcome(id = "1, 0", expect = ACCEPTABLE, desc = "the second acquired, the first saw it")
  @State
  public static class ClaimVersusClaim {
    private final MemoryStore store = Records.store(null);

    @Actor
    public void first(II_Result r) {
      r.r1 = state(store.claim(KEY, FINGERPRINT, LEASE));
    }

    @Actor
    public void second(II_Result r) {
      r.r2 = state(store.claim(KEY, FINGERPRINT, LEASE));
    }
  }

  /** A completion racing a claim: the claim never acquires a key whose owner completes it. */
  @JCStressTest
  @Description("A claim racing the owner's complete sees the record in progress or completed.")
  @Outcome(id = "1, 1", expect = ACCEPTABLE, desc = "the claim came first: in progress")
  @Outcome(id = "1, 2", expect = ACCEPTABLE, desc = "the completion came first: completed")
  @State
  public static class CompleteVersusClaim {
    private final MemoryStore store = Records.store(null);
    private final Token owner = store.claim(KEY, FINGERPRINT, LEASE).token();

    @Actor
    public void complete(II_Result r) {
      r.r1 = bool(store.complete(KEY, owner, CREATED, TTL));
    }

    @Actor
    public void claim(II_Result r) {
      r.r2 = state(store.claim(KEY, FINGERPRINT, LEASE));
    }
  }

  /** A release racing a claim: the claim acquires only after the release, and then holds it. */
  @JCStressTest
  @Description("A claim racing the owner's release acquires only what the release freed.")
  @Outcome(id = "1, 1, 3", expect = ACCEPTABLE, desc = "claim saw it in progress, then released")
  @Outcome(id = "1, 0, 1", expect = ACCEPTABLE, desc = "released, then the claim acquired it")
  @State
  public static class ReleaseVersusClaim {
    private final MemoryStore store = Records.store(null);
    private final Token owner = store.claim(KEY, FINGERPRINT, LEASE).token();

    @Actor
    public void release(III_Result r) {
      r.r1 = bool(store.release(KEY, owner));
    }

    @Actor
    public void claim(III_Result r) {
      r.r2 = state(store.claim(KEY, FINGERPRINT, LEASE));
    }

    @Arbiter
    public void after(III_Result r) {
      r.r3 = state(store.peek(KEY));
    }
  }

  /** The owner completing and releasing at once (two of its threads): exactly one acts. */
  @JCStressTest
  @Description("An owner's racing complete and release: exactly one acts, the record agrees.")
  @Outcome(id = "1, 0, 2", expect = ACCEPTABLE, desc = "completed")
  @Outcome(id = "0, 1, 3", expect = ACCEPTABLE, desc = "released")
  @State
  public static class CompleteVersusRelease {
    private final MemoryStore store = Records.store(null);
    private final Token owner = store.claim(KEY, FINGERPRINT, LEASE).token();

    @Actor
    public void complete(III_Result r) {
      r.r1 = bool(store.complete(KEY, owner, CREATED, TTL));
    }

    @Actor
    public void release(III_Result r) {
      r.r2 = bool(store.release(KEY, owner));
    }

    @Arbiter
    public void after(III_Result r) {
      r.r3 = state(store.peek(KEY));
    }
  }

  /** A renewal racing a completion by the same owner: the completion always wins the record. */
  @JCStressTest
  @Description("An owner's renewal racing its completion never stops the completion.")
  @Outcome(id = "1, 1, 2", expect = ACCEPTABLE, desc = "renewed, then completed")
  @Outcome(id = "0, 1, 2", expect = ACCEPTABLE, desc = "completed, then the renewal was refused")
  @State
  public static class RenewVersusComplete {
    private final MemoryStore store = Records.store(null);
    private final Token owner = store.claim(KEY, FINGERPRINT, LEASE).token();

    @Actor
    public void renew(III_Result r) {
      r.r1 = bool(store.renew(KEY, owner, LEASE));
    }

    @Actor
    public void complete(III_Result r) {
      r.r2 = bool(store.complete(KEY, owner, CREATED, TTL));
    }

    @Arbiter
    public void after(III_Result r) {
      r.r3 = state(store.peek(KEY));
    }
  }

  /**
   * The lease ends between the owner's renewal and another's claim: the renewer's clock reads just
   * before the end, the claimer's just after. Either the renewal lands first and the claim finds
   * the record alive, or the claim takes it over and the renewal is refused; never both, which
   * would let two requests own one key.
   */
  @JCStressTest
  @Description("A renewal at the lease's last moment racing a takeover: never both succeed.")
  @Outcome(id = "1, 1, 1", expect = ACCEPTABLE, desc = "renewed; the claim found it in progress")
  @Outcome(id = "0, 0, 0", expect = ACCEPTABLE, desc = "taken over; the renewal was refused")
  @State
  public static class RenewVersusTakeover {
    private final Records.ThreadClock clock =
        new Records.ThreadClock(Instant.parse("2026-01-01T00:00:00Z"));
    private final MemoryStore store = Records.store(clock);
    private final Token owner = store.claim(KEY, FINGERPRINT, LEASE).token();

    @Actor
    public void renew(III_Result r) {
      clock.set(LEASE.minusMillis(1));
      r.r1 = bool(store.renew(KEY, owner, LEASE));
    }

    @Actor
    public void claim(III_Result r) {
      clock.set(LEASE.plusMillis(1));
      r.r2 = state(store.claim(KEY, FINGERPRINT, LEASE));
    }

    @Arbiter
    public void after(III_Result r) {
      clock.set(LEASE.plusMillis(2));
      // the original owner still owns the key exactly when its renewal landed
      r.r3 = bool(store.complete(KEY, owner, CREATED, TTL));
    }
  }
}
