package dev.once.examples.kit;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

/**
 * A client of the examples' contract: {@code POST /payments} charges a card and must run once per
 * {@code Idempotency-Key}; {@code GET /payments} says how many times it ran. HTTP/1.1, as curl
 * speaks it in the READMEs.
 */
public final class PaymentsClient {
  private static final HttpClient CLIENT =
      HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  private final URI base;

  /** A client of the example listening on {@code base}. */
  public PaymentsClient(URI base) {
    this.base = base;
  }

  /** POSTs the JSON {@code body} to {@code /payments}, with {@code key} unless it is null. */
  public HttpResponse<String> post(String key, String body)
      throws IOException, InterruptedException {
    HttpRequest.Builder request = HttpRequest.newBuilder(base.resolve("/payments"))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body));
    if (key != null) {
      request.header("Idempotency-Key", key);
    }
    return CLIENT.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  /** The body the example answers to a GET of {@code path}. */
  public String get(String path) throws IOException, InterruptedException {
    return CLIENT.send(HttpRequest.newBuilder(base.resolve(path)).build(),
        HttpResponse.BodyHandlers.ofString()).body();
  }
}
