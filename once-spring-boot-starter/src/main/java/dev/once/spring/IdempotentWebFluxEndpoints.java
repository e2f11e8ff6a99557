package dev.once.spring;

import dev.once.Once;
import dev.once.spring.AnnotatedEndpoints.HandlerMethods;
import dev.once.spring.AnnotatedEndpoints.Stack;
import dev.once.webflux.OnceWebFilter;
import java.lang.reflect.Method;
import java.util.HashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.context.ApplicationContext;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.codec.multipart.Part;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.http.server.reactive.ServerHttpResponseDecorator;
import org.springframework.util.LinkedMultiValueMap;
import org.springframework.util.MultiValueMap;
import org.springframework.web.method.HandlerMethod;
import org.springframework.web.reactive.HandlerMapping;
import org.springframework.web.reactive.result.method.RequestMappingInfoHandlerMapping;
import org.springframework.web.server.ServerWebExchange;
import org.springframework.web.server.ServerWebExchangeDecorator;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The Spring WebFlux handler methods that carry {@link Idempotent}, each with the {@link
 * OnceWebFilter} its settings make, and the lookup of a request's handler: the reactive twin of
 * {@link IdempotentEndpoints}, for the same reason (the engine must see the request before the
 * handler, and must write and keep the response, which only a {@code WebFilter} can do).
 *
 * <p>The lookup asks the application's WebFlux {@link HandlerMapping}s, in the {@code
 * DispatcherHandler}'s order, which handler the request will reach, without blocking (each
 * mapping's own {@code Mono}). It runs on a view of the exchange whose attributes, response
 * headers and status are its own, so a mapping's traces (the matched pattern, CORS headers) stay
 * out of the real dispatch, and whose form and multipart data are empty, so it never reads the
 * body. It is done only for requests whose method an annotated endpoint takes, and not at all
 * when no endpoint is annotated.
 *
 * <p>The endpoints are found once, when every singleton exists, by the scan both stacks share
 * ({@link AnnotatedEndpoints}); an invalid annotation stops the application at start. Thread-safe
 * after that.
 */
final class IdempotentWebFluxEndpoints implements SmartInitializingSingleton {
  /** What a mapping that failed the lookup (405, 415, ...) stands for: not an endpoint. */
  private static final Object NO_HANDLER = new Object();

  /** Spring WebFlux's handler mappings, its request-mapped handler methods and its filter. */
  private static final Stack<HandlerMapping, OnceWebFilter> WEBFLUX =
      new Stack<>(HandlerMapping.class,
      HandlerMethods.of(RequestMappingInfoHandlerMapping.class,
          RequestMappingInfoHandlerMapping::getHandlerMethods,
          info -> info.getMethodsCondition().getMethods()),
      OnceWebFilter::new);

  private final AnnotatedEndpoints<HandlerMapping, OnceWebFilter> endpoints;

  IdempotentWebFluxEndpoints(Once once, ApplicationContext context) {
    this.endpoints = new AnnotatedEndpoints<>(once, context, WEBFLUX);
  }

  @Override
  public void afterSingletonsInstantiated() {
    endpoints.scan();
  }

  /**
   * @param exchange a request
   * @return the filter of the annotated endpoint that will handle it, or empty if its handler is
   *     not annotated (or there is none, or the dispatcher will refuse it)
   */
  Mono<OnceWebFilter> filterFor(ServerWebExchange exchange) {
    AnnotatedEndpoints.Index<HandlerMapping, OnceWebFilter> current =
        endpoints.indexFor(exchange.getRequest().getMethod().name());
    if (current == null) {
      return Mono.empty();
    }
    Map<Method, OnceWebFilter> filters = current.endpoints();
    LookupExchange lookup = new LookupExchange(exchange);
    return Flux.fromIterable(current.mappings())
        .concatMap(mapping -> mapping.getHandler(lookup).onErrorReturn(NO_HANDLER))
        .next()
        .flatMap(handler -> handler instanceof HandlerMethod
            ? Mono.justOrEmpty(filters.get(((HandlerMethod) handler).getMethod()))
            : Mono.empty());
  }

  /** @return the annotated handler methods and the engines their settings make */
  Map<Method, Once> engines() {
    return endpoints.engines();
  }


  /**
   * The exchange as the handler lookup sees it: attributes set there stay there, response headers
   * and status set there (a CORS check's) are written to a copy, and form and multipart data are
   * empty, so the lookup leaves nothing behind and reads no body.
   */
  static final class LookupExchange extends ServerWebExchangeDecorator {
    private final Map<String, Object> attributes;
    private final ServerHttpResponse response;

    LookupExchange(ServerWebExchange exchange) {
      super(exchange);
      this.attributes = new HashMap<>(exchange.getAttributes());
      HttpHeaders headers = new HttpHeaders();
      headers.addAll(exchange.getResponse().getHeaders());
      this.response = new ServerHttpResponseDecorator(exchange.getResponse()) {
        @Override
        public HttpHeaders getHeaders() {
          return headers;
        }

        @Override
        public boolean setStatusCode(@Nullable HttpStatusCode status) {
          return false;
        }
      };
    }

    @Override
    public Map<String, Object> getAttributes() {
      return attributes;
    }

    @Override
    public ServerHttpResponse getResponse() {
      return response;
    }

    @Override
    public Mono<MultiValueMap<String, String>> getFormData() {
      return Mono.just(new LinkedMultiValueMap<>());
    }

    @Override
    public Mono<MultiValueMap<String, Part>> getMultipartData() {
      return Mono.just(new LinkedMultiValueMap<>());
    }
  }
}
