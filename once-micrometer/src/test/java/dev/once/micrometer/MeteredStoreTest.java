package dev.once.micrometer;

import static java.util.Map.entry;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.once.Fingerprint;
import dev.once.StoredResponse;
import dev.once.spi.Claim;
import dev.once.spi.IdempotencyStore;
import dev.once.spi.StoreException;
import dev.once.spi.Token;
import dev.once.testing.EveryMethod;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import org.junit.jupiter.api.Test;

/**
 * The store decorator behind the {@code once.store.operations} timer: every operation of the SPI
 * reaches the store as itself (an asynchronous form is never turned into its blocking default), and
 * each store operation, blocking or not, is timed once.
 */
class MeteredStoreTest {
  /**
   * Every method of the SPI and the timer it counts in ("" for none). A method added to the SPI
   * fails {@link #everyOperationOfTheSpiReachesTheStoreAsItselfAndIsTimedOnce} until it is placed
   * here, and so until this decorator has decided what to do with it.
   */
  private static final Map<String, String> OPERATIONS = Map.ofEntries(
      entry("claim", "claim"),
      entry("claimAsync", "claim"),
      entry("renew", "renew"),
      entry("renewAsync", "renew"),
      entry("complete", "complete"),
      entry("completeAsync", "complete"),
      entry("release", "release"),
      entry("releaseAsync", "release"),
      entry("peek", "peek"),
      entry("peekAsync", "peek"),
      entry("awaitChange", ""),
      entry("awaitChangeAsync", ""),
      entry("ping", ""),
      // the admin API's operations: forwarded, not timed (an operator's, not a request's)
      entry("inspect", ""),
      entry("delete", ""),
      entry("close", ""));

  private static final Token TOKEN = Token.random();
  private static final Fingerprint FINGERPRINT = Fingerprint.of("POST", "/p", null, new byte[0]);
  private static final StoredResponse RESPONSE = StoredResponse.of(201, List.of(), new byte[0]);

  private final MeterRegistry registry = new SimpleMeterRegistry();

  @Test
  void everyOperationOfTheSpiReachesTheStoreAsItselfAndIsTimedOnce() throws Exception {
    List<String> calls = new ArrayList<>();
    IdempotencyStore store = MeteredStore.wrap(recording(calls), registry);
    Map<String, Method> methods = spiMethods();
    assertThat(methods.keySet()).as("the SPI's operations, each placed in OPERATIONS")
        .containsExactlyInAnyOrderElementsOf(OPERATIONS.keySet());

    for (Method method : methods.values()) {
      String name = method.getName();
      Map<String, Double> before = counts();
      calls.clear();

      Object result = method.invoke(store, arguments(method));
      if (result instanceof CompletionStage) {
        ((CompletionStage<?>) result).toCompletableFuture().join();
      }

      assertThat(calls).as(name + " forwarded as itself, with its arguments")
          .containsExactly(name + Arrays.toString(arguments(method)));
      Map<String, Double> expected = new TreeMap<>(before);
      String timer = OPERATIONS.get(name);
      if (!timer.isEmpty()) {
        expected.merge(timer + " success", 1.0, Double::sum);
      }
      assertThat(counts()).as(timer.isEmpty() ? name + " not timed" : name + " timed as " + timer)
          .isEqualTo(expected);
    }
  }

  @Test
  void aFailedOperationIsTimedAsAnErrorBlockingOrNot() {
    StoreException down = new StoreException("store is down", "k", null);
    IdempotencyStore failing = store((method, args) -> {
      if (method.getName().endsWith("Async")) {
        return CompletableFuture.failedFuture(down);
      }
      throw down;
    });
    IdempotencyStore store = MeteredStore.wrap(failing, registry);

    assertThatThrownBy(() -> store.renew("k", TOKEN, Duration.ofSeconds(3))).isSameAs(down);
    assertThatThrownBy(() -> store.completeAsync("k", TOKEN, RESPONSE, Duration.ofHours(1))
        .toCompletableFuture().join())
        .isInstanceOf(CompletionException.class).hasCause(down);

    assertThat(count("renew", "error")).isEqualTo(1);
    assertThat(count("complete", "error")).isEqualTo(1);
    assertThat(count("renew", "success") + count("complete", "success")).isZero();
  }

