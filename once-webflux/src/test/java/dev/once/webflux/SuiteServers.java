package dev.once.webflux;

import dev.once.suite.Handler;
import dev.once.suite.Reply;
import dev.once.suite.Request;
import dev.once.suite.RunningServer;
import dev.once.suite.ServerFactory;
import dev.once.suite.ServerSpec;
import java.time.Duration;
import java.util.Map;
import org.springframework.core.io.buffer.DataBufferFactory;
import org.springframework.core.io.buffer.DataBufferUtils;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.codec.ServerCodecConfigurer;
import org.springframework.http.server.reactive.HttpHandler;
import org.springframework.http.server.reactive.ReactorHttpHandlerAdapter;
import org.springframework.http.server.reactive.ServerHttpRequest;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.WebHandler;
import org.springframework.web.server.adapter.WebHttpHandlerBuilder;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;

/**
 * The shared HTTP suite's servers on Reactor Netty: Spring WebFlux's own handler stack ({@code
 * WebHttpHandlerBuilder}, as Spring Boot builds it) with {@link OnceWebFilter} in front of a
 * {@code WebHandler} that serves each of the suite's routes at its exact path, any method.
 *
 * <p>A {@link Handler.Blocking} runs as {@code Mono.fromCallable(...)} subscribed on a bounded
 * elastic scheduler of {@link ServerSpec#workerThreads()} threads (64 when unset), never on an
 * event loop; a {@link Handler.Async} is a {@code Mono.fromCompletionStage}. A failure reaches
 * WebFlux unhandled, which answers 500. The reply is written with its headers added one by one and
 * its body as a {@code Flux} of one buffer per chunk, with no length declared (Reactor Netty
 * chunks it).
 */
final class SuiteServers {
  private SuiteServers() {}

  static ServerFactory reactorNetty() {
    return SuiteServers::start;
  }

  private static RunningServer start(ServerSpec spec) {
    int threads = spec.workerThreads() > 0 ? spec.workerThreads() : 64;
    Scheduler blocking = Schedulers.newBoundedElastic(threads, 100_000, "suite-handler");
    HttpHandler http = WebHttpHandlerBuilder.webHandler(routes(spec.routes(), blocking))
        .filter(new OnceWebFilter(spec.once()))
        // made here, as Spring Boot makes it at start: its first use reads the codecs' defaults
        // from a class path resource, which on an event loop BlockHound rightly calls blocking
        .codecConfigurer(ServerCodecConfigurer.create())
        .build();
    DisposableServer server = HttpServer.create()
        .host("127.0.0.1")
        .port(0)
        .handle(new ReactorHttpHandlerAdapter(http))
        .bindNow();
    return new RunningServer() {
      @Override
      public int port() {
        return server.port();
      }

      @Override
      public void close() {
        server.disposeNow(Duration.ofSeconds(10));
        blocking.dispose();
      }
    };
  }

  private static WebHandler routes(Map<String, Handler> routes, Scheduler blocking) {
    return exchange -> {
      ServerHttpRequest request = exchange.getRequest();
      Handler handler = routes.get(request.getURI().getRawPath());
      if (handler == null) {
        exchange.getResponse().setStatusCode(HttpStatus.NOT_FOUND);
        return exchange.getResponse().setComplete();
      }
      return DataBufferUtils.join(request.getBody())
          .map(KeyedRequest::bytes)
          .defaultIfEmpty(new byte[0])
          .map(body -> new Request(request.getMethod().name(), request.getURI().getRawPath(),
              request.getURI().getRawQuery(), body))
          .flatMap(call -> reply(handler, call, blocking))
          .flatMap(reply -> write(reply, exchange));
    };
  }

  private static Mono<Reply> reply(Handler handler, Request call, Scheduler blocking) {
    if (handler instanceof Handler.Blocking blockingHandler) {
      return Mono.fromCallable(() -> blockingHandler.handle(call)).subscribeOn(blocking);
    }
    return Mono.defer(() -> Mono.fromCompletionStage(((Handler.Async) handler).handle(call)));
  }

  private static Mono<Void> write(Reply reply, ServerWebExchange exchange) {
    ServerHttpResponse response = exchange.getResponse();
    response.setStatusCode(HttpStatusCode.valueOf(reply.status()));
    for (Reply.Header header : reply.headers()) {
      response.getHeaders().add(header.name(), header.value());
    }
    DataBufferFactory buffers = response.bufferFactory();
    return response.writeWith(Flux.fromIterable(reply.chunks()).map(buffers::wrap));
  }
}
