package dev.once.webflux;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.Fingerprint;
import dev.once.MemoryStore;
import dev.once.Once;
import dev.once.StoredResponse;
import dev.once.spi.Claim;
import dev.once.spi.ForwardingIdempotencyStore;
import dev.once.spi.IdempotencyStore;
import dev.once.spi.Token;
import io.netty.buffer.PooledByteBufAllocator;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.Principal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.reactivestreams.Publisher;
import org.springframework.core.ResolvableType;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.core.io.buffer.DataBufferUtils;
import org.springframework.core.io.buffer.NettyDataBuffer;
import org.springframework.core.io.buffer.NettyDataBufferFactory;
import org.springframework.http.HttpMethod;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.client.MultipartBodyBuilder;
import org.springframework.http.codec.multipart.FormFieldPart;
import org.springframework.http.codec.multipart.MultipartHttpMessageWriter;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.http.server.reactive.ServerHttpResponseDecorator;
import org.springframework.mock.http.client.reactive.MockClientHttpRequest;
import org.springframework.mock.http.server.reactive.MockServerHttpRequest;
import org.springframework.mock.web.server.MockServerWebExchange;
import org.springframework.util.MultiValueMap;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.ServerWebExchangeDecorator;
import org.springframework.web.server.WebFilterChain;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * What only the WebFlux adapter has, beside the shared suite: its {@code DataBuffer}s counted
 * (every buffer of a keyed body released, whether it fit, was too large or broke off), the end of
 * each kind of response body reported before its last buffer or its completion goes out, form and
 * multipart data parsed from the buffered body, bodies written with flushes or none at all, the
 * principal's scope, and a key let go when the client leaves before the decision.
 */
class OnceWebFilterTest {
  private static final NettyDataBufferFactory POOLED =
      new NettyDataBufferFactory(PooledByteBufAllocator.DEFAULT);

  private final MemoryStore store = MemoryStore.create();
  private final AtomicInteger runs = new AtomicInteger();

  @AfterEach
  void closeStore() {
    store.close();
  }

  @Test
  void everyBufferOfAKeyedBodyIsReleasedWhenItFits() {
    List<NettyDataBuffer> sent = new CopyOnWriteArrayList<>();
    MockServerWebExchange exchange = keyed("k1", pooledBody(sent, "{\"amount\":", "100", "}"));

    filter(Once.builder(store).build(), exchange, echo()).block(Duration.ofSeconds(10));

    assertEchoedWhole(exchange);
    assertAllReleased(sent, 3);
  }

  @Test
  void everyBufferReceivedIsReleasedWhenTheBodyIsTooLarge() {
    List<NettyDataBuffer> sent = new CopyOnWriteArrayList<>();
    MockServerWebExchange exchange =
        keyed("k2", pooledBody(sent, "0123456789", "0123456789", "0123456789"));

    filter(Once.builder(store).maxBodyBytes(15).build(), exchange, echo())
        .block(Duration.ofSeconds(10));

    assertRefused(exchange, 413, "request-too-large", "k2");
    // the third was never taken from the server, which keeps it
    assertAllReleased(sent, 2);
  }

  @Test
  void everyBufferReceivedIsReleasedWhenTheBodyBreaksOff() {
    List<NettyDataBuffer> sent = new CopyOnWriteArrayList<>();
    Flux<DataBuffer> broken = pooledBody(sent, "0123456789", "0123456789")
        .concatWith(Mono.error(new IllegalStateException("connection reset")));
    MockServerWebExchange exchange = keyed("k3", broken);

    filter(Once.builder(store).build(), exchange, echo()).block(Duration.ofSeconds(10));

    assertRefused(exchange, 400, "request-body-unreadable", "k3");
    assertThat(exchange.getResponse().getBodyAsString().block())
        .doesNotContain("connection reset");
    assertAllReleased(sent, 2);
  }

  @Test
  void aBodyDeclaredLargerThanTheLimitGets413AndIsNeverRead() {
    AtomicInteger subscribed = new AtomicInteger();
    Flux<DataBuffer> body =
        Flux.<DataBuffer>empty().doOnSubscribe(subscription -> subscribed.incrementAndGet());
    MockServerWebExchange exchange = MockServerWebExchange.from(MockServerHttpRequest.post("/pay")
        .header("Idempotency-Key", "big").contentLength(16).body(body));

    filter(Once.builder(store).maxBodyBytes(15).build(), exchange, echo())
        .block(Duration.ofSeconds(10));

    assertRefused(exchange, 413, "request-too-large", "big");
    assertThat(subscribed).hasValue(0);
  }

