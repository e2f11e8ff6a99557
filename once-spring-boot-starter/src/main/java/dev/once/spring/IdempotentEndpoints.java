package dev.once.spring;

import dev.once.Once;
import dev.once.servlet.OnceFilter;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import java.lang.reflect.Method;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.springframework.beans.factory.BeanFactoryUtils;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.boot.convert.DurationStyle;
import org.springframework.context.ApplicationContext;
import org.springframework.core.annotation.AnnotatedElementUtils;
import org.springframework.core.annotation.AnnotationAwareOrderComparator;
import org.springframework.web.bind.annotation.RequestMethod;
import org.springframework.web.method.HandlerMethod;
import org.springframework.web.servlet.HandlerExecutionChain;
import org.springframework.web.servlet.HandlerMapping;
import org.springframework.web.servlet.mvc.method.RequestMappingInfo;
import org.springframework.web.servlet.mvc.method.RequestMappingInfoHandlerMapping;
import org.springframework.web.util.ServletRequestPathUtils;

/**
 * The Spring MVC handler methods that carry {@link Idempotent}, each with the engine its settings
 * make, and the lookup of a request's handler.
 *
 * <p>Why a lookup in a filter: the engine must see the request before the handler does (to read
 * and fingerprint the body, and to answer replays without running it), and must wrap the response
 * to keep it, which only a servlet filter can do; an interceptor runs too late to replace the
 * request and response the handler is given. So the filter asks the application's {@link
 * HandlerMapping}s, in the {@code DispatcherServlet}'s order, which handler the request will reach,
 * as Spring Security's {@code HandlerMappingIntrospector} does. The lookup runs on a view of the
 * request whose attribute changes are its own and whose parameters come from the query string
 * only, so it neither leaves traces for the real dispatch nor reads the body. It is done only for
 * requests whose method an annotated endpoint takes, and not at all when no endpoint is annotated.
 *
 * <p>The endpoints are found once, when every singleton exists (the handler mappings have
 * registered their handlers by then); an invalid annotation stops the application at start.
 * Thread-safe after that.
 */
final class IdempotentEndpoints implements SmartInitializingSingleton {
  private final Once once;
  private final ApplicationContext context;
  private volatile Index index;

  IdempotentEndpoints(Once once, ApplicationContext context) {
    this.once = once;
    this.context = context;
  }

  @Override
  public void afterSingletonsInstantiated() {
    index = scan();
  }

  /**
   * @param request a request
   * @return the filter of the annotated endpoint that will handle it, or null if its handler is
   *     not annotated (or there is none)
   */
  OnceFilter filterFor(HttpServletRequest request) {
    Index current = index;
    if (current == null) {
      // a request before the context finished starting; the mappings are complete by now
      current = scan();
      index = current;
    }
    if (current.endpoints.isEmpty() || !current.methods.contains(request.getMethod())) {
      return null;
    }
    Method handler = current.handlerOf(request);
    return handler == null ? null : current.endpoints.get(handler);
  }

  /** @return the annotated handler methods and the engines their settings make */
  Map<Method, Once> engines() {
    Index current = index == null ? scan() : index;
    Map<Method, Once> engines = new LinkedHashMap<>();
    current.endpoints.forEach((method, filter) -> engines.put(method, current.engines.get(method)));
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
        Idempotent annotation = findAnnotation(handler);
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
    Map<Method, OnceFilter> endpoints = new HashMap<>();
    Map<Method, Once> engines = new HashMap<>();
    Set<String> allMethods = new HashSet<>();
    annotated.forEach((method, methods) -> {
      Once engine = engineFor(once, method, annotations.get(method), methods);
      engines.put(method, engine);
      endpoints.put(method, new OnceFilter(engine));
      allMethods.addAll(methods);
    });
    List<HandlerMapping> mappings = new ArrayList<>(BeanFactoryUtils
        .beansOfTypeIncludingAncestors(context, HandlerMapping.class, true, false).values());
    AnnotationAwareOrderComparator.sort(mappings);
    return new Index(mappings, endpoints, engines, allMethods);
  }

