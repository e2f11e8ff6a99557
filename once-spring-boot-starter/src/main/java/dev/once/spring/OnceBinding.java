package dev.once.spring;

import dev.once.KeyScope;
import dev.once.MemoryStore;
import dev.once.Once;
import dev.once.UnknownOutcome;
import dev.once.config.ConfigText;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.context.properties.bind.BindResult;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.bind.PropertySourcesPlaceholdersResolver;
import org.springframework.boot.context.properties.source.ConfigurationProperty;
import org.springframework.boot.context.properties.source.ConfigurationPropertyName;
import org.springframework.boot.context.properties.source.ConfigurationPropertySource;
import org.springframework.boot.context.properties.source.ConfigurationPropertySources;
import org.springframework.boot.convert.ApplicationConversionService;
import org.springframework.boot.convert.DurationStyle;
import org.springframework.core.env.Environment;
import org.springframework.util.unit.DataSize;

/**
 * The {@code once.*} properties. Each builder option is bound from the environment straight onto
 * {@link Once.Builder} through the builder's own method, so no second model holds the values: the
 * defaults are the builder's, and the builder's checks are the properties' checks. A value the
 * builder refuses becomes an {@link InvalidOncePropertyException} naming the property, its value,
 * where it was set, and the builder's reason.
 *
 * <p>The other properties configure the starter itself (which store, which URLs, the filter's
 * order, the key scope). Read once, at start.
 *
 * <p>Durations and sizes take Spring Boot's forms ({@code 10s}, {@code PT1H}, {@code 512KB}, in
 * which {@code KB} is 1024 bytes), and where Spring reads none, once's own grammar ({@link
 * ConfigText}: {@code 1h30m}, {@code 512KiB}, {@code 1 MiB}), which the proxy's flags and the
 * store URLs take too.
 */
final class OnceBinding {
  static final String PREFIX = "once";
  /** After Spring Security's filter chain (at -100), so the principal is known; see SPRING.md. */
  static final int DEFAULT_FILTER_ORDER = -90;

  /** Every builder option, by property name (without the prefix), in the builder's order. */
  static final List<Option<?>> BUILDER_OPTIONS = List.of(
      option("header", Bindable.of(String.class), Once.Builder::header),
      option("ttl", Bindable.of(Duration.class), Once.Builder::ttl),
      option("require-key", Bindable.of(Boolean.class), Once.Builder::requireKey),
      option("cacheable-statuses", Bindable.listOf(Integer.class),
          Once.Builder::cacheableStatuses),
      option("request-hash-check", Bindable.of(Boolean.class), Once.Builder::requestHashCheck),
      option("lease", Bindable.of(Duration.class), Once.Builder::lease),
      option("max-wait", Bindable.of(Duration.class), Once.Builder::maxWait),
      option("body-timeout", Bindable.of(Duration.class), Once.Builder::bodyTimeout),
      option("methods", Bindable.listOf(String.class),
          (builder, methods) -> builder.methods(upperCase(methods))),
      option("max-key-length", Bindable.of(Integer.class), Once.Builder::maxKeyLength),
      option("max-body", Bindable.of(DataSize.class),
          (builder, size) -> builder.maxBodyBytes(size.toBytes())),
      option("max-response", Bindable.of(DataSize.class),
          (builder, size) -> builder.maxResponseBytes(size.toBytes())),
      option("fail-open", Bindable.of(Boolean.class), Once.Builder::failOpen),
      option("excluded-headers", Bindable.listOf(String.class), Once.Builder::excludedHeaders),
      option("unknown-outcome", Bindable.of(UnknownOutcome.class), Once.Builder::unknownOutcome));

  /** The starter's own properties, besides the builder options. */
  static final List<String> STARTER_PROPERTIES = List.of("enabled",
      "observations.enabled", "store", "memory.maximum-weight", "memory.maximum-records",
      "url-patterns", "filter-order", "key-scope",
      "redis.key-prefix", "redis.command-timeout", "redis.near-cache.maximum-weight",
      "redis.near-cache.max-age", "redis.replicas", "redis.replica-timeout",
      "redis.record-format",
      "jdbc.table-name", "jdbc.create-table", "jdbc.sweep-interval", "jdbc.sweep-batch-size",
      "jdbc.query-timeout", "jdbc.async-threads", "jdbc.async-queue-capacity",
      "jdbc.change-poll-interval", "jdbc.transactional");

