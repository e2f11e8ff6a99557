package dev.once.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.Completion;
import dev.once.OnceListener;
import dev.once.Outcome;
import dev.once.spi.StoreException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * The listener the engine is given when the application has several (the meters and its own
 * beans): each hears every call, whatever another one does.
 */
class CompositeListenerTest {

  @Test
  void everyMethodOfTheListenerReachesEveryListenerEvenPastOneThatThrows() throws Exception {
    List<String> first = new CopyOnWriteArrayList<>();
    List<String> second = new CopyOnWriteArrayList<>();
    OnceListener composite = CompositeListener.of(
        List.of(recording(first, false), recording(new ArrayList<>(), true),
            recording(second, false)));
    List<String> expected = new ArrayList<>();

    for (Method method : OnceListener.class.getMethods()) {
      if (Modifier.isStatic(method.getModifiers())) {
        continue;
      }
      Object[] arguments = arguments(method);
      expected.add(method.getName() + Arrays.toString(arguments));
      method.invoke(composite, arguments);
    }

    assertThat(expected).as("the listener's methods")
        .anyMatch(call -> call.startsWith("onRenewed["))
        .anyMatch(call -> call.startsWith("onOwnershipLost["));
    assertThat(first).as("the first listener").containsExactlyElementsOf(expected);
    assertThat(second).as("the listener after the one that throws")
        .containsExactlyElementsOf(expected);
  }

  @Test
  void oneListenerIsUsedAsItIsAndNoneIsTheEmptyListener() {
    OnceListener only = new OnceListener() {};

    assertThat(CompositeListener.of(List.of(only))).isSameAs(only);
    assertThat(CompositeListener.of(List.of())).isSameAs(OnceListener.NOOP);
  }

  private static Object[] arguments(Method method) {
    Class<?>[] types = method.getParameterTypes();
    Object[] arguments = new Object[types.length];
    for (int i = 0; i < types.length; i++) {
      Class<?> type = types[i];
      if (type == String.class) {
        arguments[i] = "text-" + i;
      } else if (type == Outcome.class) {
        arguments[i] = Outcome.REPLAYED;
      } else if (type == Completion.class) {
        arguments[i] = Completion.HELD_OUTCOME_UNKNOWN;
      } else if (type == int.class) {
        arguments[i] = 201;
      } else if (type == StoreException.class) {
        arguments[i] = new StoreException("down", "key", null);
      } else {
        throw new AssertionError("no argument for " + type + " of " + method);
      }
    }
    return arguments;
  }

  /**
   * A listener whose every method, the interface's defaults included, records its call (and then
   * throws, if asked to).
   */
  private static OnceListener recording(List<String> calls, boolean throwing) {
    return (OnceListener) Proxy.newProxyInstance(CompositeListenerTest.class.getClassLoader(),
        new Class<?>[] {OnceListener.class}, (proxy, method, args) -> {
          if (method.getDeclaringClass() == Object.class) {
            return method.getName().equals("toString") ? "RecordingListener"
                : method.getName().equals("hashCode") ? System.identityHashCode(proxy)
                : proxy == args[0];
          }
          calls.add(method.getName() + Arrays.toString(args));
          if (throwing) {
            throw new IllegalStateException("a broken listener");
          }
          return null;
        });
  }
}