  @Test
  void aBodyThatDoesNotArriveInTimeGets408TakesNoKeyAndItsBuffersAreReleased() {
    List<NettyDataBuffer> sent = new CopyOnWriteArrayList<>();
    Flux<DataBuffer> stalled = pooledBody(sent, "{\"amount\":", "1").concatWith(Flux.never());
    MockServerWebExchange exchange = keyed("slow", stalled);

    filter(Once.builder(store).bodyTimeout(Duration.ofMillis(200)).build(), exchange, echo())
        .block(Duration.ofSeconds(10));

    assertRefused(exchange, 408, "https://once.dev/problems/request-body-timeout", "slow");
    assertThat(exchange.getResponse().getHeaders().getFirst("Connection")).isEqualTo("close");
    assertThat(exchange.getResponse().getHeaders().getContentType())
        .hasToString("application/problem+json");
    assertAllReleased(sent, 2);
  }

  @Test
  void aBodyThatArrivesInPartsWithinTheTimeoutIsReadWholeAndItsBuffersReleased() {
    List<NettyDataBuffer> sent = new CopyOnWriteArrayList<>();
    Flux<DataBuffer> slow = pooledBody(sent, "{\"amount\":", "100", "}")
        .delayElements(Duration.ofMillis(50));
    MockServerWebExchange exchange = keyed("parts", slow);

    filter(Once.builder(store).bodyTimeout(Duration.ofSeconds(10)).build(), exchange, echo())
        .block(Duration.ofSeconds(10));

    assertEchoedWhole(exchange);
    assertAllReleased(sent, 3);
  }

  @Test
  void aReplayCarriesADateOfNowInTheHttpFormat() {
    long now = 1_764_770_400_000L; // Wed, 03 Dec 2025 14:00:00 GMT

    assertThat(Responses.httpDate(now)).isEqualTo("Wed, 03 Dec 2025 14:00:00 GMT");
    assertThat(Responses.httpDate(now + 999)).isEqualTo("Wed, 03 Dec 2025 14:00:00 GMT");
    assertThat(Responses.httpDate(now + 1000)).isEqualTo("Wed, 03 Dec 2025 14:00:01 GMT");
  }

  @Test
  void aMalformedKeyIsRefusedWith400WithoutReadingTheBody() {
    AtomicInteger subscribed = new AtomicInteger();
    Flux<DataBuffer> body =
        Flux.<DataBuffer>empty().doOnSubscribe(subscription -> subscribed.incrementAndGet());
    MockServerWebExchange exchange = keyed("\"unterminated", body);

    filter(Once.builder(store).build(), exchange, echo()).block(Duration.ofSeconds(10));

    assertRefused(exchange, 400, "idempotency-key-invalid", "\"unterminated");
    assertThat(subscribed).hasValue(0);
  }

  @Test
  void whenTheClientHangsUpTheRestOfTheResponseIsReadKeptAndEveryBufferReleased() {
    Once once = Once.builder(store).build();
    List<NettyDataBuffer> written = new CopyOnWriteArrayList<>();
    Function<ServerWebExchange, Mono<Void>> handler = ex -> {
      runs.incrementAndGet();
      ex.getResponse().setStatusCode(HttpStatus.CREATED);
      return ex.getResponse().writeWith(pooledBody(written, "pay", "ment", "-1"));
    };

    filter(once, hangsUpAfterOneBuffer(keyed("gone", Flux.empty())), handler)
        .block(Duration.ofSeconds(10));
    MockServerWebExchange retry = keyed("gone", Flux.empty());
    filter(once, retry, handler).block(Duration.ofSeconds(10));

    assertThat(runs).hasValue(1);
    assertAllReleased(written, 3);
    assertThat(retry.getResponse().getStatusCode()).isEqualTo(HttpStatus.CREATED);
    assertThat(retry.getResponse().getBodyAsString().block()).isEqualTo("payment-1");
  }

