package dev.once.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class StoreUrlsTest {

  @Test
  void credentialsAreNeverShown() {
    assertThat(StoreUrls.redact("redis://:s3cret@cache:6379/0")).isEqualTo("redis://***@cache:6379/0");
    assertThat(StoreUrls.redact("rediss://user:pw@cache:6380")).isEqualTo("rediss://***@cache:6380");
    assertThat(StoreUrls.redact("jdbc:postgresql://db:5432/app?user=once&password=pw&ssl=true"))
        .isEqualTo("jdbc:postgresql://db:5432/app?user=once&password=***&ssl=true");
    assertThat(StoreUrls.redact("redis://cache:6379/0?token=abc"))
        .isEqualTo("redis://cache:6379/0?token=***");
    assertThat(StoreUrls.redact("memory")).isEqualTo("memory");
  }

  /** Found by ProxyFlagsFuzzTest: a password holding a '/', '?' or '#' was shown. */
  @Test
  void userInformationEndsAtTheLastAtWhateverItHolds() {
    assertThat(StoreUrls.redact("rediss://u:pa55/w0rd@cache:6380"))
        .isEqualTo("rediss://***@cache:6380");
    assertThat(StoreUrls.redact("redis://:pa55?w0rd@cache:6379/0"))
        .isEqualTo("redis://***@cache:6379/0");
    assertThat(StoreUrls.redact("redis://:pa55#w0rd@cache")).isEqualTo("redis://***@cache");
    // an '@' that is not the user information's hides more than it needed to, never less
    assertThat(StoreUrls.redact("redis://cache:6379/a@b")).isEqualTo("redis://***@b");
  }

  @Test
  void theTypeIsTheScheme() {
    assertThat(StoreUrls.type("memory")).isEqualTo("memory");
    assertThat(StoreUrls.type("redis://:pw@cache:6379")).isEqualTo("redis");
    assertThat(StoreUrls.type("redis-cluster://a:1,b:2")).isEqualTo("redis-cluster");
    assertThat(StoreUrls.type("jdbc:postgresql://db/app")).isEqualTo("jdbc:postgresql");
  }
}
