package dev.once.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.Once;

/** Compares two engines option by option, naming the option that differs. */
final class SameOptions {
  private SameOptions() {}

  static void assertSameOptions(Once actual, Once expected) {
    assertThat(actual.header()).as("header").isEqualTo(expected.header());
    assertThat(actual.ttl()).as("ttl").isEqualTo(expected.ttl());
    assertThat(actual.requireKey()).as("requireKey").isEqualTo(expected.requireKey());
    assertThat(actual.cacheableStatuses()).as("cacheableStatuses")
        .isEqualTo(expected.cacheableStatuses());
    assertThat(actual.requestHashCheck()).as("requestHashCheck")
        .isEqualTo(expected.requestHashCheck());
    assertThat(actual.lease()).as("lease").isEqualTo(expected.lease());
    assertThat(actual.maxWait()).as("maxWait").isEqualTo(expected.maxWait());
    assertThat(actual.bodyTimeout()).as("bodyTimeout").isEqualTo(expected.bodyTimeout());
    assertThat(actual.methods()).as("methods").isEqualTo(expected.methods());
    assertThat(actual.maxKeyLength()).as("maxKeyLength").isEqualTo(expected.maxKeyLength());
    assertThat(actual.maxBodyBytes()).as("maxBodyBytes").isEqualTo(expected.maxBodyBytes());
    assertThat(actual.maxResponseBytes()).as("maxResponseBytes")
        .isEqualTo(expected.maxResponseBytes());
    assertThat(actual.failOpen()).as("failOpen").isEqualTo(expected.failOpen());
    assertThat(actual.excludedHeaders()).as("excludedHeaders")
        .isEqualTo(expected.excludedHeaders());
    assertThat(actual.unknownOutcome()).as("unknownOutcome")
        .isEqualTo(expected.unknownOutcome());
  }
}