  @Test
  void whenTheClientHangsUpOnAResponseTooLargeToKeepTheBodyIsCancelledAndTheRetryToldSo() {
    Once once = Once.builder(store).maxResponseBytes(4).build();
    List<NettyDataBuffer> written = new CopyOnWriteArrayList<>();
    AtomicInteger cancelled = new AtomicInteger();
    Function<ServerWebExchange, Mono<Void>> handler = ex -> {
      runs.incrementAndGet();
      ex.getResponse().setStatusCode(HttpStatus.CREATED);
      return ex.getResponse().writeWith(
          pooledBody(written, "0123456789", "0123456789", "0123456789", "0123456789")
              .doOnCancel(cancelled::incrementAndGet));
    };

    Mono<Void> first = filter(once, hangsUpAfterOneBuffer(keyed("huge", Flux.empty())), handler);
    first.onErrorResume(e -> Mono.empty()).block(Duration.ofSeconds(10));
    MockServerWebExchange retry = keyed("huge", Flux.empty());
    filter(once, retry, handler).block(Duration.ofSeconds(10));

    assertThat(runs).hasValue(1);
    assertThat(cancelled).hasValue(1);
    assertThat(written).hasSizeLessThan(4).allSatisfy(buffer ->
        assertThat(buffer.getNativeBuffer().refCnt()).isZero());
    assertThat(retry.getResponse().getStatusCode().value()).isEqualTo(409);
    assertThat(retry.getResponse().getBodyAsString().block())
        .contains("response-not-replayable");
  }

  @Test
  void twoHundredDuplicatesWaitHoldingNoThreadAndAllGetTheOneReplay() throws Exception {
    NonBlocking.install();
    NonBlocking.clear();
    int duplicates = 200;
    AtomicInteger waiting = new AtomicInteger();
    CompletableFuture<Void> allWaiting = new CompletableFuture<>();
    IdempotencyStore counted = new Decorated() {
      @Override
      public CompletionStage<Void> awaitChangeAsync(String key, Duration timeout) {
        if (waiting.incrementAndGet() == duplicates) {
          allWaiting.complete(null);
        }
        return super.awaitChangeAsync(key, timeout);
      }
    };
    Once once = Once.builder(counted).maxWait(Duration.ofSeconds(30)).build();
    CompletableFuture<Void> entered = new CompletableFuture<>();
    Function<ServerWebExchange, Mono<Void>> handler = ex -> {
      runs.incrementAndGet();
      entered.complete(null);
      ex.getResponse().setStatusCode(HttpStatus.CREATED);
      // the first answers once every duplicate is parked; a parked one holding a thread would
      // leave none of the parallel scheduler's for the rest
      return Mono.fromFuture(allWaiting).then(ex.getResponse().writeWith(Mono.fromSupplier(
          () -> ex.getResponse().bufferFactory().wrap(bytes("charged")))));
    };

    MockServerWebExchange first = keyed("wait", Flux.empty());
    CompletableFuture<Void> firstDone =
        filter(once, first, handler).subscribeOn(Schedulers.parallel()).toFuture();
    // the first holds the key before any duplicate is sent
    entered.get(30, TimeUnit.SECONDS);
    List<MockServerWebExchange> retries = new ArrayList<>();
    List<CompletableFuture<Void>> done = new ArrayList<>();
    for (int i = 0; i < duplicates; i++) {
      MockServerWebExchange retry = keyed("wait", Flux.empty());
      retries.add(retry);
      done.add(filter(once, retry, handler).subscribeOn(Schedulers.parallel()).toFuture());
    }
    firstDone.get(30, TimeUnit.SECONDS);
    CompletableFuture.allOf(done.toArray(CompletableFuture[]::new))
        .get(30, TimeUnit.SECONDS);

    try {
      assertThat(runs).hasValue(1);
      assertThat(waiting).hasValue(duplicates);
      assertThat(first.getResponse().getHeaders().getFirst("Idempotent-Replayed")).isNull();
      assertThat(first.getResponse().getBodyAsString().block()).isEqualTo("charged");
      assertThat(retries).allSatisfy(retry -> {
        assertThat(retry.getResponse().getStatusCode()).isEqualTo(HttpStatus.CREATED);
        assertThat(retry.getResponse().getHeaders().getFirst("Idempotent-Replayed"))
            .isEqualTo("true");
        assertThat(retry.getResponse().getBodyAsString().block()).isEqualTo("charged");
      });
      assertThat(NonBlocking.violations()).isEmpty();
    } finally {
      NonBlocking.clear();
    }
  }

  @Test
  void theEndOfAMonoBodyIsKeptBeforeItsBufferGoesOut() {
    List<String> events = new CopyOnWriteArrayList<>();
    Once once = Once.builder(new Recording(events)).build();

    ServerWebExchange exchange = recorded(keyed("m1", Flux.empty()), events);
    filter(once, exchange, ex -> ex.getResponse().writeWith(
        Mono.just(ex.getResponse().bufferFactory().wrap(bytes("whole")))))
        .block(Duration.ofSeconds(10));

    assertThat(events).containsExactly("kept", "out whole");
  }

