package dev.once.jaxrs;

import jakarta.ws.rs.container.ContainerRequestContext;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import org.jspecify.annotations.Nullable;

/**
 * Suspends a request from inside a request filter, where the runtime allows it: Jakarta REST has no
 * such call, but RESTEasy's {@code SuspendableContainerRequestContext} and Quarkus REST's {@code
 * ResteasyReactiveContainerRequestContext} both add {@code suspend()} to the context, and both
 * resume a suspended request when {@code abortWith} is called on it later, from any thread. The
 * method is found by name on a sub-interface of {@link ContainerRequestContext}, so this module
 * depends on neither runtime.
 */
final class Suspension {
  private static final ClassValue<Method> SUSPEND = new ClassValue<>() {
    @Override
    protected @Nullable Method computeValue(Class<?> type) {
      return find(type);
    }
  };

  private Suspension() {}

  /**
   * @param context a request context, in a request filter
   * @return true if the request is now suspended: answer it later with {@code abortWith}; false if
   *     the runtime cannot suspend it
   */
  static boolean suspend(ContainerRequestContext context) {
    Method suspend = SUSPEND.get(context.getClass());
    if (suspend == null) {
      return false;
    }
    try {
      suspend.invoke(context);
      return true;
    } catch (IllegalAccessException | InvocationTargetException | RuntimeException e) {
      // a context that has the method but cannot suspend here (RESTEasy without a continuation)
      return false;
    }
  }

  private static @Nullable Method find(Class<?> type) {
    for (Class<?> c = type; c != null; c = c.getSuperclass()) {
      for (Class<?> contract : c.getInterfaces()) {
        Method found = findIn(contract);
        if (found != null) {
          return found;
        }
      }
    }
    return null;
  }

  private static @Nullable Method findIn(Class<?> contract) {
    if (contract != ContainerRequestContext.class
        && ContainerRequestContext.class.isAssignableFrom(contract)) {
      try {
        return contract.getMethod("suspend");
      } catch (NoSuchMethodException e) {
        // look further up
      }
    }
    for (Class<?> parent : contract.getInterfaces()) {
      Method found = findIn(parent);
      if (found != null) {
        return found;
      }
    }
    return null;
  }
}