  private final Iterable<ConfigurationPropertySource> sources;
  private final Binder binder;

  OnceBinding(Environment environment) {
    this.sources = ConfigurationPropertySources.get(environment);
    ApplicationConversionService conversions = new ApplicationConversionService();
    // added last, so tried first: each tries Spring's own form before once's
    conversions.addConverter(String.class, Duration.class, OnceBinding::duration);
    conversions.addConverter(String.class, DataSize.class, OnceBinding::size);
    this.binder = new Binder(sources, new PropertySourcesPlaceholdersResolver(environment),
        conversions);
  }

  /**
   * @param text a duration in Spring Boot's forms ({@code 10s}, {@code PT1H}, a bare number of
   *     milliseconds) or once's ({@code 1h30m})
   * @return the duration
   * @throws IllegalArgumentException if it is neither, with once's message
   */
  static Duration duration(String text) {
    try {
      return DurationStyle.detectAndParse(text.trim());
    } catch (IllegalArgumentException e) {
      return ConfigText.duration(text);
    }
  }

  /**
   * @param text a size in Spring Boot's forms ({@code 512KB}, where {@code KB} is 1024 bytes) or
   *     once's ({@code 512KiB}, {@code 1 MiB})
   * @return the size
   * @throws IllegalArgumentException if it is neither, with once's message
   */
  static DataSize size(String text) {
    try {
      return DataSize.parse(text.trim());
    } catch (IllegalArgumentException e) {
      return DataSize.ofBytes(ConfigText.size(text));
    }
  }

  /**
   * Applies every {@code once.*} builder option that is set.
   *
   * @param builder the builder
   * @return the builder
   * @throws InvalidOncePropertyException if the builder refuses a value
   */
  Once.Builder applyTo(Once.Builder builder) {
    for (Option<?> option : BUILDER_OPTIONS) {
      option.applyTo(this, builder);
    }
    return builder;
  }

  /** @return {@code memory}, {@code redis} or {@code jdbc}; null when unset (chosen by beans) */
  @Nullable String store() {
    String[] result = new String[1];
    bind("store", Bindable.of(String.class), value -> {
      String kind = value.trim().toLowerCase(Locale.ROOT);
      if (!List.of("memory", "redis", "jdbc").contains(kind)) {
        throw new IllegalArgumentException("once.store must be memory, redis or jdbc");
      }
      result[0] = kind;
    });
    return result[0];
  }

  /** @return the bound on a memory store's stored responses, in bytes */
  long memoryMaximumWeight() {
    long[] result = {MemoryStore.DEFAULT_MAXIMUM_WEIGHT_BYTES};
    bind("memory.maximum-weight", Bindable.of(DataSize.class), size -> {
      // the store's own check, so the message is the store's
      MemoryStore.builder().maximumWeightBytes(size.toBytes());
      result[0] = size.toBytes();
    });
    return result[0];
  }

  /** @return the bound on a memory store's number of records */
  long memoryMaximumRecords() {
    long[] result = {MemoryStore.DEFAULT_MAXIMUM_RECORDS};
    bind("memory.maximum-records", Bindable.of(Long.class), records -> {
      // the store's own check, so the message is the store's
      MemoryStore.builder().maximumRecords(records);
      result[0] = records;
    });
    return result[0];
  }

  /** @return the URL patterns the filter is mapped to; default {@code /*} */
  List<String> urlPatterns() {
    AtomicReference<List<String>> result = new AtomicReference<>(List.of("/*"));
    bind("url-patterns", Bindable.listOf(String.class), patterns -> {
      List<String> trimmed = patterns.stream().map(String::trim)
          .filter(pattern -> !pattern.isEmpty()).collect(Collectors.toList());
      for (String pattern : trimmed) {
        if (!isServletUrlPattern(pattern)) {
          throw new IllegalArgumentException("\"" + pattern + "\" is not a servlet URL pattern;"
              + " use an exact path (/payments), a path prefix (/payments/*) or an extension"
              + " (*.json)");
        }
      }
      result.set(List.copyOf(trimmed));
    });
    return Objects.requireNonNull(result.get(), "it holds a list from the start");
  }

