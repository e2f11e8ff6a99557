package dev.once.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.ImportAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** What a developer sees when an application with a bad once.* property starts. */
@ExtendWith(OutputCaptureExtension.class)
class StartupFailureTest {

  @Configuration(proxyBeanMethods = false)
  @ImportAutoConfiguration(OnceAutoConfiguration.class)
  static class App {}

  @Configuration(proxyBeanMethods = false)
  @ImportAutoConfiguration({OnceRedisStoreAutoConfiguration.class,
      OnceJdbcStoreAutoConfiguration.class, OnceAutoConfiguration.class})
  static class RedisApp {
    @Bean(destroyMethod = "shutdown")
    RedisClient redisClient(@Value("${test.redis-port}") int port) {
      return RedisClient.create(RedisURI.create("127.0.0.1", port));
    }
  }

  @Test
  void aRedisThatCannotBeReachedStopsTheApplicationWithAnAnalysisInsteadOfAStackTrace(
      CapturedOutput output) {
    assertThatThrownBy(() -> new SpringApplicationBuilder(RedisApp.class)
        .web(WebApplicationType.NONE)
        .properties("test.redis-port=" + TestServers.freePort(), "spring.main.banner-mode=off")
        .run().close())
        .hasStackTraceContaining("cannot connect to Redis");

    assertThat(output.getOut() + output.getErr())
        .contains("APPLICATION FAILED TO START")
        .contains("The once idempotency store could not be opened:")
        .contains("cannot connect to Redis")
        .contains("or choose another store with once.store");
  }

  @Test
  void aBadPropertyStopsTheApplicationWithAFailureAnalysisInsteadOfAStackTrace(
      CapturedOutput output) {
    assertThatThrownBy(() -> new SpringApplicationBuilder(App.class)
        .web(WebApplicationType.NONE)
        .properties("once.lease=0s", "spring.main.banner-mode=off")
        .run().close())
        .hasRootCauseInstanceOf(InvalidOncePropertyException.class);

    assertThat(output.getOut() + output.getErr())
        .contains("APPLICATION FAILED TO START")
        .contains("Invalid once configuration:")
        .contains("Property: once.lease")
        .contains("Value: \"0s\"")
        .contains("Reason: lease must be positive, but was PT0S")
        .contains("Update once.lease in your application's configuration");
  }
}
