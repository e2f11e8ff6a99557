package dev.once;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.spi.StoreException;
import dev.once.testing.EveryMethod;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * The listener the engine is given when the application has several (the meters and its own
 * beans): each hears every call, whatever another one does.
 */
class CompositeListenerTest {
  private static final Attempt ATTEMPT = new Attempt("scope key");

  @Test
  void everyMethodOfTheListenerReachesEveryListenerEvenPastOneThatThrows() throws Exception {
    List<String> first = new CopyOnWriteArrayList<>();
    List<String> second = new CopyOnWriteArrayList<>();
    OnceListener composite = OnceListener.of(
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
        .anyMatch(call -> call.startsWith("onOwnershipLost["))
        .anyMatch(call -> call.startsWith("onStoreCall["));
    assertThat(first).as("the first listener").containsExactlyElementsOf(expected);
    assertThat(second).as("the listener after the one that throws")
        .containsExactlyElementsOf(expected);
  }

  @Test
  void oneListenerIsUsedAsItIsAndNoneIsTheEmptyListener() {
    OnceListener only = new OnceListener() {};

    assertThat(OnceListener.of(List.of(only))).isSameAs(only);
    assertThat(OnceListener.of(List.of())).isSameAs(OnceListener.NOOP);
  }

  private static Object[] arguments(Method method) {
    return EveryMethod.arguments(method, Map.of(
        String.class, i -> "text-" + i,
        Outcome.class, i -> Outcome.REPLAYED,
        Completion.class, i -> Completion.HELD_OUTCOME_UNKNOWN,
        int.class, i -> 201,
        Duration.class, i -> Duration.ofMillis(250 + i),
        StoreException.class, i -> new StoreException("down", "key", null),
        Attempt.class, i -> ATTEMPT));
  }

  /**
   * A listener whose every method, the interface's defaults included, records its call (and then
   * throws, if asked to).
   */
  private static OnceListener recording(List<String> calls, boolean throwing) {
    return EveryMethod.implement(OnceListener.class, "RecordingListener", (method, args) -> {
      calls.add(method.getName() + Arrays.toString(args));
      if (throwing) {
        throw new IllegalStateException("a broken listener");
      }
      return null;
    });
  }
}
