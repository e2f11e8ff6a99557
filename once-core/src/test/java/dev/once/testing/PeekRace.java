package dev.once.testing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.Fingerprint;
import dev.once.spi.Claim;
import dev.once.spi.IdempotencyStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Races peeks against claims of the same keys, for the tests of stores whose {@link
 * IdempotencyStore#peek} is a plain read: for each key, one thread claims it once while another
 * peeks at it again and again, all released together by a barrier (see {@link Concurrently}).
 * With a read, every claim acquires; with the SPI's default peek (claim, then release) some claims
 * land in between and find the key in progress.
 */
public final class PeekRace {
  private PeekRace() {}

  /**
   * What the race saw.
   *
   * @param claims the claim of each key, in key order
   * @param peeks every peek's answer (null when there was no record), in no particular order
   */
  public record Outcome(List<Claim> claims, List<Claim> peeks) {}

  /**
   * Runs the race: {@code 2 * keys.size()} threads.
   *
   * @param store the store
   * @param keys keys no record exists for yet
   * @param fingerprint the fingerprint the claims give
   * @param peeksPerKey how many times each key is peeked at
   * @return the claims and the peeks
   * @throws Exception the first failure of a store operation
   */
  public static Outcome run(IdempotencyStore store, List<String> keys, Fingerprint fingerprint,
      int peeksPerKey) throws Exception {
    List<List<Claim>> results = Concurrently.run(2 * keys.size(), i -> {
      String key = keys.get(i / 2);
      List<Claim> seen = new ArrayList<>();
      if (i % 2 == 0) {
        seen.add(store.claim(key, fingerprint, Duration.ofMinutes(5)));
      } else {
        for (int n = 0; n < peeksPerKey; n++) {
          seen.add(store.peek(key));
        }
      }
      return seen;
    });
    List<Claim> claims = new ArrayList<>();
    List<Claim> peeks = new ArrayList<>();
    for (int i = 0; i < results.size(); i++) {
      (i % 2 == 0 ? claims : peeks).addAll(results.get(i));
    }
    return new Outcome(claims, peeks);
  }

  /**
   * Runs the race, twenty peeks a key, and asserts what a store whose peek is a plain read gives:
   * every claim acquired, and every peek saw no record or the claim's record in progress.
   *
   * @param keys keys no record exists for yet
   * @throws Exception the first failure of a store operation
   */
  public static void assertPeeksNeverMakeAClaimFindTheKeyInProgress(IdempotencyStore store,
      List<String> keys, Fingerprint fingerprint) throws Exception {
    Outcome race = run(store, keys, fingerprint, 20);

    assertThat(race.claims()).hasSize(keys.size())
        .allMatch(c -> c.state() == Claim.State.ACQUIRED);
    assertThat(race.peeks()).hasSize(keys.size() * 20)
        .allMatch(c -> c == null || c.state() == Claim.State.IN_PROGRESS);
  }
}
