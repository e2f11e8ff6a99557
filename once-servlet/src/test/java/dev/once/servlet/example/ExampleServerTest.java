package dev.once.servlet.example;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import org.eclipse.jetty.server.NetworkConnector;
import org.eclipse.jetty.server.Server;
import org.junit.jupiter.api.Test;

/** Runs the README's example and its curl session. */
class ExampleServerTest {
  private static final HttpClient CLIENT =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  private static HttpResponse<String> post(URI uri, String key, String body) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(uri).POST(BodyPublishers.ofString(body));
    if (key != null) {
      request.header("Idempotency-Key", key);
    }
    return CLIENT.send(request.build(), BodyHandlers.ofString());
  }

  @Test
  void theReadmeSessionBehavesAsDocumented() throws Exception {
    Server server = ExampleServer.start(0);
    try {
      int port = ((NetworkConnector) server.getConnectors()[0]).getLocalPort();
      URI payments = URI.create("http://127.0.0.1:" + port + "/payments");

      HttpResponse<String> first = post(payments, "unique-request-id", "{\"amount\": 100}");
      HttpResponse<String> retry = post(payments, "unique-request-id", "{\"amount\": 100}");
      HttpResponse<String> changed = post(payments, "unique-request-id", "{\"amount\": 500}");
      HttpResponse<String> noKey = post(payments, null, "{\"amount\": 100}");

      assertThat(first.statusCode()).isEqualTo(201);
      assertThat(first.body()).isEqualTo("{\"status\":\"created\",\"charge\":1}");
      assertThat(retry.statusCode()).isEqualTo(201);
      assertThat(retry.body()).isEqualTo(first.body());
      assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
      assertThat(changed.statusCode()).isEqualTo(422);
      assertThat(noKey.statusCode()).isEqualTo(400);
    } finally {
      server.stop();
    }
  }
}
