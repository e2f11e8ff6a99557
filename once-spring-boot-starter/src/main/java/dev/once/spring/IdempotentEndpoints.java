package dev.once.spring;

import dev.once.Once;
import dev.once.servlet.OnceFilter;
import dev.once.spring.AnnotatedEndpoints.HandlerMethods;
import dev.once.spring.AnnotatedEndpoints.Stack;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import java.lang.reflect.Method;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
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
import org.jspecify.annotations.Nullable;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.context.ApplicationContext;
import org.springframework.web.method.HandlerMethod;
import org.springframework.web.servlet.HandlerExecutionChain;
import org.springframework.web.servlet.HandlerMapping;
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
 * <p>The endpoints are found once, when every singleton exists, by the scan both stacks share
 * ({@link AnnotatedEndpoints}); an invalid annotation stops the application at start. Thread-safe
 * after that.
 */
final class IdempotentEndpoints implements SmartInitializingSingleton {
  /** Spring MVC's handler mappings, its request-mapped handler methods and its filter. */
  private static final Stack<HandlerMapping, OnceFilter> MVC = new Stack<>(HandlerMapping.class,
      HandlerMethods.of(RequestMappingInfoHandlerMapping.class,
          RequestMappingInfoHandlerMapping::getHandlerMethods,
          info -> info.getMethodsCondition().getMethods()),
      OnceFilter::new);

  private final AnnotatedEndpoints<HandlerMapping, OnceFilter> endpoints;

  IdempotentEndpoints(Once once, ApplicationContext context) {
    this.endpoints = new AnnotatedEndpoints<>(once, context, MVC);
  }

  @Override
  public void afterSingletonsInstantiated() {
    endpoints.scan();
  }

  /**
   * @param request a request
   * @return the filter of the annotated endpoint that will handle it, or null if its handler is
   *     not annotated (or there is none)
   */
  @Nullable OnceFilter filterFor(HttpServletRequest request) {
    AnnotatedEndpoints.Index<HandlerMapping, OnceFilter> current =
        endpoints.indexFor(request.getMethod());
    if (current == null) {
      return null;
    }
    Method handler = handlerOf(current.mappings(), request);
    return handler == null ? null : current.endpoints().get(handler);
  }

  /** @return the annotated handler methods and the engines their settings make */
  Map<Method, Once> engines() {
    return endpoints.engines();
  }


  /** @return the handler method the dispatcher will pick for the request, or null */
  private static @Nullable Method handlerOf(List<HandlerMapping> mappings,
      HttpServletRequest request) {
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

  /**
   * The request as the handler lookup sees it: attributes set or removed stay in this view, and
   * parameters are the query string's, so the lookup reads no body (a form's parameters would
   * otherwise be parsed from it, leaving nothing for the engine and the handler).
   */
  static final class LookupRequest extends HttpServletRequestWrapper {
    private final Map<String, Object> attributes = new HashMap<>();
    private final Set<String> removed = new HashSet<>();
    private @Nullable Map<String, String[]> parameters;

    LookupRequest(HttpServletRequest request) {
      super(request);
    }

    @Override
    public @Nullable Object getAttribute(String name) {
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
    public void setAttribute(String name, @Nullable Object value) {
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
    public @Nullable String getParameter(String name) {
      String[] values = parameters().get(name);
      return values == null ? null : values[0];
    }

    @Override
    public String @Nullable [] getParameterValues(String name) {
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
