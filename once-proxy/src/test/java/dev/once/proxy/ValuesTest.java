package dev.once.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class ValuesTest {

  @Test
  void durationsTakeTheUnitsOfTheFlagsAndIso8601() {
    assertThat(Values.duration("500ms")).isEqualTo(Duration.ofMillis(500));
    assertThat(Values.duration("30s")).isEqualTo(Duration.ofSeconds(30));
    assertThat(Values.duration("5m")).isEqualTo(Duration.ofMinutes(5));
    assertThat(Values.duration("24h")).isEqualTo(Duration.ofHours(24));
    assertThat(Values.duration("2d")).isEqualTo(Duration.ofDays(2));
    assertThat(Values.duration("1h30m")).isEqualTo(Duration.ofMinutes(90));
    assertThat(Values.duration("1m500ms")).isEqualTo(Duration.ofMillis(60_500));
    assertThat(Values.duration("0")).isEqualTo(Duration.ZERO);
    assertThat(Values.duration("0s")).isEqualTo(Duration.ZERO);
    assertThat(Values.duration(" 30s ")).isEqualTo(Duration.ofSeconds(30));
    assertThat(Values.duration("PT30S")).isEqualTo(Duration.ofSeconds(30));
    assertThat(Values.duration("pt1h")).isEqualTo(Duration.ofHours(1));
    assertThat(Values.duration("P1D")).isEqualTo(Duration.ofDays(1));
  }

  @Test
  void aBadDurationIsRefusedWithTheFormsItCouldHaveBeen() {
    for (String bad : new String[] {"", "30", "5x", "s", "1.5s", "-1s", "30 s", "PT-1S", "Pxyz",
        "1h 30m", "10sec"}) {
      assertThatThrownBy(() -> Values.duration(bad)).as(bad)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("\"" + bad + "\"");
    }
    assertThatThrownBy(() -> Values.duration("5x"))
        .hasMessage("\"5x\" is not a duration (use 500ms, 30s, 5m, 24h, 1h30m or ISO-8601 like PT30S)");
    assertThatThrownBy(() -> Values.duration("99999999999999999999s"))
        .hasMessageContaining("too long");
    assertThatThrownBy(() -> Values.duration("PT-1S")).hasMessageContaining("negative");
  }

  @Test
  void sizesTakeBinaryAndDecimalUnitsOrBytes() {
    assertThat(Values.size("1048576")).isEqualTo(1 << 20);
    assertThat(Values.size("0")).isZero();
    assertThat(Values.size("512KiB")).isEqualTo(512 * 1024);
    assertThat(Values.size("1MiB")).isEqualTo(1 << 20);
    assertThat(Values.size("1mib")).isEqualTo(1 << 20);
    assertThat(Values.size("2GiB")).isEqualTo(2L << 30);
    assertThat(Values.size("100B")).isEqualTo(100);
    assertThat(Values.size("1KB")).isEqualTo(1000);
    assertThat(Values.size("3MB")).isEqualTo(3_000_000);
    assertThat(Values.size("1 MiB")).isEqualTo(1 << 20);
  }

  @Test
  void aBadSizeIsRefusedWithTheFormsItCouldHaveBeen() {
    assertThatThrownBy(() -> Values.size("1.5MiB"))
        .hasMessage("\"1.5MiB\" is not a size (use 512KiB, 1MiB, 1GiB or a number of bytes)");
    assertThatThrownBy(() -> Values.size("1TiB"))
        .hasMessage("\"1TiB\" has an unknown unit \"TiB\" (use 512KiB, 1MiB, 1GiB or a number of"
            + " bytes)");
    assertThatThrownBy(() -> Values.size("-1")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Values.size("")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Values.size("99999999999GiB")).hasMessageContaining("too large");
  }

  @Test
  void durationsAreShownTheWayTheyAreWritten() {
    assertThat(Values.format(Duration.ZERO)).isEqualTo("0s");
    assertThat(Values.format(Duration.ofMillis(500))).isEqualTo("500ms");
    assertThat(Values.format(Duration.ofMillis(1500))).isEqualTo("1500ms");
    assertThat(Values.format(Duration.ofSeconds(30))).isEqualTo("30s");
    assertThat(Values.format(Duration.ofMinutes(90))).isEqualTo("1h30m");
    assertThat(Values.format(Duration.ofHours(24))).isEqualTo("1d");
  }
}
