package dev.once.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.ProblemType;
import dev.once.suite.Http;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.function.IntSupplier;
import org.springframework.boot.json.JsonParserFactory;

/**
 * A client of the application a {@code @SpringBootTest} started on a random port: requests with
 * an {@code Idempotency-Key} when one is given, JSON bodies, HTTP Basic as the test applications'
 * users (each one's password is its name and {@code -password}), and the checks of an answer.
 */
public final class AppClient {
  private final IntSupplier port;

  /**
   * @param port the application's port, read at each request (Spring injects it into the test
   *     after the test instance, and this client, are made)
   */
  public AppClient(IntSupplier port) {
    this.port = port;
  }

  public URI uri(String path) {
    return URI.create("http://127.0.0.1:" + port.getAsInt() + path);
  }

  /** @return a request to {@code path}, with {@code key} unless it is null */
  public HttpRequest.Builder request(String path, String key) {
    HttpRequest.Builder request = HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(60));
    if (key != null) {
      request.header("Idempotency-Key", key);
    }
    return request;
  }

  /** @return a request with a JSON body, with {@code key} and as {@code user} unless null */
  public HttpRequest.Builder jsonRequest(String method, String path, String key, String body,
      String user) {
    HttpRequest.Builder request = request(path, key)
        .header("Content-Type", "application/json")
        .method(method, HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
    if (user != null) {
      request.header("Authorization", basic(user, user + "-password"));
    }
    return request;
  }

  public HttpResponse<String> send(HttpRequest.Builder request) throws Exception {
    return Http.send(request);
  }

  public HttpResponse<String> send(String method, String path, String key, String body,
      String user) throws Exception {
    return send(jsonRequest(method, path, key, body, user));
  }

  public HttpResponse<String> post(String path, String key, String body) throws Exception {
    return send("POST", path, key, body, null);
  }

  public HttpResponse<String> get(String path) throws Exception {
    return send(request(path, null).GET());
  }

  /**
   * Sends {@code body} with a new key, then again with the same key, and asserts that the second
   * answer replays the first ({@link Http#assertReplayOf}).
   *
   * @return the second answer, the replay
   */
  public HttpResponse<String> replayedRetry(String method, String path, String body)
      throws Exception {
    String key = Http.newKey();
    HttpResponse<String> first = send(method, path, key, body, null);
    HttpResponse<String> retry = send(method, path, key, body, null);
    Http.assertReplayOf(retry, first);
    return retry;
  }

  public static String basic(String user, String password) {
    return "Basic " + Base64.getEncoder()
        .encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
  }

  public static Map<String, Object> json(String body) {
    return JsonParserFactory.getJsonParser().parseMap(body);
  }

  /** Asserts that {@code response} is the problem {@code type}, with its status and title. */
  public static void assertProblem(HttpResponse<String> response, ProblemType type) {
    assertThat(response.statusCode()).as(response.body()).isEqualTo(type.status());
    assertThat(response.headers().firstValue("Content-Type"))
        .hasValue("application/problem+json");
    Map<String, Object> problem = json(response.body());
    assertThat(problem).containsEntry("type", type.uri()).containsEntry("title", type.title());
    assertThat(((Number) problem.get("status")).intValue()).isEqualTo(type.status());
  }
}
