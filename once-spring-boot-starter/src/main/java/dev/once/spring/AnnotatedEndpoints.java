package dev.once.spring;

import dev.once.Once;
import java.lang.reflect.Method;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.BiConsumer;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import org.springframework.beans.factory.BeanFactoryUtils;
import org.springframework.context.ApplicationContext;
import org.springframework.core.annotation.AnnotatedElementUtils;
import org.springframework.core.annotation.AnnotationAwareOrderComparator;
import org.springframework.web.bind.annotation.RequestMethod;
import org.springframework.web.method.HandlerMethod;

/**
 * What the Spring MVC and the WebFlux lookups of {@link Idempotent} endpoints share ({@link
 * IdempotentEndpoints}, {@link IdempotentWebFluxEndpoints}): the scan of the application's request
 * mappings for the handler methods that carry the annotation, each with the engine its settings
 * make and the stack's filter over that engine, and the index the scan leaves for the lookups.
 *
 * <p>The scan runs when every singleton exists (the handler mappings have registered their handlers
 * by then), or at the first request if that comes before; an invalid annotation stops the
 * application at start. Thread-safe after that.
 *
 * @param <M> the stack's handler mapping, which the lookup asks
 * @param <F> the stack's filter
 */
final class AnnotatedEndpoints<M, F> {
  /** How a stack lists its handler methods: each with the HTTP methods its mapping names. */
  interface HandlerMethods {
    /**
     * @param context the application
     * @param each called with each handler method of a request mapping and the HTTP methods the
     *     mapping names (none: any)
     */
    void forEach(ApplicationContext context, BiConsumer<HandlerMethod, Set<RequestMethod>> each);

    /**
     * @param mappingType the stack's handler mapping of request-mapped methods
     * @param handlerMethods its handler methods, by mapping
     * @param httpMethods the HTTP methods a mapping names
     * @return the handler methods of every such mapping bean
     */
    static <R, I> HandlerMethods of(Class<R> mappingType,
        Function<R, Map<I, HandlerMethod>> handlerMethods,
        Function<I, Set<RequestMethod>> httpMethods) {
      return (context, each) -> {
        for (R mapping : beans(context, mappingType)) {
          handlerMethods.apply(mapping)
              .forEach((info, handler) -> each.accept(handler, httpMethods.apply(info)));
        }
      };
    }
  }

  /**
   * What differs between the stacks.
   *
   * @param mappingType the handler mapping the lookup asks
   * @param handlerMethods how the stack lists its handler methods
   * @param filter the stack's filter over an endpoint's engine
   */
  record Stack<M, F>(Class<M> mappingType, HandlerMethods handlerMethods,
      Function<Once, F> filter) {}

  private final Once once;
  private final ApplicationContext context;
  private final Stack<M, F> stack;
  private volatile @Nullable Index<M, F> index;

  /**
   * @param once the application's engine
   * @param context the application
   * @param stack the stack's types and its way of listing handler methods
   */
  AnnotatedEndpoints(Once once, ApplicationContext context, Stack<M, F> stack) {
    this.once = once;
    this.context = context;
    this.stack = stack;
  }

  /** Finds the endpoints: called when every singleton exists. */
  void scan() {
    index = newIndex();
  }

  /**
   * @param method a request's HTTP method
   * @return what the scan found, or null if no annotated endpoint takes {@code method} (or none is
   *     annotated), when no lookup is needed
   */
  @Nullable Index<M, F> indexFor(String method) {
    Index<M, F> current = index;
    if (current == null) {
      // a request before the context finished starting; the mappings are complete by now
      current = newIndex();
      index = current;
    }
    if (current.endpoints().isEmpty() || !current.methods().contains(method)) {
      return null;
    }
    return current;
  }

  /** @return the annotated handler methods and the engines their settings make */
  Map<Method, Once> engines() {
    Index<M, F> scanned = index;
    Index<M, F> current = scanned == null ? newIndex() : scanned;
    Map<Method, Once> engines = new LinkedHashMap<>();
    current.endpoints().keySet()
        .forEach(method -> engines.put(method, current.engines().get(method)));
    return engines;
  }