  @Test
  void theEndOfABodyOfDeclaredLengthIsKeptBeforeItsLastBufferGoesOut() {
    List<String> events = new CopyOnWriteArrayList<>();
    Once once = Once.builder(new Recording(events)).build();

    ServerWebExchange exchange = recorded(keyed("m2", Flux.empty()), events);
    filter(once, exchange, ex -> {
      ex.getResponse().getHeaders().setContentLength(6);
      return ex.getResponse().writeWith(Flux.just("ab", "cd", "ef")
          .map(part -> ex.getResponse().bufferFactory().wrap(bytes(part))));
    }).block(Duration.ofSeconds(10));

    assertThat(events).containsExactly("out ab", "out cd", "kept", "out ef", "complete");
  }

  @Test
  void theEndOfAChunkedBodyIsKeptBeforeItCompletes() {
    List<String> events = new CopyOnWriteArrayList<>();
    Once once = Once.builder(new Recording(events)).build();

    ServerWebExchange exchange = recorded(keyed("m3", Flux.empty()), events);
    filter(once, exchange, ex -> ex.getResponse().writeWith(Flux.just("ab", "cd")
        .map(part -> ex.getResponse().bufferFactory().wrap(bytes(part)))))
        .block(Duration.ofSeconds(10));

    assertThat(events).containsExactly("out ab", "out cd", "kept", "complete");
  }

  @Test
  void aResponseWithoutABodyIsKeptBeforeItIsSentAndReplayed() {
    Once once = Once.builder(store).build();
    Function<ServerWebExchange, Mono<Void>> noContent = ex -> {
      runs.incrementAndGet();
      ex.getResponse().setStatusCode(HttpStatus.NO_CONTENT);
      ex.getResponse().getHeaders().add("X-Done", "yes");
      return ex.getResponse().setComplete();
    };
    filter(once, keyed("n1", Flux.empty()), noContent).block(Duration.ofSeconds(10));

    MockServerWebExchange retry = keyed("n1", Flux.empty());
    filter(once, retry, noContent).block(Duration.ofSeconds(10));

    assertThat(runs).hasValue(1);
    assertThat(retry.getResponse().getStatusCode()).isEqualTo(HttpStatus.NO_CONTENT);
    assertThat(retry.getResponse().getHeaders().getFirst("X-Done")).isEqualTo("yes");
    assertThat(retry.getResponse().getHeaders().getFirst("Idempotent-Replayed"))
        .isEqualTo("true");
  }

  @Test
  void aHandlerThatWritesNothingIsKeptWithItsStatusWhenItReturns() {
    Once once = Once.builder(store).build();
    Function<ServerWebExchange, Mono<Void>> accepted = ex -> {
      runs.incrementAndGet();
      ex.getResponse().setStatusCode(HttpStatus.OK);
      return Mono.empty();
    };
    filter(once, keyed("n2", Flux.empty()), accepted).block(Duration.ofSeconds(10));

    assertThat(store.peek("n2").state()).isEqualTo(Claim.State.COMPLETED);
    assertThat(store.peek("n2").response().status()).isEqualTo(200);
  }

  @Test
  void aBodyWrittenWithFlushesIsKeptWholeAndReplayed() {
    Once once = Once.builder(store).build();
    Function<ServerWebExchange, Mono<Void>> events = ex -> {
      runs.incrementAndGet();
      ex.getResponse().getHeaders().setContentType(MediaType.TEXT_EVENT_STREAM);
      return ex.getResponse().writeAndFlushWith(Flux.just("data:1\n\n", "data:2\n\n")
          .map(event -> Flux.just(ex.getResponse().bufferFactory().wrap(bytes(event)))));
    };
    MockServerWebExchange first = keyed("f1", Flux.empty());
    filter(once, first, events).block(Duration.ofSeconds(10));

    MockServerWebExchange retry = keyed("f1", Flux.empty());
    filter(once, retry, events).block(Duration.ofSeconds(10));

    assertThat(runs).hasValue(1);
    assertThat(retry.getResponse().getBodyAsString().block()).isEqualTo("data:1\n\ndata:2\n\n");
  }

