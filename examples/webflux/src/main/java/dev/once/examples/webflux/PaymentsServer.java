package dev.once.examples.webflux;

import dev.once.MemoryStore;
import dev.once.Once;
import dev.once.webflux.OnceWebFilter;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.springframework.http.MediaType;
import org.springframework.http.server.reactive.HttpHandler;
import org.springframework.http.server.reactive.ReactorHttpHandlerAdapter;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.RouterFunctions;
import org.springframework.web.reactive.function.server.ServerRequest;
import org.springframework.web.reactive.function.server.ServerResponse;
import org.springframework.web.reactive.handler.WebFluxResponseStatusExceptionHandler;
import org.springframework.web.server.adapter.WebHttpHandlerBuilder;
import reactor.core.publisher.Mono;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;

/** A payments service on Spring WebFlux and Reactor Netty whose POST runs once per key. */
public final class PaymentsServer {
  private PaymentsServer() {}

  /** POST charges a card, so it must run once per key; GET counts the charges made. */
  static final class Payments {
    private final AtomicLong executions = new AtomicLong();

    Mono<ServerResponse> pay(ServerRequest request) {
      return request.bodyToMono(String.class).defaultIfEmpty("") // the payment to make
          .flatMap(payment -> {
            long n = executions.incrementAndGet();
            return ServerResponse.created(URI.create("/payments/pay_" + n))
                .contentType(MediaType.APPLICATION_JSON)
                .bodyValue("{\"id\":\"pay_" + n + "\",\"status\":\"created\",\"executions\":"
                    + n + "}\n");
          });
    }

    Mono<ServerResponse> count(ServerRequest request) {
      return ServerResponse.ok().contentType(MediaType.APPLICATION_JSON)
          .bodyValue("{\"executions\":" + executions.get() + "}\n");
    }
  }

  /** Starts the service on {@code host:port} (port 0: a free one); the caller stops it. */
  public static DisposableServer start(String host, int port) {
    Once once = Once.builder(MemoryStore.create())
        .ttl(Duration.ofHours(1))
        .requireKey(true)
        .build();

    Payments payments = new Payments();
    RouterFunction<ServerResponse> routes = RouterFunctions.route()
        .POST("/payments", payments::pay)
        .GET("/payments", payments::count)
        .build();
    HttpHandler handler = WebHttpHandlerBuilder.webHandler(RouterFunctions.toWebHandler(routes))
        .filter(new OnceWebFilter(once))
        .exceptionHandler(new WebFluxResponseStatusExceptionHandler())
        .build();

    return HttpServer.create().host(host).port(port)
        .handle(new ReactorHttpHandlerAdapter(handler))
        .bindNow();
  }

  public static void main(String[] args) {
    String port = System.getenv("PORT");
    DisposableServer server = start("127.0.0.1",
        port == null || port.isBlank() ? 8080 : Integer.parseInt(port));
    System.out.println("once WebFlux example listening on http://127.0.0.1:" + server.port());
    server.onDispose().block();
  }
}
