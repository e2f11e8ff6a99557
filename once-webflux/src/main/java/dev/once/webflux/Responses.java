package dev.once.webflux;

import dev.once.Problem;
import dev.once.StoredResponse;
import dev.once.adapter.ReplayHeaders;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.server.reactive.ServerHttpResponse;
import reactor.core.publisher.Mono;

/** The answers the filter writes itself: replays and problems. Thread-safe. */
final class Responses {
  /** The format of {@code HttpHeaders.setDate}: RFC 9110's IMF-fixdate. */
  private static final DateTimeFormatter HTTP_DATE = DateTimeFormatter
      .ofPattern("EEE, dd MMM yyyy HH:mm:ss 'GMT'", Locale.US).withZone(ZoneOffset.UTC);
  private static volatile DateText lastDate = new DateText(Long.MIN_VALUE, "");

  private Responses() {}

  /**
   * Writes a stored response: its status, its headers (the first value of each replaces whatever
   * the server or an earlier filter set), {@code Idempotent-Replayed: true}, a {@code Date} of now
   * and the body's {@code Content-Length}.
   */
  static Mono<Void> replay(ServerHttpResponse response, StoredResponse stored) {
    response.setStatusCode(HttpStatusCode.valueOf(stored.status()));
    HttpHeaders headers = response.getHeaders();
    ReplayHeaders.write(stored, headers::set, headers::add);
    // the stored Date is not kept: a replay is a response of now (RFC 9110, 6.6.1)
    headers.set(HttpHeaders.DATE, httpDate(System.currentTimeMillis()));
    headers.setContentLength(stored.bodyLength());
    if (stored.bodyLength() == 0) {
      return response.setComplete();
    }
    return response.writeWith(
        Mono.fromSupplier(() -> response.bufferFactory().wrap(stored.bodyBuffer())));
  }

  /**
   * @return {@code millis} as an HTTP date, formatted once a second: every replay of that second
   *     shares the text
   */
  static String httpDate(long millis) {
    long second = Math.floorDiv(millis, 1000);
    DateText date = lastDate;
    if (date.second != second) {
      date = new DateText(second, HTTP_DATE.format(Instant.ofEpochSecond(second)));
      lastDate = date;
    }
    return date.text;
  }

  /** One second's HTTP date, immutable, so a racing writer only formats it twice. */
  private static final class DateText {
    final long second;
    final String text;

    DateText(long second, String text) {
      this.second = second;
      this.text = text;
    }
  }

  /**
   * Writes {@code problem} as the whole response, with its {@linkplain Problem#headers() headers}
   * ({@code application/problem+json}, {@code Cache-Control: no-store}, its {@code Retry-After},
   * {@code Connection: close} for a 408), unless the response is committed.
   */
  static Mono<Void> problem(ServerHttpResponse response, Problem problem) {
    if (response.isCommitted()) {
      return Mono.empty();
    }
    byte[] json = problem.toJsonBytes();
    response.setStatusCode(HttpStatusCode.valueOf(problem.status()));
    HttpHeaders headers = response.getHeaders();
    problem.headers().forEach(headers::set);
    headers.setContentLength(json.length);
    return response.writeWith(Mono.fromSupplier(() -> response.bufferFactory().wrap(json)));
  }
}
