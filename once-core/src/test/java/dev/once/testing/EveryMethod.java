package dev.once.testing;

import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * What a test that calls every method of an interface by reflection needs, as one that proves a
 * decorator forwards each method: an implementation that answers each call, and arguments for
 * each call.
 */
public final class EveryMethod {
  private EveryMethod() {}

  /** How an implementation made by {@link #implement} answers a call. */
  @FunctionalInterface
  public interface Answer {
    /**
     * @param method the interface's method called
     * @param args its arguments, {@code null} for none
     * @return what the call returns
     * @throws Throwable what the call throws
     */
    Object answer(Method method, Object[] args) throws Throwable;
  }

  /**
   * @param type the interface
   * @param name what the implementation's {@code toString} says
   * @param answer answers every call of the interface's methods, default ones included
   * @return an implementation of {@code type} equal only to itself
   */
  public static <T> T implement(Class<T> type, String name, Answer answer) {
    return type.cast(Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type},
        (proxy, method, args) -> {
          if (method.getDeclaringClass() == Object.class) {
            return method.getName().equals("toString") ? name
                : method.getName().equals("hashCode") ? System.identityHashCode(proxy)
                : proxy == args[0];
          }
          return answer.answer(method, args);
        }));
  }

  /**
   * @param method the method to call
   * @param samples for each parameter type, its value given the parameter's position (so that two
   *     parameters of one type can differ)
   * @return one argument for each of the method's parameters
   * @throws AssertionError if {@code samples} has no value for a parameter's type
   */
  public static Object[] arguments(Method method, Map<Class<?>, IntFunction<Object>> samples) {
    Class<?>[] types = method.getParameterTypes();
    Object[] arguments = new Object[types.length];
    for (int i = 0; i < types.length; i++) {
      IntFunction<Object> sample = samples.get(types[i]);
      if (sample == null) {
        throw new AssertionError("no argument for " + types[i] + " of " + method);
      }
      arguments[i] = sample.apply(i);
    }
    return arguments;
  }
}
