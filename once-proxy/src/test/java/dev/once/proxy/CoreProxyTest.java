package dev.once.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.suite.Http;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The gate experiment's proxy ({@link CoreProxy}, on Jetty's core ProxyHandler) really forwards,
 * so that what the benchmark measures of it is a proxy's work.
 */
class CoreProxyTest {
  private Upstream upstream;
  private Server proxy;

  @BeforeEach
  void start() throws Exception {
    upstream = Upstream.start().handle("/payments", Upstream.json(201));
    proxy = CoreProxy.start(upstream.uri(), "127.0.0.1", 0);
  }

  @AfterEach
  void stop() throws Exception {
    proxy.stop();
    upstream.close();
  }

  @Test
  void aPostWithItsBodyReachesTheUpstreamAndItsAnswerComesBack() throws Exception {
    URI target = URI.create(CoreProxy.uri(proxy) + "/payments/7?q=a%20b&x=1");

    HttpResponse<String> response = Http.send(HttpRequest.newBuilder(target)
        .POST(BodyPublishers.ofString("{\"amount\":5}"))
        .header("Content-Type", "application/json")
        .header("X-Custom", "one")
        .header("X-Forwarded-For", "203.0.113.9"));

    Upstream.Seen seen = upstream.next();
    assertThat(response.statusCode()).isEqualTo(201);
    assertThat(response.body()).isEqualTo("{\"run\":1}");
    assertThat(response.headers().firstValue("Content-Type")).hasValue("application/json");
    assertThat(seen.method).isEqualTo("POST");
    assertThat(seen.uri.getRawPath()).isEqualTo("/payments/7");
    assertThat(seen.uri.getRawQuery()).isEqualTo("q=a%20b&x=1");
    assertThat(seen.body()).isEqualTo("{\"amount\":5}");
    assertThat(seen.header("Content-type")).isEqualTo("application/json");
    assertThat(seen.header("X-custom")).isEqualTo("one");
    assertThat(seen.header("X-forwarded-for")).isEqualTo("203.0.113.9, 127.0.0.1");
    assertThat(seen.header("X-forwarded-proto")).isEqualTo("http");
    assertThat(seen.header("X-forwarded-host")).isEqualTo(target.getRawAuthority());
    assertThat(seen.header("Host")).isEqualTo(upstream.uri().getRawAuthority());
    assertThat(seen.header("Via")).isEqualTo("1.1 once-proxy");
  }

  @Test
  void theAnsweringServerReadsEachBodyAndAnswers201ItselfOnOneConnection() throws Exception {
    Server answering = CoreProxy.startAnswering("127.0.0.1", 0);
    try {
      String head = "POST /payments HTTP/1.1\r\nHost: h\r\nContent-Length: 12\r\n";
      int port = ((ServerConnector) answering.getConnectors()[0]).getLocalPort();
      String answers = Http.raw(port,
          head + "\r\n{\"amount\":5}" + head + "Connection: close\r\n\r\n{\"amount\":6}");

      assertThat(answers.split("HTTP/1.1 201 Created", -1)).hasSize(3);
      assertThat(answers).endsWith("{\"id\":1}").contains("Content-Type: application/json");
      assertThat(upstream.hits("/payments")).isZero();
    } finally {
      answering.stop();
    }
  }
}
