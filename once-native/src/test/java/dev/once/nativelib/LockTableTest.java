package dev.once.nativelib;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.spi.Token;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class LockTableTest {
  private static final long LEASE = 60_000_000_000L;

  private final AtomicLong now = new AtomicLong();
  private final LockTable table = new LockTable(now::get);

  @Test
  void idsArePositiveAndDistinctAndMapToTheirKeyAndToken() {
    Token a = Token.random();
    Token b = Token.random();

    int first = table.add("a", a, LEASE);
    int second = table.add("b", b, LEASE);

    assertThat(first).isPositive();
    assertThat(second).isPositive().isNotEqualTo(first);
    assertThat(table.forKey("a").token()).isEqualTo(a);
    assertThat(table.remove(second).key()).isEqualTo("b");
    assertThat(table.remove(second)).isNull();
    assertThat(table.forKey("b")).isNull();
  }

  @Test
  void theNewestLockOnAKeyIsTheOneFoundAndRemovingAnOlderOneKeepsIt() {
    int old = table.add("k", Token.random(), LEASE);
    Token current = Token.random();
    table.add("k", current, LEASE);

    table.remove(old);

    assertThat(table.forKey("k").token()).isEqualTo(current);
  }

  @Test
  void locksNeverUnlockedAreSweptOnceTheirLeasePasses() {
    for (int i = 0; i < 100; i++) {
      table.add("old-" + i, Token.random(), LEASE);
    }
    now.addAndGet(LEASE + 1);
    int live = table.add("live", Token.random(), LEASE);

    table.sweep();

    assertThat(table.size()).isEqualTo(1);
    assertThat(table.forKey("old-1")).isNull();
    assertThat(table.forKey("live").id()).isEqualTo(live);
  }

  @Test
  void addingSweepsEveryFewThousandSoTheTableStaysBoundedWithoutUnlocks() {
    for (int i = 0; i < 10 * LockTable.SWEEP_EVERY; i++) {
      table.add("k" + i, Token.random(), LEASE);
      now.addAndGet(LEASE / LockTable.SWEEP_EVERY);
    }

    assertThat(table.size()).isLessThanOrEqualTo(2 * LockTable.SWEEP_EVERY);
  }

  @Test
  void aRenewedLockIsNotSweptAndADeadlineNeverMovesBack() {
    int id = table.add("k", Token.random(), LEASE);
    LockTable.Held held = table.forKey("k");

    held.extendTo(2 * LEASE);
    held.extendTo(LEASE / 2); // a renewal that answered late
    now.addAndGet(LEASE + 1);
    table.sweep();

    assertThat(held.deadline()).isEqualTo(2 * LEASE);
    assertThat(table.forKey("k").id()).isEqualTo(id);
  }

  @Test
  void dropTakesOutTheLockAsItIsOnceAndLeavesANewerLockOnTheKeyAlone() {
    table.add("k", Token.random(), LEASE);
    LockTable.Held old = table.forKey("k");
    table.remove(old.id());
    int newer = table.add("k", Token.random(), LEASE);

    assertThat(table.drop(old)).isFalse();
    assertThat(table.forKey("k").id()).isEqualTo(newer);
    LockTable.Held current = table.forKey("k");
    assertThat(table.drop(current)).isTrue();
    assertThat(table.drop(current)).isFalse();
    assertThat(table.forKey("k")).isNull();
    assertThat(table.held()).isEmpty();
  }

  @Test
  void idsWrapFromMaxValueToOneNeverToZeroOrBelow() {
    LockTable nearTheEnd = new LockTable(now::get, Integer.MAX_VALUE - 2);

    int second = nearTheEnd.add("a", Token.random(), LEASE);
    int last = nearTheEnd.add("b", Token.random(), LEASE);
    int wrapped = nearTheEnd.add("c", Token.random(), LEASE);

    assertThat(second).isEqualTo(Integer.MAX_VALUE - 1);
    assertThat(last).isEqualTo(Integer.MAX_VALUE);
    assertThat(wrapped).isEqualTo(1);
    assertThat(nearTheEnd.forKey("c").id()).isEqualTo(1);
  }
}
