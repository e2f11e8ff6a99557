package dev.once.benchmarks.http;

import dev.once.Once;
import dev.once.webflux.OnceWebFilter;
import java.net.URI;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.springframework.core.io.buffer.DataBufferUtils;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.codec.ServerCodecConfigurer;
import org.springframework.http.server.reactive.HttpHandler;
import org.springframework.http.server.reactive.ReactorHttpHandlerAdapter;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebFilter;
import org.springframework.web.server.WebHandler;
import org.springframework.web.server.adapter.WebHttpHandlerBuilder;
import reactor.core.publisher.Mono;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;

/**
 * One Spring WebFlux handler stack on Reactor Netty, on a free loopback port, with the same trivial
 * POST handler as {@link BenchServer} under one path per mode: {@code /bare/payments} without
 * once, and {@code /<mode>/payments} behind an {@link OnceWebFilter} for each engine. One server
 * and one filter chain for every mode (a dispatching filter picks the mode's {@code
 * OnceWebFilter} by path, or none for bare), so the modes share the event loops and JIT and differ
 * only by the filter.
 */
final class WebFluxBenchServer implements ModeServer {
  private final DisposableServer server;

  private WebFluxBenchServer(DisposableServer server) {
    this.server = server;
  }

  /**
   * Starts the server.
   *
   * @param filtered the engine of each filtered mode, by mode name
   * @return the running server
   */
  static WebFluxBenchServer start(Map<String, Once> filtered) {
    Map<String, WebFilter> filters = new HashMap<>();
    filtered.forEach((mode, once) ->
        filters.put("/" + mode + "/payments", new OnceWebFilter(once)));
    WebFilter byMode = (exchange, chain) -> {
      WebFilter filter = filters.get(exchange.getRequest().getPath().value());
      return filter == null ? chain.filter(exchange) : filter.filter(exchange, chain);
    };
    HttpHandler handler = WebHttpHandlerBuilder.webHandler(new Payments())
        .filter(byMode)
        .codecConfigurer(ServerCodecConfigurer.create())
        .build();
    DisposableServer server = HttpServer.create().host("127.0.0.1").port(0)
        .handle(new ReactorHttpHandlerAdapter(handler))
        .bindNow();
    return new WebFluxBenchServer(server);
  }

  @Override
  public URI uri(String mode) {
    return URI.create("http://127.0.0.1:" + server.port() + "/" + mode + "/payments");
  }

  @Override
  public void close() {
    server.disposeNow(Duration.ofSeconds(10));
  }

  /** The trivial handler: reads the body, answers 201 with a small JSON document. */
  static final class Payments implements WebHandler {
    @Override
    public Mono<Void> handle(ServerWebExchange exchange) {
      ServerHttpResponse response = exchange.getResponse();
      if (!exchange.getRequest().getPath().value().endsWith("/payments")) {
        response.setStatusCode(HttpStatus.NOT_FOUND);
        return response.setComplete();
      }
      return exchange.getRequest().getBody().doOnNext(DataBufferUtils::release).then(
          Mono.defer(() -> {
            response.setStatusCode(HttpStatus.CREATED);
            response.getHeaders().setContentType(MediaType.APPLICATION_JSON);
            response.getHeaders().setContentLength(BenchServer.CREATED.length);
            return response.writeWith(Mono.fromSupplier(
                () -> response.bufferFactory().wrap(BenchServer.CREATED)));
          }));
    }
  }
}
