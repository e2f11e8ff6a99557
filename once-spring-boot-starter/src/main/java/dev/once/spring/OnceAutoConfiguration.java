package dev.once.spring;

import dev.once.KeyScope;
import dev.once.MemoryStore;
import dev.once.Once;
import dev.once.OnceListener;
import dev.once.servlet.OnceFilter;
import dev.once.spi.IdempotencyStore;
import jakarta.servlet.DispatcherType;
import jakarta.servlet.Filter;
import java.util.List;
import java.util.stream.Collectors;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.springframework.beans.factory.ListableBeanFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionMessage;
import org.springframework.boot.autoconfigure.condition.ConditionOutcome;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.boot.autoconfigure.condition.SpringBootCondition;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.ApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.ConditionContext;
import org.springframework.context.annotation.Conditional;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;
import org.springframework.core.type.AnnotatedTypeMetadata;
import org.springframework.util.ClassUtils;
import org.springframework.util.unit.DataSize;
import org.springframework.web.servlet.DispatcherServlet;

/**
 * Auto-configuration of once: an {@link IdempotencyStore}, a {@link Once} engine bound to the
 * {@code once.*} properties, and, in a servlet web application, the {@link OnceFilter} for {@code
 * once.url-patterns} and the filter for {@link Idempotent} handler methods ({@link
 * OnceWebFluxAutoConfiguration} does the same in a reactive one, with the same engine).
 *
 * <p>Every bean backs off when the application defines its own: an {@code IdempotencyStore} bean
 * always wins over {@code once.store}; a {@code KeyScope} bean replaces {@code once.key-scope}; a
 * {@code Once} bean replaces the engine (and then the properties are not applied). {@link
 * OnceCustomizer} beans adjust the builder; {@link OnceListener} beans all hear the outcomes.
 *
 * <p>Stores: {@code once.store=memory} (the default when no store module configured one) is a
 * {@link MemoryStore}; {@link OnceRedisStoreAutoConfiguration} and {@link
 * OnceJdbcStoreAutoConfiguration}, ordered before this one, define the store bean when their
 * store is chosen or detected. Asking for {@code redis} or {@code jdbc} when neither did so stops
 * the application at start, saying what is missing.
 *
 * <p>Filter order: {@code once.filter-order}, default -90, after Spring Security's filter chain
 * (-100) so the authenticated principal scopes the keys and unauthenticated requests are refused
 * before any key is claimed. The annotation filter takes that order, the URL-pattern filter the
 * next.
 */
@AutoConfiguration
@ConditionalOnBooleanProperty(name = "once.enabled", matchIfMissing = true)
public final class OnceAutoConfiguration {
  private static final Log LOG = LogFactory.getLog(OnceAutoConfiguration.class);
  /** The names of the store beans the starter defines; each logs the store when it is made. */
  private static final List<String> STORES_OF_THE_STARTER =
      List.of("onceMemoryStore", "onceRedisStore", "onceStore");

  /** Created by Spring. */
  public OnceAutoConfiguration() {}

  @Bean
  @ConditionalOnMissingBean(IdempotencyStore.class)
  MemoryStore onceMemoryStore(Environment environment, ApplicationContext context) {
    OnceBinding binding = new OnceBinding(environment);
    String store = binding.store();
    // the store modules' auto-configurations run first and define the store whenever their store
    // is asked for and they can; reaching here with redis or jdbc means one of them could not
    ClassLoader loader = context.getClassLoader();
    String missing = switch (store == null ? "" : store) {
      case "redis" -> ClassUtils.isPresent("dev.once.redis.RedisStore", loader)
          ? "no Redis store was configured: OnceRedisStoreAutoConfiguration did not run (is it"
              + " excluded, or once.enabled false?)"
          : "no Redis store was configured: once.store=redis needs dev.once:once-redis on the"
              + " class path";
      case "jdbc" -> ClassUtils.isPresent("dev.once.jdbc.JdbcStore", loader)
          ? "no JDBC store was configured: once.store=jdbc needs a DataSource bean (a single one,"
              + " or one marked @Primary)"
          : "no JDBC store was configured: once.store=jdbc needs dev.once:once-jdbc on the class"
              + " path and a DataSource bean";
      default -> null;
    };
    if (missing != null) {
      throw binding.invalid("store", missing);
    }
    MemoryStore memory = memoryStore(binding);
    LOG.info("once: idempotency records in memory (responses up to "
        + size(binding.memoryMaximumWeight()) + "), one instance only: " + (store == null
        ? "once.store is unset and no shared store was found (a Redis client with once-redis,"
            + " a PostgreSQL table with once-jdbc)"
        : "once.store=memory"));
    return memory;
  }

  /** The store's own description, or its class if that fails: a log line never stops a start. */
  private static String describe(IdempotencyStore store) {
    try {
      return String.valueOf(store);
    } catch (RuntimeException e) {
      return store.getClass().getName();
    }
  }

  private static String size(long bytes) {
    DataSize size = DataSize.ofBytes(bytes);
    return size.toMegabytes() > 0 ? size.toMegabytes() + " MB" : size.toKilobytes() > 0
        ? size.toKilobytes() + " KB" : bytes + " bytes";
  }

  /**
   * @param binding the properties
   * @return a memory store bounded by {@code once.memory.maximum-weight} and {@code
   *     once.memory.maximum-records}
   * @throws InvalidOncePropertyException if the bound is not positive
   */
  static MemoryStore memoryStore(OnceBinding binding) {
    return MemoryStore.builder().maximumWeightBytes(binding.memoryMaximumWeight())
        .maximumRecords(binding.memoryMaximumRecords()).build();
  }

