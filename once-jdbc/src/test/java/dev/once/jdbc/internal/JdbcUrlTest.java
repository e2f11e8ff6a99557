package dev.once.jdbc.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.spi.StoreUrl;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class JdbcUrlTest {
  private static JdbcStoreProvider.JdbcUrl parse(String url) {
    return JdbcStoreProvider.JdbcUrl.parse(StoreUrl.parse(url));
  }

  /** The one grammar of durations, and the whole seconds the option took before it. */
  @Test
  void theQueryTimeoutIsADurationOrWholeSeconds() {
    assertThat(parse("jdbc:postgresql://db/app?once.queryTimeout=1m30s").queryTimeout)
        .isEqualTo(Duration.ofSeconds(90));
    assertThat(parse("jdbc:postgresql://db/app?once.queryTimeout=PT2S").queryTimeout)
        .isEqualTo(Duration.ofSeconds(2));
    assertThat(parse("jdbc:postgresql://db/app?once.queryTimeout=7").queryTimeout)
        .isEqualTo(Duration.ofSeconds(7));
  }

  @Test
  void onceOptionsAreTakenOutAndTheDriversKeptInTheirOrder() {
    JdbcStoreProvider.JdbcUrl url = parse("jdbc:postgresql://db/app?user=once&once.poolSize=3"
        + "&password=pw&once.table=records&ssl=true");

    assertThat(url.jdbcUrl).isEqualTo("jdbc:postgresql://db/app?user=once&password=pw&ssl=true");
    assertThat(url.poolSize).isEqualTo(3);
    assertThat(url.table).isEqualTo("records");
    assertThat(url.url.redacted())
        .isEqualTo("jdbc:postgresql://db/app?user=once&once.poolSize=3&password=***"
            + "&once.table=records&ssl=true");
  }
}