  @Test
  void formDataIsParsedFromTheBodyTheFilterRead() {
    Once once = Once.builder(store).build();
    MockServerWebExchange exchange = MockServerWebExchange.from(MockServerHttpRequest
        .post("/pay").header("Idempotency-Key", "form")
        .contentType(MediaType.APPLICATION_FORM_URLENCODED)
        .body("amount=100&currency=EUR"));

    List<String> seen = new ArrayList<>();
    filter(once, exchange, ex -> ex.getFormData().doOnNext(form -> seen.add(
        form.getFirst("amount") + " " + form.getFirst("currency"))).then(created(ex)))
        .block(Duration.ofSeconds(10));

    assertThat(seen).containsExactly("100 EUR");
  }

  @Test
  void multipartDataIsParsedFromTheBodyTheFilterRead() {
    MultipartBodyBuilder parts = new MultipartBodyBuilder();
    parts.part("amount", "100");
    MockClientHttpRequest encoded = new MockClientHttpRequest(HttpMethod.POST, "/pay");
    new MultipartHttpMessageWriter().write(Mono.just(parts.build()),
        ResolvableType.forClass(MultiValueMap.class), MediaType.MULTIPART_FORM_DATA, encoded,
        Map.of()).block();
    MockServerWebExchange exchange = MockServerWebExchange.from(MockServerHttpRequest
        .post("/pay").header("Idempotency-Key", "multi")
        .contentType(encoded.getHeaders().getContentType())
        .body(encoded.getBodyAsString().block()));

    List<String> seen = new ArrayList<>();
    filter(Once.builder(store).build(), exchange, ex -> ex.getMultipartData()
        .doOnNext(form -> seen.add(((FormFieldPart) form.getFirst("amount")).value()))
        .then(created(ex))).block(Duration.ofSeconds(10));

    assertThat(seen).containsExactly("100");
  }

  @Test
  void keysAreScopedByThePrincipal() {
    Once once = Once.builder(store).build();
    Function<ServerWebExchange, Mono<Void>> handler = ex -> {
      runs.incrementAndGet();
      return created(ex);
    };

    filter(once, as("alice", keyed("shared", Flux.empty())), handler).block(Duration.ofSeconds(10));
    filter(once, as("bob", keyed("shared", Flux.empty())), handler).block(Duration.ofSeconds(10));
    filter(once, as("alice", keyed("shared", Flux.empty())), handler).block(Duration.ofSeconds(10));

    assertThat(runs).hasValue(2);
    assertThat(store.peek("alice shared")).isNotNull();
    assertThat(store.peek("bob shared")).isNotNull();
  }

  @Test
  void aKeyClaimedForAClientThatLeftBeforeTheDecisionIsLetGo() {
    CompletableFuture<Claim> claimed = new CompletableFuture<>();
    IdempotencyStore late = new Decorated() {
      @Override
      public CompletionStage<Claim> claimAsync(String key, Fingerprint fingerprint,
          Duration lease) {
        return claimed.thenApply(ignored -> store.claim(key, fingerprint, lease));
      }
    };

    filter(Once.builder(late).build(), keyed("left", Flux.empty()), echo())
        .subscribe().dispose();
    claimed.complete(null);

    assertThat(store.peek("left")).isNull();
    assertThat(runs).hasValue(0);
  }

  @Test
  void blockHoundCatchesABlockingCallOnANonBlockingThread() {
    NonBlocking.install();
    NonBlocking.clear();
    try {
      Mono.fromCallable(() -> {
        Thread.sleep(1);
        return 1;
      }).subscribeOn(Schedulers.parallel()).onErrorResume(e -> Mono.just(0))
          .block(Duration.ofSeconds(10));

      assertThat(NonBlocking.violations()).singleElement().asString().contains("sleep");
    } finally {
      NonBlocking.clear();
    }
  }

  private Function<ServerWebExchange, Mono<Void>> echo() {
    return exchange -> DataBufferUtils.join(exchange.getRequest().getBody())
        .flatMap(body -> {
          runs.incrementAndGet();
          exchange.getResponse().setStatusCode(HttpStatus.CREATED);
          return exchange.getResponse().writeWith(Mono.just(body));
        });
  }

  /**
   * Asserts that {@code exchange} was answered {@code status} with a problem naming {@code
   * problem}, that the handler never ran and that {@code key} has no record.
   */
  private void assertRefused(MockServerWebExchange exchange, int status, String problem,
      String key) {
    assertThat(exchange.getResponse().getStatusCode().value()).isEqualTo(status);
    assertThat(exchange.getResponse().getBodyAsString().block()).contains(problem);
    assertThat(runs).hasValue(0);
    assertThat(store.peek(key)).isNull();
  }

