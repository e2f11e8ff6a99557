package dev.once.jaxrs;

import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.ext.ExceptionMapper;
import jakarta.ws.rs.ext.Providers;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * On Jersey, finishes the record of a keyed request whose resource failed with an exception that no
 * mapper of the application maps, before Jersey's container answers it.
 *
 * <p>Jersey 3.1 hands such an exception (a synchronous method's, a failed stage's, an {@code
 * AsyncResponse} resumed with it) to its container, which sends its own 500 error page at once,
 * and only then runs its default exception mapper, whose response then finds the request
 * answered: the response filter would see the end of a response the client already has, and a
 * retry sent at once would get 409 while the key is still held. Jersey announces each exception to
 * its request event listeners before it does anything with it; for one the application has no
 * mapper of its own for (and not a {@link WebApplicationException}, which carries its response),
 * the key is released here, as for any handler failure before its response. An exception an
 * application mapper turns into a response takes the usual way, through the response filter.
 *
 * <p>Jersey's listener interfaces are implemented by a {@link Proxy} and its events read by
 * reflection, so this module needs no Jersey jar (whose packages are split across jars, which the
 * module system refuses).
 */
final class JerseyFailures {
  private static final String MONITORING = "org.glassfish.jersey.server.monitoring.";
  private static final String JERSEY_DEFAULT_MAPPER =
      "org.glassfish.jersey.server.DefaultExceptionMapper";
  private static final String JERSEY_MAPPABLE =
      "org.glassfish.jersey.server.internal.process.MappableException";

  private JerseyFailures() {}

  /**
   * @param loader the class loader of Jersey's classes
   * @param providers the application's providers, once the runtime has injected them
   * @return Jersey's application event listener, or null when Jersey's server is not there
   */
  static @Nullable Object listener(ClassLoader loader, Supplier<Providers> providers) {
    try {
      Class<?> applicationListener =
          Class.forName(MONITORING + "ApplicationEventListener", false, loader);
      Class<?> requestListener = Class.forName(MONITORING + "RequestEventListener", false, loader);
      Class<?> requestEvent = Class.forName(MONITORING + "RequestEvent", false, loader);
      Events events = new Events(requestEvent.getMethod("getType"),
          requestEvent.getMethod("getExceptionCause"), requestEvent.getMethod("getException"),
          requestEvent.getMethod("getContainerRequest"), providers);
      Object perRequest = Proxy.newProxyInstance(loader, new Class<?>[] {requestListener},
          handler("onEvent", events::onEvent, null));
      return Proxy.newProxyInstance(loader, new Class<?>[] {applicationListener},
          handler("onRequest", event -> { }, perRequest));
    } catch (ReflectiveOperationException | LinkageError | IllegalArgumentException e) {
      return null;
    }
  }

  /** A handler calling {@code action} for {@code method}, answering {@code result}. */
  private static InvocationHandler handler(
      String method, Consumer<Object> action, @Nullable Object result) {
    return (proxy, called, args) -> {
      switch (called.getName()) {
        case "equals":
          return proxy == args[0];
        case "hashCode":
          return System.identityHashCode(proxy);
        case "toString":
          return "once's listener of Jersey's unmapped exceptions";
        default:
          if (called.getName().equals(method)) {
            action.accept(args[0]);
            return result;
          }
          return null; // the application's own events
      }
    };
  }

  /** Reads Jersey's request events. */
  private static final class Events {
    private final Method type;
    private final Method cause;
    private final Method exception;
    private final Method request;
    private final Supplier<Providers> providers;

    Events(Method type, Method cause, Method exception, Method request,
        Supplier<Providers> providers) {
      this.type = type;
      this.cause = cause;
      this.exception = exception;
      this.request = request;
      this.providers = providers;
    }

    void onEvent(Object event) {
      try {
        if (!"ON_EXCEPTION".equals(String.valueOf(type.invoke(event)))
            || !"ORIGINAL".equals(String.valueOf(cause.invoke(event)))) {
          return;
        }
        Object keyed = ((ContainerRequestContext) request.invoke(event)).getProperty(Gate.KEYED);
        if (!(keyed instanceof KeyedResponse)) {
          return;
        }
        Throwable failure = (Throwable) exception.invoke(event);
        if (failure != null && !mappedByTheApplication(failure)) {
          KeyedResponse.await(((KeyedResponse) keyed).exchange().failedBeforeCommit(failure));
        }
      } catch (ReflectiveOperationException | RuntimeException e) {
        // a Jersey whose events differ: the key is freed when its lease passes
      }
    }

    /** As Jersey looks for a mapper: through its own wrapper and the concurrent ones. */
    private boolean mappedByTheApplication(Throwable failure) {
      Providers known = providers.get();
      Throwable current = failure;
      if (JERSEY_MAPPABLE.equals(current.getClass().getName()) && current.getCause() != null) {
        current = current.getCause();
      }
      while (current != null) {
        if (current instanceof WebApplicationException) {
          return true;
        }
        ExceptionMapper<?> mapper = known == null ? null : mapperOf(known, current);
        if (mapper != null && !JERSEY_DEFAULT_MAPPER.equals(mapper.getClass().getName())) {
          return true;
        }
        current = current instanceof CompletionException || current instanceof ExecutionException
            ? current.getCause()
            : null;
      }
      return false;
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static ExceptionMapper<?> mapperOf(Providers providers, Throwable failure) {
      return providers.getExceptionMapper((Class) failure.getClass());
    }
  }
}