  /** @return the annotation on the handler's method, else on its bean's type; null if neither */
  static Idempotent findAnnotation(HandlerMethod handler) {
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
  static Once engineFor(Once once, Method method, Idempotent annotation, Set<String> methods) {
    String where = "@Idempotent on " + method.getDeclaringClass().getName() + "."
        + method.getName();
    Once.Builder builder = once.toBuilder().methods(methods);
    if (!annotation.ttl().isBlank()) {
      Duration ttl;
      try {
        ttl = DurationStyle.detectAndParse(annotation.ttl().trim());
      } catch (IllegalArgumentException e) {
        throw new InvalidOncePropertyException("ttl of " + where, annotation.ttl(), null,
            "not a duration; write it as 1h, 30m, 10s or PT1H");
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

  /** What the scan found, immutable. */
  private static final class Index {
    final List<HandlerMapping> mappings;
    final Map<Method, OnceFilter> endpoints;
    final Map<Method, Once> engines;
    final Set<String> methods;

    Index(List<HandlerMapping> mappings, Map<Method, OnceFilter> endpoints,
        Map<Method, Once> engines, Set<String> methods) {
      this.mappings = List.copyOf(mappings);
      this.endpoints = Map.copyOf(endpoints);
      this.engines = Map.copyOf(engines);
      this.methods = Set.copyOf(methods);
    }

    /** @return the handler method the dispatcher will pick for the request, or null */
    Method handlerOf(HttpServletRequest request) {
      LookupRequest lookup = new LookupRequest(request);
      try {
        ServletRequestPathUtils.parseAndCache(lookup);
        for (HandlerMapping mapping : mappings) {
          HandlerExecutionChain chain = mapping.getHandler(lookup);
          if (chain != null) {
            return chain.getHandler() instanceof HandlerMethod
                ? ((HandlerMethod) chain.getHandler()).getMethod()
                : null;
          }
        }
      } catch (Exception e) {
        // no handler fits (405, 415, ...): the dispatcher will answer that, without the engine
        return null;
      }
      return null;
    }
  }

  /**
   * The request as the handler lookup sees it: attributes set or removed stay in this view, and
   * parameters are the query string's, so the lookup reads no body (a form's parameters would
   * otherwise be parsed from it, leaving nothing for the engine and the handler).
   */
  static final class LookupRequest extends HttpServletRequestWrapper {
    private final Map<String, Object> attributes = new HashMap<>();
    private final Set<String> removed = new HashSet<>();
    private Map<String, String[]> parameters;

    LookupRequest(HttpServletRequest request) {
      super(request);
    }

    @Override
    public Object getAttribute(String name) {
      if (attributes.containsKey(name)) {
        return attributes.get(name);
      }
      return removed.contains(name) ? null : super.getAttribute(name);
    }

    @Override
    public Enumeration<String> getAttributeNames() {
      Set<String> names = new LinkedHashSet<>(Collections.list(super.getAttributeNames()));
      names.removeAll(removed);
      names.addAll(attributes.keySet());
      return Collections.enumeration(names);
    }

    @Override
    public void setAttribute(String name, Object value) {
      if (value == null) {
        removeAttribute(name);
        return;
      }
      attributes.put(name, value);
      removed.remove(name);
    }

    @Override
    public void removeAttribute(String name) {
      attributes.remove(name);
      removed.add(name);
    }

    @Override
    public String getParameter(String name) {
      String[] values = parameters().get(name);
      return values == null ? null : values[0];
    }

    @Override
    public String[] getParameterValues(String name) {
      String[] values = parameters().get(name);
      return values == null ? null : values.clone();
    }

    @Override
    public Map<String, String[]> getParameterMap() {
      return parameters();
    }

    @Override
    public Enumeration<String> getParameterNames() {
      return Collections.enumeration(parameters().keySet());
    }

    private Map<String, String[]> parameters() {
      if (parameters == null) {
        Map<String, List<String>> collected = new LinkedHashMap<>();
        String query = getQueryString();
        if (query != null) {
          for (String pair : query.split("&")) {
            if (pair.isEmpty()) {
              continue;
            }
            int eq = pair.indexOf('=');
            collected.computeIfAbsent(decode(eq < 0 ? pair : pair.substring(0, eq)),
                name -> new ArrayList<>()).add(eq < 0 ? "" : decode(pair.substring(eq + 1)));
          }
        }
        Map<String, String[]> map = new LinkedHashMap<>();
        collected.forEach((name, values) -> map.put(name, values.toArray(new String[0])));
        parameters = Collections.unmodifiableMap(map);
      }
      return parameters;
    }

    private static String decode(String text) {
      try {
        return URLDecoder.decode(text, StandardCharsets.UTF_8);
      } catch (IllegalArgumentException e) {
        return text;
      }
    }
  }
}
