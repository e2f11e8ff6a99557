package dev.once.jaxrs;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.ArgumentsProvider;
import org.junit.jupiter.params.provider.ArgumentsSource;
import org.junit.jupiter.params.support.AnnotationConsumer;
import org.junit.jupiter.params.support.ParameterDeclarations;

/**
 * A test run for each case, a constant of {@link #value()}, on each {@link JaxrsServers.Runtime}:
 * it takes {@code (case, runtime)} and each run is named after both.
 */
@Target(ElementType.METHOD)
@Retention(RetentionPolicy.RUNTIME)
@ParameterizedTest(name = "{0} on {1}")
@ArgumentsSource(OnEachRuntime.Cases.class)
@interface OnEachRuntime {
  /** The enum whose constants are the cases. */
  Class<? extends Enum<?>> value();

  /** Each constant of the annotation's enum, with each runtime. */
  final class Cases implements ArgumentsProvider, AnnotationConsumer<OnEachRuntime> {
    private Class<? extends Enum<?>> cases;

    @Override
    public void accept(OnEachRuntime annotation) {
      cases = annotation.value();
    }

    @Override
    public Stream<Arguments> provideArguments(ParameterDeclarations parameters,
        ExtensionContext context) {
      return Arrays.stream(cases.getEnumConstants()).flatMap(each -> Arrays.stream(
          JaxrsServers.Runtime.values()).map(runtime -> Arguments.of(each, runtime)));
    }
  }
}
