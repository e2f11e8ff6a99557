package dev.once.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.UUID;

/** The clients of the tests: the JDK's HTTP client, and raw bytes for what it refuses to send. */
final class Http {
  static final HttpClient CLIENT = HttpClient.newBuilder()
      .version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(10))
      .build();

  private Http() {}

  static String newKey() {
    return UUID.randomUUID().toString();
  }

  static HttpRequest.Builder post(URI uri, String key, String body) {
    HttpRequest.Builder builder = HttpRequest.newBuilder(uri)
        .timeout(Duration.ofSeconds(30))
        .POST(BodyPublishers.ofString(body));
    if (key != null) {
      builder.header("Idempotency-Key", key);
    }
    return builder;
  }

  static HttpResponse<String> send(HttpRequest.Builder request) throws Exception {
    return CLIENT.send(request.build(), BodyHandlers.ofString());
  }

  static HttpResponse<String> postKeyed(URI uri, String key, String body) throws Exception {
    return send(post(uri, key, body));
  }

  /**
   * Posts on a connection of its own, as a client retrying from elsewhere would: nothing the
   * proxy still does on another connection delays it.
   */
  static HttpResponse<String> postKeyedOnNewConnection(URI uri, String key, String body)
      throws Exception {
    // a client of its own has a pool of its own (HttpClient is closeable only from Java 21)
    HttpClient fresh = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    return fresh.send(post(uri, key, body).build(), BodyHandlers.ofString());
  }

  /** Sends raw bytes (for requests no well-behaved client would send) and returns the answer. */
  static String raw(int port, String request) throws Exception {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(10_000);
      OutputStream out = socket.getOutputStream();
      out.write(request.getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      InputStream in = socket.getInputStream();
      ByteArrayOutputStream answer = new ByteArrayOutputStream();
      in.transferTo(answer);
      return answer.toString(StandardCharsets.ISO_8859_1);
    }
  }

  static void assertProblem(HttpResponse<String> response, int status, String type) {
    assertThat(response.statusCode()).isEqualTo(status);
    assertThat(response.headers().firstValue("Content-Type")).hasValue("application/problem+json");
    assertThat(response.body()).contains("\"type\":\"" + type + "\"")
        .contains("\"status\":" + status);
  }
}
