package dev.once;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The bound on direct memory, read from the JVM's arguments as the JDK reads it. */
class SlabArenaDirectLimitTest {
  private static final long HEAP = 384L << 20;

  @Test
  void withoutTheFlagTheBoundIsTheHeaps() {
    assertThat(SlabArena.directLimit(List.of("-Xmx384m", "-XX:+UseSerialGC"), HEAP))
        .isEqualTo(HEAP);
  }

  @Test
  void theFlagIsReadWithItsUnitAndTheLastOneWins() {
    assertThat(SlabArena.directLimit(List.of("-XX:MaxDirectMemorySize=2m"), HEAP))
        .isEqualTo(2L << 20);
    assertThat(SlabArena.directLimit(List.of("-XX:MaxDirectMemorySize=3G"), HEAP))
        .isEqualTo(3L << 30);
    assertThat(SlabArena.directLimit(List.of("-XX:MaxDirectMemorySize=4096"), HEAP))
        .isEqualTo(4096);
    assertThat(SlabArena.directLimit(
        List.of("-XX:MaxDirectMemorySize=1k", "-XX:MaxDirectMemorySize=64k"), HEAP))
        .isEqualTo(64L << 10);
  }

  @Test
  void aValueTheJdkWouldNotHaveTakenLeavesTheHeapsBound() {
    assertThat(SlabArena.directLimit(List.of("-XX:MaxDirectMemorySize=lots"), HEAP))
        .isEqualTo(HEAP);
    assertThat(SlabArena.directLimit(List.of("-XX:MaxDirectMemorySize=99999999999t"), HEAP))
        .isEqualTo(HEAP);
  }
}
