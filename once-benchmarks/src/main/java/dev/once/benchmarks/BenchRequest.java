package dev.once.benchmarks;

import jakarta.servlet.AsyncContext;
import jakarta.servlet.DispatcherType;
import jakarta.servlet.ReadListener;
import jakarta.servlet.ServletContext;
import jakarta.servlet.ServletInputStream;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.security.Principal;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;

/**
 * A light, in-memory HTTP request for driving {@code OnceFilter} without a container or a mocking
 * framework. Like a container's request object it is recycled: {@link #recycle} makes it the next
 * request (new key, new body) without allocating, so what a benchmark measures is the filter's own
 * cost. It supports an async cycle ({@link BenchAsyncContext}), which the filter starts to park a
 * duplicate that waits. It serves what the filter and the benchmarks' handlers call: headers,
 * method, path, body, attributes and the async cycle, with no query, principal or servlet context;
 * any other method fails ({@link Unserved}). Used by one thread at a time.
 */
final class BenchRequest extends HttpServletRequestWrapper {
  private static final byte[] NO_BODY = new byte[0];

  private final String method;
  private final String uri;
  private final String contentType;
  private final Map<String, Object> attributes = new HashMap<>();
  private final Input input = new Input();
  private final String keyHeader;
  private String key;
  private byte[] body = NO_BODY;
  private BenchAsyncContext async;

  /**
   * @param method the HTTP method
   * @param uri the request URI
   * @param keyHeader the name of the idempotency key header
   */
  BenchRequest(String method, String uri, String keyHeader) {
    super(Unserved.as(HttpServletRequest.class, "the benchmark request"));
    this.method = method;
    this.uri = uri;
    this.keyHeader = keyHeader;
    this.contentType = "application/json";
  }

  /**
   * Makes this object the next request.
   *
   * @param key the key header's value, or null to send none
   * @param body the body
   * @return this request
   */
  BenchRequest recycle(String key, byte[] body) {
    this.key = key;
    this.body = body;
    attributes.clear();
    input.position = 0;
    async = null;
    return this;
  }

  @Override
  public String getHeader(String name) {
    if (key != null && keyHeader.equalsIgnoreCase(name)) {
      return key;
    }
    if ("Content-Type".equalsIgnoreCase(name)) {
      return contentType;
    }
    if ("Content-Length".equalsIgnoreCase(name)) {
      return Integer.toString(body.length);
    }
    return null;
  }

  @Override
  public Enumeration<String> getHeaders(String name) {
    String value = getHeader(name);
    return value == null ? Collections.emptyEnumeration() : new One(value);
  }

  @Override
  public Enumeration<String> getHeaderNames() {
    List<String> names = new ArrayList<>(3);
    names.add("Content-Type");
    names.add("Content-Length");
    if (key != null) {
      names.add(keyHeader);
    }
    return Collections.enumeration(names);
  }

  @Override
  public String getMethod() {
    return method;
  }

  @Override
  public String getRequestURI() {
    return uri;
  }

  @Override
  public String getQueryString() {
    return null;
  }

  @Override
  public int getContentLength() {
    return body.length;
  }

  @Override
  public long getContentLengthLong() {
    return body.length;
  }

  @Override
  public String getContentType() {
    return contentType;
  }

  @Override
  public String getCharacterEncoding() {
    return null;
  }

  @Override
  public ServletInputStream getInputStream() {
    return input;
  }

  @Override
  public BufferedReader getReader() {
    return new BufferedReader(new InputStreamReader(input, StandardCharsets.ISO_8859_1));
  }

  @Override
  public Object getAttribute(String name) {
    return attributes.get(name);
  }

  @Override
  public void setAttribute(String name, Object value) {
    if (value == null) {
      attributes.remove(name);
    } else {
      attributes.put(name, value);
    }
  }

  @Override
  public void removeAttribute(String name) {
    attributes.remove(name);
  }

  @Override
  public DispatcherType getDispatcherType() {
    return DispatcherType.REQUEST;
  }

  @Override
  public boolean isAsyncStarted() {
    return async != null && !async.isCompleted();
  }

  @Override
  public boolean isAsyncSupported() {
    return true;
  }

  @Override
  public AsyncContext startAsync(ServletRequest request, ServletResponse response) {
    if (async != null) {
      throw new IllegalStateException("the benchmark request starts one async cycle only");
    }
    async = new BenchAsyncContext(request, response);
    return async;
  }

  @Override
  public BenchAsyncContext getAsyncContext() {
    if (async == null) {
      throw new IllegalStateException("the benchmark request is not in async mode");
    }
    return async;
  }

  @Override
  public Principal getUserPrincipal() {
    return null;
  }

  @Override
  public ServletContext getServletContext() {
    return null;
  }

  /** The body, read from the start after each recycle. */
  private final class Input extends ServletInputStream {
    int position;

    @Override
    public int read() {
      return position < body.length ? body[position++] & 0xFF : -1;
    }

    @Override
    public int read(byte[] into, int offset, int length) {
      if (length == 0) {
        return 0;
      }
      if (position >= body.length) {
        return -1;
      }
      int n = Math.min(length, body.length - position);
      System.arraycopy(body, position, into, offset, n);
      position += n;
      return n;
    }

    @Override
    public int available() {
      return body.length - position;
    }

    @Override
    public boolean isFinished() {
      return position >= body.length;
    }

    @Override
    public boolean isReady() {
      return true;
    }

    @Override
    public void setReadListener(ReadListener listener) {
      throw new IllegalStateException("the benchmark request does not support async IO");
    }
  }

  /** A one-value enumeration, as a container hands out for a header sent once. */
  private static final class One implements Enumeration<String> {
    private String value;

    One(String value) {
      this.value = value;
    }

    @Override
    public boolean hasMoreElements() {
      return value != null;
    }

    @Override
    public String nextElement() {
      if (value == null) {
        throw new NoSuchElementException();
      }
      String next = value;
      value = null;
      return next;
    }
  }
}
