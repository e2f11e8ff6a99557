package dev.once.benchmarks.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The Redis mode's server starts from the Maven artifact on this platform and answers. */
class EmbeddedRedisTest {

  @Test
  void embeddedRedisAnswersPingOnItsUrl() throws Exception {
    try (EmbeddedRedis redis = EmbeddedRedis.start()) {
      URI url = URI.create(redis.url());
      assertThat(url.getHost()).isEqualTo("127.0.0.1");
      try (Socket socket = new Socket(url.getHost(), url.getPort())) {
        socket.setSoTimeout(5000);
        socket.getOutputStream().write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
        InputStream in = socket.getInputStream();
        byte[] answer = in.readNBytes(7);
        assertThat(new String(answer, StandardCharsets.US_ASCII)).isEqualTo("+PONG\r\n");
      }
    }
  }

  @Test
  void noRedisProviderIsOnTheClassPathUntilTheRedisStoreModuleIs() {
    // the harness skips the redis mode then; when once-redis is added this becomes true
    assertThat(EmbeddedRedis.providerPresent()).isEqualTo(
        getClass().getClassLoader().getResource("META-INF/services/dev.once.spi.StoreProvider")
            != null);
  }
}
