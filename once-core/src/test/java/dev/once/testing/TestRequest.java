package dev.once.testing;

import dev.once.OnceRequest;
import dev.once.RequestTooLargeException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** A request made in a test: a mutable builder that is its own {@link OnceRequest}. */
public final class TestRequest implements OnceRequest {
  private String method = "POST";
  private String path = "/payments";
  private String query;
  private final Map<String, List<String>> headers = new LinkedHashMap<>();
  private String principal;
  private byte[] body = new byte[0];
  private int bodyReads;

  /** @return a POST to /payments with no headers and no body */
  public static TestRequest post() {
    return new TestRequest();
  }

  /**
   * @param key the Idempotency-Key value
   * @return a POST to /payments with that key
   */
  public static TestRequest post(String key) {
    return new TestRequest().header("Idempotency-Key", key);
  }

  public TestRequest method(String method) {
    this.method = method;
    return this;
  }

  public TestRequest path(String path) {
    this.path = path;
    return this;
  }

  public TestRequest query(String query) {
    this.query = query;
    return this;
  }

  public TestRequest header(String name, String value) {
    headers.computeIfAbsent(name.toLowerCase(), n -> new ArrayList<>()).add(value);
    return this;
  }

  public TestRequest principal(String principal) {
    this.principal = principal;
    return this;
  }

  public TestRequest body(String body) {
    this.body = body.getBytes(StandardCharsets.UTF_8);
    return this;
  }

  public TestRequest body(byte[] body) {
    this.body = body.clone();
    return this;
  }

  /** @return how many times the engine read the body */
  public int bodyReads() {
    return bodyReads;
  }

  @Override
  public String method() {
    return method;
  }

  @Override
  public String path() {
    return path;
  }

  @Override
  public String query() {
    return query;
  }

  @Override
  public List<String> headers(String name) {
    return headers.getOrDefault(name.toLowerCase(), List.of());
  }

  @Override
  public String principal() {
    return principal;
  }

  @Override
  public byte[] body(long maxBytes) {
    bodyReads++;
    if (body.length > maxBytes) {
      throw new RequestTooLargeException(maxBytes);
    }
    return body.clone();
  }
}
