package dev.once.webflux;

import dev.once.OnceRequest;
import dev.once.RequestBodyTimeoutException;
import dev.once.RequestTooLargeException;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;
import org.jspecify.annotations.Nullable;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.core.io.buffer.DataBufferFactory;
import org.springframework.core.io.buffer.DataBufferLimitException;
import org.springframework.core.io.buffer.DataBufferUtils;
import org.springframework.http.server.reactive.ServerHttpRequest;
import org.springframework.http.server.reactive.ServerHttpRequestDecorator;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The engine's view of a keyed WebFlux request, and the request the handler sees. The body is read
 * before the engine is asked ({@link #read}), without blocking: the request's {@code DataBuffer}s
 * are joined up to {@code maxBodyBytes}, within {@code bodyTimeout}, and copied once into an
 * array, and every buffer is released, also when the body is too large, breaks off or is late.
 * The handler is then served the same bytes as a body of its own, which it may subscribe to any
 * number of times.
 *
 * <p>Immutable once read; {@link #body} is called by the engine on the thread that asks it.
 */
final class KeyedRequest extends ServerHttpRequestDecorator implements OnceRequest {
  private static final byte[] EMPTY = new byte[0];

  private final byte @Nullable [] body;
  private final @Nullable IOException failure;
  private final long tooLargeFor;
  private final @Nullable Duration lateBy;
  private final @Nullable String principal;
  private final @Nullable DataBufferFactory buffers;

  private KeyedRequest(ServerHttpRequest request, byte @Nullable [] body,
      @Nullable IOException failure, long tooLargeFor, @Nullable Duration lateBy,
      @Nullable String principal, @Nullable DataBufferFactory buffers) {
    super(request);
    this.body = body;
    this.failure = failure;
    this.tooLargeFor = tooLargeFor;
    this.lateBy = lateBy;
    this.principal = principal;
    this.buffers = buffers;
  }

  /**
   * A view of {@code request} whose body is not read: the engine will not ask for it (no request
   * hash), and the handler reads the request's own.
   */
  static KeyedRequest unread(ServerHttpRequest request, @Nullable String principal) {
    return new KeyedRequest(request, null, null, -1, null, principal, null);
  }

  /**
   * Reads the body, at most {@code maxBytes} of it, within {@code timeout}, without blocking. A
   * body that is whole as soon as it is asked for (a small one arrives with the headers) is taken
   * at once; only one still on its way arms the deadline, a timer on Reactor's parallel scheduler,
   * and when that passes the read is cancelled and the buffers it took are released.
   *
   * @return the request with its body read; never an error: a body too large, late or unreadable
   *     is what {@link #body} says when the engine asks
   */
  static Mono<KeyedRequest> read(ServerHttpRequest request, long maxBytes, Duration timeout,
      @Nullable String principal, DataBufferFactory buffers) {
    if (request.getHeaders().getContentLength() > maxBytes) {
      return Mono.just(new KeyedRequest(request, null, null, maxBytes, null, principal, buffers));
    }
    // join releases every buffer it took when the limit is passed, the body fails or the read is
    // cancelled (the deadline cancels it)
    Mono<byte[]> joined = DataBufferUtils.join(request.getBody(), (int) maxBytes)
        .map(KeyedRequest::bytes)
        .defaultIfEmpty(EMPTY);
    return Mono.defer(() -> {
          CompletableFuture<byte[]> reading = joined.toFuture();
          // cancelling the future cancels the read
          return reading.isDone()
              ? Mono.fromFuture(reading)
              : Mono.fromFuture(reading, false).timeout(timeout);
        })
        .map(bytes -> new KeyedRequest(request, bytes, null, -1, null, principal, buffers))
        .onErrorResume(DataBufferLimitException.class, e -> Mono.just(
            new KeyedRequest(request, null, null, maxBytes, null, principal, buffers)))
        .onErrorResume(TimeoutException.class, e -> Mono.just(
            new KeyedRequest(request, null, null, -1, timeout, principal, buffers)))
        .onErrorResume(e -> Mono.just(new KeyedRequest(request, null,
            new IOException("the request body could not be read", e), -1, null, principal,
            buffers)));
  }

  /** @return the bytes of {@code buffer}, which is released */
  static byte[] bytes(DataBuffer buffer) {
    try {
      byte[] bytes = new byte[buffer.readableByteCount()];
      buffer.read(bytes);
      return bytes;
    } finally {
      DataBufferUtils.release(buffer);
    }
  }

  @Override
  public String method() {
    return getMethod().name();
  }

  @Override
  public String path() {
    return getURI().getRawPath();
  }

  @Override
  public @Nullable String query() {
    URI uri = getURI();
    return uri.getRawQuery();
  }

  @Override
  public List<String> headers(String name) {
    return getHeaders().getOrEmpty(name);
  }

  @Override
  public @Nullable String principal() {
    return principal;
  }

  @Override
  public byte[] body(long maxBytes) throws IOException {
    if (tooLargeFor >= 0) {
      throw new RequestTooLargeException(tooLargeFor);
    }
    if (lateBy != null) {
      throw new RequestBodyTimeoutException(lateBy);
    }
    if (failure != null) {
      throw failure;
    }
    if (body == null) {
      throw new IllegalStateException("the body was not read before the engine asked for it");
    }
    if (body.length > maxBytes) {
      throw new RequestTooLargeException(maxBytes);
    }
    return body;
  }

  /** @return true if the body was read whole, so the handler is served the copy */
  boolean isBodyRead() {
    return body != null;
  }

  @Override
  public Flux<DataBuffer> getBody() {
    if (body == null) {
      return super.getBody();
    }
    if (body.length == 0) {
      return Flux.empty();
    }
    byte[] read = body;
    DataBufferFactory factory =
        Objects.requireNonNull(buffers, "a body that was read has its buffer factory");
    return Flux.defer(() -> Flux.just(factory.wrap(read)));
  }
}