  /** @return the order of the filter among the servlet filters */
  int filterOrder() {
    int[] result = {DEFAULT_FILTER_ORDER};
    bind("filter-order", Bindable.of(Integer.class), order -> result[0] = order);
    return result[0];
  }

  /**
   * @param principal the scope to use for {@code principal}, the default
   * @return the key scope the {@code once.key-scope} property names
   */
  KeyScope keyScope(KeyScope principal) {
    KeyScope[] result = {principal};
    bind("key-scope", Bindable.of(String.class), value -> {
      String scope = value.trim();
      if (scope.equals("principal")) {
        result[0] = principal;
      } else if (scope.equals("global")) {
        result[0] = KeyScope.global();
      } else if (scope.startsWith("header:") && !scope.substring(7).isBlank()) {
        result[0] = KeyScope.headerHash(scope.substring(7).trim());
      } else {
        throw new IllegalArgumentException(
            "once.key-scope must be principal, global or header:<name> (header:Authorization)");
      }
    });
    return result[0];
  }

  /**
   * Binds {@code once.<name>} and hands the value, when the property is set, to {@code apply},
   * turning what {@code apply} refuses into an {@link InvalidOncePropertyException}.
   *
   * @param name the property name without the prefix, such as {@code redis.key-prefix}
   * @param type what to bind it as
   * @param apply takes the value; throws {@link IllegalArgumentException} (or {@link
   *     NullPointerException}) to refuse it
   * @return whether the property was set
   * @throws InvalidOncePropertyException if {@code apply} refused the value
   */
  <T> boolean bind(String name, Bindable<T> type, Consumer<T> apply) {
    BindResult<T> result = binder.bind(PREFIX + "." + name, type);
    if (!result.isBound()) {
      return false;
    }
    try {
      apply.accept(result.get());
    } catch (IllegalArgumentException | NullPointerException e) {
      throw invalid(name, String.valueOf(result.get()), e.getMessage());
    }
    return true;
  }

  /**
   * @param name the property name without the prefix
   * @param reason why its value, or its absence, cannot be used
   * @return the failure to throw, with the value as configured and where it was set, if it was
   */
  InvalidOncePropertyException invalid(String name, @Nullable String reason) {
    return invalid(name, null, reason);
  }

  private InvalidOncePropertyException invalid(
      String name, @Nullable String bound, @Nullable String reason) {
    String property = PREFIX + "." + name;
    // the text as configured, and where, when the property was set as one value (a list set
    // element by element is shown as bound)
    ConfigurationProperty source = null;
    for (ConfigurationPropertySource candidate : sources) {
      source = candidate.getConfigurationProperty(ConfigurationPropertyName.of(property));
      if (source != null) {
        break;
      }
    }
    String value = source == null ? bound : String.valueOf(source.getValue());
    String origin = source == null || source.getOrigin() == null
        ? null
        : source.getOrigin().toString();
    return new InvalidOncePropertyException(property, value, origin, reason);
  }

  private static List<String> upperCase(List<String> methods) {
    // HTTP methods are case-sensitive, but nobody means "post" as a method other than POST
    return methods.stream().map(method -> method == null ? null : method.trim().toUpperCase(
        Locale.ROOT)).collect(Collectors.toList());
  }

  private static boolean isServletUrlPattern(String pattern) {
    if (pattern.startsWith("*.")) {
      return pattern.length() > 2 && pattern.indexOf('/') < 0 && pattern.indexOf('*', 1) < 0;
    }
    if (!pattern.startsWith("/")) {
      return false;
    }
    int star = pattern.indexOf('*');
    return star < 0 || (star == pattern.length() - 1 && pattern.endsWith("/*"));
  }

  private static <T> Option<T> option(String name, Bindable<T> type,
      BiConsumer<Once.Builder, T> setter) {
    return new Option<>(name, type, setter);
  }

  /** One builder option: its property name, its type, and the builder method it is bound to. */
  static final class Option<T> {
    final String name;
    final Bindable<T> type;
    final BiConsumer<Once.Builder, T> setter;

    Option(String name, Bindable<T> type, BiConsumer<Once.Builder, T> setter) {
      this.name = name;
      this.type = type;
      this.setter = setter;
    }

    void applyTo(OnceBinding binding, Once.Builder builder) {
      binding.bind(name, type, value -> setter.accept(builder, value));
    }
  }
}
