package dev.once.spring;

import dev.once.Once;
import dev.once.webflux.OnceWebFilter;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.springframework.beans.factory.BeanFactoryUtils;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.context.ApplicationContext;
import org.springframework.core.annotation.AnnotationAwareOrderComparator;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.codec.multipart.Part;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.http.server.reactive.ServerHttpResponseDecorator;
import org.springframework.util.LinkedMultiValueMap;
import org.springframework.util.MultiValueMap;
import org.springframework.web.bind.annotation.RequestMethod;
import org.springframework.web.method.HandlerMethod;
import org.springframework.web.reactive.HandlerMapping;
import org.springframework.web.reactive.result.method.RequestMappingInfo;
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
 * <p>The endpoints are found once, when every singleton exists; an invalid annotation stops the
 * application at start. Thread-safe after that.
 */
final class IdempotentWebFluxEndpoints implements SmartInitializingSingleton {
  /** What a mapping that failed the lookup (405, 415, ...) stands for: not an endpoint. */
  private static final Object NO_HANDLER = new Object();

  private final Once once;
  private final ApplicationContext context;
  private volatile Index index;

  IdempotentWebFluxEndpoints(Once once, ApplicationContext context) {
    this.once = once;
    this.context = context;
  }

  @Override
  public void afterSingletonsInstantiated() {
    index = scan();
  }

  /**
   * @param exchange a request
   * @return the filter of the annotated endpoint that will handle it, or empty if its handler is
   *     not annotated (or there is none, or the dispatcher will refuse it)
   */
  Mono<OnceWebFilter> filterFor(ServerWebExchange exchange) {
    Index current = index;
    if (current == null) {
      // a request before the context finished starting; the mappings are complete by now
      current = scan();
      index = current;
    }
    if (current.endpoints.isEmpty()
        || !current.methods.contains(exchange.getRequest().getMethod().name())) {
      return Mono.empty();
    }
    Map<Method, OnceWebFilter> endpoints = current.endpoints;
    LookupExchange lookup = new LookupExchange(exchange);
    return Flux.fromIterable(current.mappings)
        .concatMap(mapping -> mapping.getHandler(lookup).onErrorReturn(NO_HANDLER))
        .next()
        .flatMap(handler -> handler instanceof HandlerMethod
            ? Mono.justOrEmpty(endpoints.get(((HandlerMethod) handler).getMethod()))
            : Mono.empty());
  }

  /** @return the annotated handler methods and the engines their settings make */
  Map<Method, Once> engines() {
    Index current = index == null ? scan() : index;
    Map<Method, Once> engines = new LinkedHashMap<>();
    current.endpoints.forEach((method, filter) -> engines.put(method, filter.once()));
    return engines;
  }

  private Index scan() {
    Map<Method, Set<String>> annotated = new LinkedHashMap<>();
    Map<Method, Idempotent> annotations = new HashMap<>();
    for (RequestMappingInfoHandlerMapping mapping : BeanFactoryUtils.beansOfTypeIncludingAncestors(
        context, RequestMappingInfoHandlerMapping.class, true, false).values()) {
      for (Map.Entry<RequestMappingInfo, HandlerMethod> entry
          : mapping.getHandlerMethods().entrySet()) {
        HandlerMethod handler = entry.getValue();
        Idempotent annotation = IdempotentEndpoints.findAnnotation(handler);
        if (annotation == null) {
          continue;
        }
        annotations.put(handler.getMethod(), annotation);
        Set<RequestMethod> mapped = entry.getKey().getMethodsCondition().getMethods();
        Set<String> methods = annotated.computeIfAbsent(handler.getMethod(),
            method -> new LinkedHashSet<>());
        if (mapped.isEmpty()) {
          methods.addAll(once.methods());
        } else {
          mapped.forEach(method -> methods.add(method.name()));
        }
      }
    }
    Map<Method, OnceWebFilter> endpoints = new HashMap<>();
    Set<String> allMethods = new HashSet<>();
    annotated.forEach((method, methods) -> {
      Once engine =
          IdempotentEndpoints.engineFor(once, method, annotations.get(method), methods);
      endpoints.put(method, new OnceWebFilter(engine));
      allMethods.addAll(methods);
    });
    List<HandlerMapping> mappings = new ArrayList<>(BeanFactoryUtils
        .beansOfTypeIncludingAncestors(context, HandlerMapping.class, true, false).values());
    AnnotationAwareOrderComparator.sort(mappings);
    return new Index(mappings, endpoints, allMethods);
  }

  /** What the scan found, immutable. */
  private static final class Index {
    final List<HandlerMapping> mappings;
    final Map<Method, OnceWebFilter> endpoints;
    final Set<String> methods;

    Index(List<HandlerMapping> mappings, Map<Method, OnceWebFilter> endpoints,
        Set<String> methods) {
      this.mappings = List.copyOf(mappings);
      this.endpoints = Map.copyOf(endpoints);
      this.methods = Set.copyOf(methods);
    }
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
        public boolean setStatusCode(HttpStatusCode status) {
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
