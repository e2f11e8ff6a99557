package dev.once.spi;

import static dev.once.testing.Refusals.refusalOf;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class StoreUrlTest {

  @Test
  void theSchemeIsInLowerCaseAndAJdbcUrlsTakesItsSubProtocol() {
    assertThat(StoreUrl.parse("memory").scheme()).isEqualTo("memory");
    assertThat(StoreUrl.parse("REDIS://:pw@cache:6379").scheme()).isEqualTo("redis");
    assertThat(StoreUrl.parse("redis-cluster://a:1,b:2").scheme()).isEqualTo("redis-cluster");
    assertThat(StoreUrl.parse("jdbc:postgresql://db/app").scheme()).isEqualTo("jdbc:postgresql");
    assertThat(StoreUrl.parse("jdbc:postgresql:app?user=x").scheme()).isEqualTo("jdbc:postgresql");
    assertThat(StoreUrl.parse("memory?maximumRecords=1").scheme()).isEqualTo("memory");
  }

  @Test
  void theRedactedFormHidesUserInformationAndPasswordParameters() {
    assertThat(StoreUrl.parse("redis://:s3cret@cache:6379/0").redacted())
        .isEqualTo("redis://***@cache:6379/0");
    assertThat(StoreUrl.parse("rediss://user:pw@cache:6380").toString())
        .isEqualTo("rediss://***@cache:6380");
    assertThat(StoreUrl.parse("jdbc:postgresql://db:5432/app?user=once&password=pw&ssl=true")
        .redacted()).isEqualTo("jdbc:postgresql://db:5432/app?user=once&password=***&ssl=true");
    assertThat(StoreUrl.parse("redis://cache:6379/0?token=abc").redacted())
        .isEqualTo("redis://cache:6379/0?token=***");
    assertThat(StoreUrl.parse("memory").redacted()).isEqualTo("memory");
    // found by JdbcStoreUrlFuzzTest: a "password=" before the '?' was shown
    assertThat(StoreUrl.redact("jdbc:postgresql://epassword=c.b&P?x=1"))
        .isEqualTo("jdbc:postgresql://epassword=***&P?x=1");
    assertThat(StoreUrl.redact("jdbc:postgresql://db/app?sslpassword=k&user=u"))
        .isEqualTo("jdbc:postgresql://db/app?sslpassword=***&user=u");
  }

  /** Found by JdbcStoreUrlFuzzTest in a 10-minute run: the part after a ';' was shown. */
  @Test
  void aPasswordHoldingSemicolonsIsHiddenToTheNextAmpersand() {
    assertThat(StoreUrl.redact("jdbc:postgresql://db/app?password=;;se;cret&once.table=t"))
        .isEqualTo("jdbc:postgresql://db/app?password=***&once.table=t");
    assertThat(StoreUrl.parse("redis://cache?password=a;b;c").redacted())
        .isEqualTo("redis://cache?password=***");
  }

  /** Found by JdbcStoreUrlFuzzTest: the part of a password parameter after its '@' was shown. */
  @Test
  void aPasswordParameterHoldingAnAtSignIsHiddenWhole() {
    // its '@' is taken for the end of user information too, which hides more, never less
    assertThat(StoreUrl.redact("jdbc:postgresql://db/app?user=u&password=p@ssw0rd"))
        .isEqualTo("jdbc:postgresql://***");
    // the '@' in the parameter ends the user information too: the union of both is hidden
    assertThat(StoreUrl.redact("redis://:s3cret@cache/0?password=x@tail&a=1"))
        .isEqualTo("redis://***&a=1");
  }

  /** Found by ProxyFlagsFuzzTest: a parameter value holding "://" hid the user information. */
  @Test
  void aParameterValueHoldingTheSchemeSeparatorStillLeavesTheUserInformationHidden() {
    assertThat(StoreUrl.redact("jdbc:x?password=://host&u=a:s3cretpw@rest"))
        .isEqualTo("jdbc:x?password=***@rest");
    assertThat(StoreUrl.redact("redis://cache?password=")).isEqualTo("redis://cache?password=***");
  }

  /** A password may hold what would end the user information for a URL parser. */
  @ParameterizedTest(name = "[{index}] {0} is shown as {1}")
  @CsvSource(delimiter = '|', value = {
      "rediss://u:pa55/w0rd@cache:6380 | rediss://***@cache:6380",
      "redis://:pa55?w0rd@cache:6379/0 | redis://***@cache:6379/0",
      "redis://:pa55#w0rd@cache        | redis://***@cache",
      "rediss://app:pa55://h@host      | rediss://***@host",
      "redis://cache:6379/a@b          | redis://***@b"})
  void theUserInformationRunsToTheLastAtSign(String url, String shown) {
    assertThat(StoreUrl.redact(url)).isEqualTo(shown);
  }

  @Test
  void aMessageQuotingTheUrlsSecretsShowsThemHidden() {
    StoreUrl url = StoreUrl.parse("redis://user:pa%2Fss@cache?password=t0ken");

    assertThat(url.hideSecrets("bad password pa/ss for user:pa%2Fss, then t0ken"))
        .isEqualTo("bad password *** for ***, then ***");
    assertThat(url.hideSecrets("cannot reach redis://user:pa%2Fss@cache"))
        .isEqualTo("cannot reach redis://***@cache");
  }

  @Test
  void parametersAreBoundWithTheOneGrammarAndTheSettersChecks() {
    StoreUrl url = StoreUrl.parse(
        "x://h?prefix=a%3Ab&timeout=1h30m&bytes=16MiB&threads=4&create=TRUE&records=5000000000");
    List<Object> bound = new ArrayList<>();

    assertThat(url.bindString("prefix", bound::add)).isTrue();
    url.bindDuration("timeout", bound::add);
    url.bindSize("bytes", bound::add);
    url.bindInt("threads", bound::add);
    url.bindBoolean("create", bound::add);
    url.bindLong("records", bound::add);
    assertThat(url.bindDuration("absent", bound::add)).isFalse();

    assertThat(bound).containsExactly("a:b", Duration.ofMinutes(90), 16L << 20, 4, true,
        5_000_000_000L);
  }

  @Test
  void aBadValueNamesTheParameterAndTheRedactedUrl() {
    StoreUrl url = StoreUrl.parse("x://:pw@h?timeout=soon&wait=0s&n=many&on=yes&p=%zz");

    refusalOf(() -> url.bindDuration("timeout", value -> { }))
        .isEqualTo("timeout: \"soon\" is not a duration (use 500ms, 30s, 5m, 24h, 1h30m or"
            + " ISO-8601 like PT30S) in store URL x://***@h?timeout=soon&wait=0s&n=many&on=yes"
            + "&p=%zz");
    refusalOf(() -> url.bindDuration("wait", value -> {
      throw new IllegalArgumentException("wait must be positive, but was " + value);
    })).startsWith("wait=0s in store URL x://***@h?")
        .endsWith(": wait must be positive, but was PT0S");
    refusalOf(() -> url.bindInt("n", value -> { }))
        .startsWith("n: \"many\" is not a whole number in store URL");
    refusalOf(() -> url.bindBoolean("on", value -> { }))
        .startsWith("on: \"yes\" is not true or false in store URL");
    refusalOf(() -> url.bindString("p", value -> { }))
        .startsWith("p is not percent-encoded correctly in store URL");
  }

  @Test
  void anUnknownParameterIsRefusedNamingTheKnownOnes() {
    StoreUrl url = StoreUrl.parse("x://:pw@h?timeout=1s&clientName=a&tmeout=2s");

    refusalOf(() -> url.refuseUnknownParameters(List.of("timeout"),
        Set.of("clientName")::contains, "the client's clientName"))
        .isEqualTo("unknown parameter \"tmeout\" in store URL x://***@h?timeout=1s&clientName=a"
            + "&tmeout=2s (known: timeout, and the client's clientName)");
    assertThat(url.query(Set.of("clientName", "tmeout")::contains))
        .isEqualTo("clientName=a&tmeout=2s");
    assertThat(url.parameterNames()).containsExactly("timeout", "clientName", "tmeout");
  }
}