  @Test
  void anAsynchronousFormThatThrowsInsteadOfFailingItsStageIsTimedAsAnErrorAndRethrown() {
    StoreException down = new StoreException("store is down", "k", null);
    IdempotencyStore store = MeteredStore.wrap(store((method, args) -> {
      throw down;
    }), registry);

    assertThatThrownBy(() -> store.claimAsync("k", FINGERPRINT, Duration.ofSeconds(3)))
        .isSameAs(down);

    assertThat(count("claim", "error")).isEqualTo(1);
  }

  @Test
  void anAsynchronousOperationIsTimedWhenItsStageCompletesNotWhenItIsCalled() {
    CompletableFuture<Boolean> answer = new CompletableFuture<>();
    IdempotencyStore store = MeteredStore.wrap(store((method, args) -> answer), registry);

    CompletionStage<Boolean> renewed = store.renewAsync("k", TOKEN, Duration.ofSeconds(3));
    assertThat(count("renew", "success")).isZero();
    answer.complete(true);

    assertThat(renewed.toCompletableFuture().join()).isTrue();
    assertThat(count("renew", "success")).isEqualTo(1);
  }

  @Test
  void theTimersAreTaggedWithTheStoresClassAndExistFromTheStart() {
    MeteredStore.wrap(dev.once.MemoryStore.create(), registry);

    for (String operation : MeteredStore.TIMED) {
      for (String outcome : new String[] {"success", "error"}) {
        assertThat(registry.get(MeteredStore.OPERATIONS).tag("operation", operation)
            .tag("outcome", outcome).tag("store", "MemoryStore").timer().count()).isZero();
      }
    }
  }

  /** The timers' counts, by "operation outcome". */
  private Map<String, Double> counts() {
    Map<String, Double> counts = new TreeMap<>();
    for (Timer timer : registry.get(MeteredStore.OPERATIONS).timers()) {
      counts.put(timer.getId().getTag("operation") + " " + timer.getId().getTag("outcome"),
          (double) timer.count());
    }
    return counts;
  }

  private double count(String operation, String outcome) {
    return registry.get(MeteredStore.OPERATIONS).tag("operation", operation)
        .tag("outcome", outcome).timer().count();
  }

  /** The SPI's instance methods, by name (each name is one method). */
  private static Map<String, Method> spiMethods() {
    Map<String, Method> methods = new LinkedHashMap<>();
    for (Method method : IdempotencyStore.class.getMethods()) {
      if (!Modifier.isStatic(method.getModifiers())) {
        Method other = methods.put(method.getName(), method);
        assertThat(other == null || Arrays.equals(other.getParameterTypes(),
            method.getParameterTypes())).as(method.getName() + " is not overloaded").isTrue();
      }
    }
    return methods;
  }

  /** The same arguments on each call, so the forwarded ones can be compared with them. */
  private static Object[] arguments(Method method) {
    return EveryMethod.arguments(method, Map.of(
        String.class, i -> "key",
        Token.class, i -> TOKEN,
        Fingerprint.class, i -> FINGERPRINT,
        Duration.class, i -> Duration.ofSeconds(i + 1),
        StoredResponse.class, i -> RESPONSE,
        boolean.class, i -> true));
  }

  /** A store that records each call it gets and answers it as a store whose claims acquire. */
  private static IdempotencyStore recording(List<String> calls) {
    return store((method, args) -> {
      calls.add(method.getName() + Arrays.toString(args == null ? new Object[0] : args));
      Object value = answer(method.getReturnType());
      return method.getName().endsWith("Async")
          ? CompletableFuture.completedFuture(answer(asyncResult(method.getName())))
          : value;
    });
  }

  private static Object answer(Class<?> type) {
    if (type == Claim.class) {
      return Claim.acquired(TOKEN);
    }
    if (type == boolean.class || type == Boolean.class) {
      return true;
    }
    if (type == java.util.Optional.class) {
      return java.util.Optional.empty();
    }
    if (type == dev.once.spi.Deletion.class) {
      return dev.once.spi.Deletion.ABSENT;
    }
    return null;
  }

  private static Class<?> asyncResult(String name) {
    switch (name) {
      case "claimAsync":
      case "peekAsync":
        return Claim.class;
      case "awaitChangeAsync":
        return Void.class;
      default:
        return Boolean.class;
    }
  }

  /** A store every operation of which, default ones included, is answered by {@code answer}. */
  private static IdempotencyStore store(EveryMethod.Answer answer) {
    return EveryMethod.implement(IdempotencyStore.class, "RecordingStore", answer);
  }
}
