package dev.once.jaxrs;

import dev.once.Once;
import dev.once.Problem;
import dev.once.StoredResponse;
import dev.once.StoredResponse.Header;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MultivaluedMap;
import jakarta.ws.rs.core.Response;
import java.io.IOException;
import java.io.OutputStream;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/**
 * A response the adapter answers with itself, instead of running the resource: a stored response
 * replayed, or a problem. It goes through the runtime's response pipeline, and the adapter's
 * response stage makes sure it is sent as built: its headers replace any of the same name that
 * application filters added (the first value replaces the server's own), and its body is written
 * as is, past any encoding interceptor.
 */
final class Answer {
  private static final DateTimeFormatter HTTP_DATE =
      DateTimeFormatter.ofPattern("EEE, dd MMM yyyy HH:mm:ss 'GMT'", Locale.US);

  private final int status;
  private final List<Header> headers;
  private final byte[] body;

  private Answer(int status, List<Header> headers, byte[] body) {
    this.status = status;
    this.headers = headers;
    this.body = body;
  }

  /** The stored response, with {@code Idempotent-Replayed: true}, a fresh Date and its length. */
  static Answer replay(StoredResponse stored) {
    List<Header> headers = new ArrayList<>(stored.headers());
    headers.add(new Header(Once.REPLAYED_HEADER, "true"));
    // the stored Date is not kept: a replay is a response of now (RFC 9110, 6.6.1)
    headers.add(new Header(HttpHeaders.DATE, HTTP_DATE.format(ZonedDateTime.now(ZoneOffset.UTC))));
    byte[] body = stored.body();
    if (mayHaveBody(stored.status())) {
      headers.add(new Header(HttpHeaders.CONTENT_LENGTH, Integer.toString(body.length)));
    }
    return new Answer(stored.status(), headers, body);
  }

  /** The problem, with its {@linkplain Problem#headers() headers} and its length. */
  static Answer problem(Problem problem) {
    byte[] json = problem.toJsonBytes();
    List<Header> headers = new ArrayList<>(5);
    problem.headers().forEach((name, value) -> headers.add(new Header(name, value)));
    headers.add(new Header(HttpHeaders.CONTENT_LENGTH, Integer.toString(json.length)));
    return new Answer(problem.status(), headers, json);
  }

  /** @return the response to abort a request with, or to resume a suspended one with */
  Response toResponse() {
    Response.ResponseBuilder builder = Response.status(status);
    for (Header header : headers) {
      builder.header(header.name(), header.value());
    }
    if (body.length > 0) {
      builder.entity(body);
    }
    return builder.build();
  }

  /**
   * Puts the answer's headers back as built, after the application's response filters ran: each
   * name this answer has replaces what they set under it; headers they added under other names
   * stay.
   */
  void reapply(MultivaluedMap<String, Object> target) {
    Set<String> names = new TreeSet<>(String.CASE_INSENSITIVE_ORDER);
    Set<String> distinct = new LinkedHashSet<>();
    for (Header header : headers) {
      if (names.add(header.name())) {
        distinct.add(header.name());
      }
    }
    for (String name : distinct) {
      for (String present : new ArrayList<>(target.keySet())) {
        if (present.equalsIgnoreCase(name)) {
          target.remove(present);
        }
      }
    }
    for (Header header : headers) {
      target.add(header.name(), header.value());
    }
  }

  /** Writes the body as it is, without any message body writer or interceptor. */
  void writeBody(OutputStream out) throws IOException {
    out.write(body);
  }

  private static boolean mayHaveBody(int status) {
    return status >= 200 && status != 204 && status != 304;
  }
}