  private Index<M, F> newIndex() {
    Map<Method, Set<String>> annotated = new LinkedHashMap<>();
    Map<Method, Idempotent> annotations = new HashMap<>();
    stack.handlerMethods().forEach(context, (handler, mapped) -> {
      Idempotent annotation = findAnnotation(handler);
      if (annotation == null) {
        return;
      }
      annotations.put(handler.getMethod(), annotation);
      Set<String> methods = annotated.computeIfAbsent(handler.getMethod(),
          method -> new LinkedHashSet<>());
      if (mapped.isEmpty()) {
        methods.addAll(once.methods());
      } else {
        mapped.forEach(method -> methods.add(method.name()));
      }
    });
    Map<Method, F> endpoints = new HashMap<>();
    Map<Method, Once> engines = new HashMap<>();
    Set<String> allMethods = new HashSet<>();
    annotated.forEach((method, methods) -> {
      Idempotent annotation =
          Objects.requireNonNull(annotations.get(method), "the scan keeps each one's annotation");
      Once engine = engineFor(once, method, annotation, methods);
      engines.put(method, engine);
      endpoints.put(method, stack.filter().apply(engine));
      allMethods.addAll(methods);
    });
    List<M> mappings = new ArrayList<>(beans(context, stack.mappingType()));
    AnnotationAwareOrderComparator.sort(mappings);
    return new Index<>(mappings, endpoints, engines, allMethods);
  }

  /**
   * @param context the application
   * @param type a bean type
   * @return the beans of that type in the context and its ancestors
   */
  private static <T> Collection<T> beans(ApplicationContext context, Class<T> type) {
    return BeanFactoryUtils.beansOfTypeIncludingAncestors(context, type, true, false).values();
  }

  /** @return the annotation on the handler's method, else on its bean's type; null if neither */
  private static @Nullable Idempotent findAnnotation(HandlerMethod handler) {
    Idempotent annotation =
        AnnotatedElementUtils.findMergedAnnotation(handler.getMethod(), Idempotent.class);
    return annotation != null
        ? annotation
        : AnnotatedElementUtils.findMergedAnnotation(handler.getBeanType(), Idempotent.class);
  }

  /**
   * @param once the application's engine
   * @param method the annotated handler method
   * @param annotation its annotation
   * @param methods the HTTP methods it is mapped to
   * @return the endpoint's engine: the application's, with the endpoint's methods and settings
   * @throws InvalidOncePropertyException if the annotation's ttl cannot be used
   */
  private static Once engineFor(Once once, Method method, Idempotent annotation,
      Set<String> methods) {
    String where = "@Idempotent on " + method.getDeclaringClass().getName() + "."
        + method.getName();
    Once.Builder builder = once.toBuilder().methods(methods);
    if (!annotation.ttl().isBlank()) {
      Duration ttl;
      try {
        ttl = OnceBinding.duration(annotation.ttl());
      } catch (IllegalArgumentException e) {
        throw new InvalidOncePropertyException("ttl of " + where, annotation.ttl(), null,
            e.getMessage());
      }
      try {
        builder.ttl(ttl);
      } catch (IllegalArgumentException e) {
        throw new InvalidOncePropertyException("ttl of " + where, annotation.ttl(), null,
            e.getMessage());
      }
    }
    if (annotation.requireKey()) {
      builder.requireKey(true);
    }
    return builder.build();
  }

  /**
   * What the scan found, immutable.
   *
   * @param mappings the stack's handler mappings, in its dispatcher's order
   * @param endpoints the filter of each annotated handler method
   * @param engines the engine of each annotated handler method
   * @param methods the HTTP methods any annotated endpoint takes
   */
  record Index<M, F>(List<M> mappings, Map<Method, F> endpoints, Map<Method, Once> engines,
      Set<String> methods) {
    Index {
      mappings = List.copyOf(mappings);
      endpoints = Map.copyOf(endpoints);
      engines = Map.copyOf(engines);
      methods = Set.copyOf(methods);
    }
  }
}