  /** Asserts that the echo handler ran and answered 201 with the whole {@code {"amount":100}}. */
  private void assertEchoedWhole(MockServerWebExchange exchange) {
    assertThat(exchange.getResponse().getStatusCode()).isEqualTo(HttpStatus.CREATED);
    assertThat(exchange.getResponse().getBodyAsString().block()).isEqualTo("{\"amount\":100}");
    assertThat(runs).hasValue(1);
  }

  /** Asserts that {@code count} buffers were sent and each was released. */
  private static void assertAllReleased(List<NettyDataBuffer> sent, int count) {
    assertThat(sent).hasSize(count).allSatisfy(buffer ->
        assertThat(buffer.getNativeBuffer().refCnt()).isZero());
  }

  private static Mono<Void> created(ServerWebExchange exchange) {
    exchange.getResponse().setStatusCode(HttpStatus.CREATED);
    return exchange.getResponse().setComplete();
  }

  private static Mono<Void> filter(Once once, ServerWebExchange exchange,
      Function<ServerWebExchange, Mono<Void>> handler) {
    WebFilterChain chain = handler::apply;
    return new OnceWebFilter(once).filter(exchange, chain);
  }

  private static MockServerWebExchange keyed(String key, Flux<DataBuffer> body) {
    return MockServerWebExchange.from(MockServerHttpRequest.post("/pay")
        .header("Idempotency-Key", key).body(body));
  }

  private static ServerWebExchange as(String name, ServerWebExchange exchange) {
    Principal principal = () -> name;
    return exchange.mutate().principal(Mono.just(principal)).build();
  }

  /**
   * The exchange, its response a connection whose client hangs up after the first buffer: the
   * writer takes and releases that one, stops taking the body and fails, as Reactor Netty's does.
   */
  private static ServerWebExchange hangsUpAfterOneBuffer(ServerWebExchange exchange) {
    ServerHttpResponse response = new ServerHttpResponseDecorator(exchange.getResponse()) {
      @Override
      public Mono<Void> writeWith(Publisher<? extends DataBuffer> body) {
        return Flux.<DataBuffer>from(body).take(1).doOnNext(DataBufferUtils::release)
            .then(Mono.error(new IOException("Connection reset by peer")));
      }
    };
    return new ServerWebExchangeDecorator(exchange) {
      @Override
      public ServerHttpResponse getResponse() {
        return response;
      }
    };
  }

  /** The exchange, its response recording each buffer that goes out and the completion. */
  private static ServerWebExchange recorded(ServerWebExchange exchange, List<String> events) {
    ServerHttpResponse response = new ServerHttpResponseDecorator(exchange.getResponse()) {
      @Override
      public Mono<Void> writeWith(Publisher<? extends DataBuffer> body) {
        Publisher<DataBuffer> watched = Flux.<DataBuffer>from(body)
            .doOnNext(buffer -> events.add("out " + buffer.toString(StandardCharsets.UTF_8)))
            .doOnComplete(() -> events.add("complete"));
        return super.writeWith(body instanceof Mono ? Mono.from(watched) : watched);
      }
    };
    return new ServerWebExchangeDecorator(exchange) {
      @Override
      public ServerHttpResponse getResponse() {
        return response;
      }
    };
  }

  private static Flux<DataBuffer> pooledBody(List<NettyDataBuffer> sent, String... parts) {
    return Flux.fromArray(parts).map(part -> {
      NettyDataBuffer buffer = POOLED.allocateBuffer(part.length());
      buffer.write(bytes(part));
      sent.add(buffer);
      return buffer;
    });
  }

  private static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  /** The test's store, for a test to change an operation of. */
  private abstract class Decorated extends ForwardingIdempotencyStore {
    @Override
    protected IdempotencyStore delegate() {
      return store;
    }
  }

  /** The test's store, recording when a record is kept, beside the buffers going out. */
  private final class Recording extends Decorated {
    private final List<String> events;

    Recording(List<String> events) {
      this.events = events;
    }

    @Override
    public CompletionStage<Boolean> completeAsync(String key, Token token,
        StoredResponse response, Duration ttl) {
      return super.completeAsync(key, token, response, ttl).thenApply(kept -> {
        events.add("kept");
        return kept;
      });
    }
  }
}
