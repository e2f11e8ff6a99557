package dev.once.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class ConfigTextTest {

  @Test
  void durationsTakeUnitsSequencesOfThemAndIso8601() {
    assertThat(ConfigText.duration("500ms")).isEqualTo(Duration.ofMillis(500));
    assertThat(ConfigText.duration("30s")).isEqualTo(Duration.ofSeconds(30));
    assertThat(ConfigText.duration("5m")).isEqualTo(Duration.ofMinutes(5));
    assertThat(ConfigText.duration("24h")).isEqualTo(Duration.ofHours(24));
    assertThat(ConfigText.duration("2d")).isEqualTo(Duration.ofDays(2));
    assertThat(ConfigText.duration("1h30m")).isEqualTo(Duration.ofMinutes(90));
    assertThat(ConfigText.duration("1m500ms")).isEqualTo(Duration.ofMillis(60_500));
    assertThat(ConfigText.duration("0")).isEqualTo(Duration.ZERO);
    assertThat(ConfigText.duration("0s")).isEqualTo(Duration.ZERO);
    assertThat(ConfigText.duration(" 30s ")).isEqualTo(Duration.ofSeconds(30));
    assertThat(ConfigText.duration("PT30S")).isEqualTo(Duration.ofSeconds(30));
    assertThat(ConfigText.duration("pt1h")).isEqualTo(Duration.ofHours(1));
    assertThat(ConfigText.duration("P1D")).isEqualTo(Duration.ofDays(1));
  }

  @Test
  void aBadDurationIsRefusedWithTheFormsItCouldHaveBeen() {
    for (String bad : new String[] {"", "30", "5x", "s", "1.5s", "-1s", "30 s", "PT-1S", "Pxyz",
        "1h 30m", "10sec", "30S"}) {
      assertThatThrownBy(() -> ConfigText.duration(bad)).as(bad)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("\"" + bad + "\"");
    }
    assertThatThrownBy(() -> ConfigText.duration("5x"))
        .hasMessage("\"5x\" is not a duration (use 500ms, 30s, 5m, 24h, 1h30m or ISO-8601 like"
            + " PT30S)");
    assertThatThrownBy(() -> ConfigText.duration("99999999999999999999s"))
        .hasMessage("\"99999999999999999999s\" is too long a duration");
    assertThatThrownBy(() -> ConfigText.duration("PT-1S")).hasMessage("\"PT-1S\" is negative");
  }

  @Test
  void sizesTakeBinaryAndDecimalUnitsOrBytes() {
    assertThat(ConfigText.size("1048576")).isEqualTo(1 << 20);
    assertThat(ConfigText.size("0")).isZero();
    assertThat(ConfigText.size("512KiB")).isEqualTo(512 * 1024);
    assertThat(ConfigText.size("64KB")).isEqualTo(64_000);
    assertThat(ConfigText.size("1MiB")).isEqualTo(1 << 20);
    assertThat(ConfigText.size("1mib")).isEqualTo(1 << 20);
    assertThat(ConfigText.size("3MB")).isEqualTo(3_000_000);
    assertThat(ConfigText.size("2GiB")).isEqualTo(2L << 30);
    assertThat(ConfigText.size("2GB")).isEqualTo(2_000_000_000L);
    assertThat(ConfigText.size("100B")).isEqualTo(100);
    assertThat(ConfigText.size("1 MiB")).isEqualTo(1 << 20);
  }

  @Test
  void aBadSizeIsRefusedWithTheFormsItCouldHaveBeen() {
    assertThatThrownBy(() -> ConfigText.size("1.5MiB"))
        .hasMessage("\"1.5MiB\" is not a size (use 512KiB, 1MiB, 1GiB or a number of bytes)");
    assertThatThrownBy(() -> ConfigText.size("1TiB"))
        .hasMessage("\"1TiB\" has an unknown unit \"TiB\" (use 512KiB, 1MiB, 1GiB or a number of"
            + " bytes)");
    assertThatThrownBy(() -> ConfigText.size("-1")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> ConfigText.size("")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> ConfigText.size("99999999999GiB"))
        .hasMessage("\"99999999999GiB\" is too large a size");
  }

  @Test
  void durationsAreWrittenTheWayTheyAreRead() {
    assertThat(ConfigText.format(Duration.ZERO)).isEqualTo("0s");
    assertThat(ConfigText.format(Duration.ofMillis(500))).isEqualTo("500ms");
    assertThat(ConfigText.format(Duration.ofMillis(1500))).isEqualTo("1500ms");
    assertThat(ConfigText.format(Duration.ofSeconds(30))).isEqualTo("30s");
    assertThat(ConfigText.format(Duration.ofMinutes(90))).isEqualTo("1h30m");
    // found by JdbcStoreUrlFuzzTest in a 10-minute run: a message quoting a long duration threw
    assertThat(ConfigText.format(Duration.ofSeconds(Long.MAX_VALUE)))
        .isEqualTo("106751991167300d15h30m7s");
    assertThat(ConfigText.format(Duration.ofSeconds(Long.MAX_VALUE / 1000, 5_000_000)))
        .endsWith("s");
    assertThat(ConfigText.format(Duration.ofHours(24))).isEqualTo("1d");
  }

  /**
   * The cases the C library's reading of {@code ONCE_LEASE} runs too (once-native's test_once
   * reads this file), so the two implementations of the grammar accept the same texts.
   */
  @Test
  void theSharedDurationCasesReadAsTheySay() throws IOException {
    for (String[] row : durationCases()) {
      if (row[1].equals("error")) {
        assertThatThrownBy(() -> ConfigText.duration(row[0])).as(row[0])
            .isInstanceOf(IllegalArgumentException.class);
      } else {
        assertThat(ConfigText.duration(row[0]).toMillis()).as(row[0])
            .isEqualTo(Long.parseLong(row[1]));
      }
    }
  }

  /** @return each case of {@code duration-cases.txt}: the text, and its millis or error */
  static List<String[]> durationCases() throws IOException {
    try (InputStream in = ConfigTextTest.class.getResourceAsStream("duration-cases.txt")) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines()
          .filter(line -> line.startsWith("\""))
          .map(line -> {
            int close = line.lastIndexOf('"');
            return new String[] {line.substring(1, close), line.substring(close + 1).trim()};
          })
          .toList();
    }
  }
}