  @Bean
  @ConditionalOnMissingBean(KeyScope.class)
  KeyScope onceKeyScope(Environment environment, ApplicationContext context) {
    boolean security = ClassUtils.isPresent(
        "org.springframework.security.core.context.SecurityContextHolder",
        context.getClassLoader());
    KeyScope principal = security ? new SecurityContextKeyScope() : KeyScope.principal();
    return new OnceBinding(environment).keyScope(principal);
  }

  @Bean
  @ConditionalOnMissingBean
  Once once(IdempotencyStore store, KeyScope keyScope, Environment environment,
      ObjectProvider<OnceStoreDecorator> decorators, ObjectProvider<OnceListener> listeners,
      ObjectProvider<OnceCustomizer> customizers, ListableBeanFactory beans) {
    List<String> names = List.of(beans.getBeanNamesForType(IdempotencyStore.class, true, false));
    if (names.stream().noneMatch(STORES_OF_THE_STARTER::contains)) {
      // the stores the starter makes say so when they are made; the application's, here
      LOG.info("once: idempotency records in " + describe(store) + ", the application's"
          + " IdempotencyStore bean " + names);
    }
    IdempotencyStore decorated = store;
    for (OnceStoreDecorator decorator : decorators.orderedStream().collect(Collectors.toList())) {
      decorated = decorator.decorate(decorated);
    }
    Once.Builder builder = Once.builder(decorated)
        .keyScope(keyScope)
        .listener(OnceListener.of(listeners.orderedStream().collect(Collectors.toList())));
    new OnceBinding(environment).applyTo(builder);
    customizers.orderedStream().forEach(customizer -> customizer.customize(builder));
    return builder.build();
  }

  /**
   * The filter for {@code once.url-patterns}, in a servlet web application; none when the
   * property is empty (a disabled registration would make Spring Boot log that it was not
   * registered at every start).
   */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
  @ConditionalOnClass(Filter.class)
  static class UrlPatternFilterConfiguration {

    @Bean
    @Conditional(UrlPatternsCondition.class)
    FilterRegistrationBean<UrlPatternFilter> onceFilterRegistration(Once once,
        Environment environment) {
      OnceBinding binding = new OnceBinding(environment);
      FilterRegistrationBean<UrlPatternFilter> registration = requestFilter(
          new UrlPatternFilter(new OnceFilter(once)), "onceFilter", binding.filterOrder() + 1);
      registration.setUrlPatterns(binding.urlPatterns());
      return registration;
    }
  }

  /**
   * Matches unless {@code once.url-patterns} is set empty. An invalid pattern matches, so that
   * the filter's registration reports it and stops the start.
   */
  static final class UrlPatternsCondition extends SpringBootCondition {
    @Override
    public ConditionOutcome getMatchOutcome(ConditionContext context,
        AnnotatedTypeMetadata metadata) {
      ConditionMessage.Builder message = ConditionMessage.forCondition("once.url-patterns");
      try {
        return new OnceBinding(context.getEnvironment()).urlPatterns().isEmpty()
            ? ConditionOutcome.noMatch(message.because("is empty: @Idempotent endpoints only"))
            : ConditionOutcome.match(message.because("names the URLs the filter covers"));
      } catch (InvalidOncePropertyException e) {
        return ConditionOutcome.match(message.because(e.getMessage()));
      }
    }
  }

  /**
   * Keeps keyed PUT/PATCH/DELETE form bodies readable after Spring's {@code FormContentFilter} read
   * them, in a Spring MVC application (where that filter is).
   */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
  @ConditionalOnClass({Filter.class, DispatcherServlet.class})
  static class FormBodyFilterConfiguration {

    @Bean
    FilterRegistrationBean<FormBodyFilter> onceFormBodyFilterRegistration(Once once) {
      FilterRegistrationBean<FormBodyFilter> registration = requestFilter(
          new FormBodyFilter(once.header()), "onceFormBodyFilter", FormBodyFilter.ORDER);
      registration.addUrlPatterns("/*");
      return registration;
    }
  }

  /** The filter for {@link Idempotent} handler methods, in a Spring MVC application. */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
  @ConditionalOnClass({Filter.class, DispatcherServlet.class})
  static class IdempotentFilterConfiguration {

    @Bean
    IdempotentEndpoints onceIdempotentEndpoints(Once once, ApplicationContext context) {
      return new IdempotentEndpoints(once, context);
    }

    @Bean
    FilterRegistrationBean<IdempotentHandlerFilter> onceIdempotentFilterRegistration(
        IdempotentEndpoints endpoints, Environment environment) {
      FilterRegistrationBean<IdempotentHandlerFilter> registration = requestFilter(
          new IdempotentHandlerFilter(endpoints), "onceIdempotentFilter",
          new OnceBinding(environment).filterOrder());
      registration.addUrlPatterns("/*");
      return registration;
    }
  }

  /**
   * A registration of {@code filter} for the {@code REQUEST} dispatch with async support on: how
   * every filter of the starter is registered, since the keyed ones finish their records when an
   * async cycle completes.
   */
  private static <T extends Filter> FilterRegistrationBean<T> requestFilter(T filter, String name,
      int order) {
    FilterRegistrationBean<T> registration = new FilterRegistrationBean<>(filter);
    registration.setName(name);
    registration.setAsyncSupported(true);
    registration.setDispatcherTypes(DispatcherType.REQUEST);
    registration.setOrder(order);
    return registration;
  }
}
