package dev.once.spring;

import static dev.once.testing.Decisions.exchange;
import static dev.once.testing.Decisions.problem;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.once.Completion;
import dev.once.Decision;
import dev.once.Exchange;
import dev.once.KeyScope;
import dev.once.MemoryStore;
import dev.once.Once;
import dev.once.OnceListener;
import dev.once.Outcome;
import dev.once.UnknownOutcome;
import dev.once.micrometer.MeteredStore;
import dev.once.micrometer.OnceMeters;
import dev.once.micrometer.OnceObservations;
import dev.once.spi.IdempotencyStore;
import dev.once.testing.DelegatingStore;
import dev.once.testing.FailingStore;
import dev.once.testing.FakeClock;
import dev.once.testing.ManualScheduler;
import dev.once.testing.TestRequest;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationHandler;
import io.micrometer.observation.ObservationRegistry;
import jakarta.servlet.DispatcherType;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.assertj.ApplicationContextAssertProvider;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.context.runner.WebApplicationContextRunner;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.core.annotation.Order;
import org.springframework.security.authentication.AnonymousAuthenticationToken;
import org.springframework.security.authentication.UsernamePasswordAuthenticationToken;
import org.springframework.security.core.authority.AuthorityUtils;
import org.springframework.security.core.context.SecurityContextHolder;

class OnceAutoConfigurationTest {
  private final ApplicationContextRunner runner = new ApplicationContextRunner()
      .withConfiguration(AutoConfigurations.of(OnceAutoConfiguration.class));
  private final WebApplicationContextRunner webRunner = new WebApplicationContextRunner()
      .withConfiguration(AutoConfigurations.of(OnceAutoConfiguration.class));
  /** With the meters' auto-configuration and a registry for it. */
  private final ApplicationContextRunner meteredRunner = runner
      .withConfiguration(AutoConfigurations.of(OnceMetricsAutoConfiguration.class))
      .withBean(MeterRegistry.class, SimpleMeterRegistry::new);

  @AfterEach
  void clearSecurityContext() {
    SecurityContextHolder.clearContext();
  }

  @Test
  void withNoConfigurationTheEngineHasTheBuildersDefaultsOverAMemoryStore() {
    runner.run(context -> {
      assertThat(context).hasSingleBean(Once.class).hasSingleBean(IdempotencyStore.class);
      assertThat(context.getBean(IdempotencyStore.class)).isInstanceOf(MemoryStore.class);
      Once once = context.getBean(Once.class);
      assertThat(once.store()).isSameAs(context.getBean(IdempotencyStore.class));
      SameOptions.assertSameOptions(once, Once.builder(MemoryStore.create()).build());
    });
  }

  @Test
  void everyOncePropertyIsBoundOntoItsBuilderOption() {
    runner.withPropertyValues(
            "once.header=X-Request-Key",
            "once.ttl=90m",
            "once.require-key=true",
            "once.cacheable-statuses=200,202",
            "once.request-hash-check=false",
            "once.lease=5s",
            "once.max-wait=2s",
            "once.methods=post,PUT",
            "once.max-key-length=64",
            "once.max-body=2KB",
            "once.max-response=3MB",
            "once.fail-open=true",
            "once.excluded-headers=X-Trace,Set-Cookie",
            "once.unknown-outcome=keep")
        .run(context -> {
          Once once = context.getBean(Once.class);
          assertThat(once.header()).isEqualTo("X-Request-Key");
          assertThat(once.ttl()).isEqualTo(Duration.ofMinutes(90));
          assertThat(once.requireKey()).isTrue();
          assertThat(once.cacheableStatuses()).containsExactly(200, 202);
          assertThat(once.requestHashCheck()).isFalse();
          assertThat(once.lease()).isEqualTo(Duration.ofSeconds(5));
          assertThat(once.maxWait()).isEqualTo(Duration.ofSeconds(2));
          assertThat(once.methods()).containsExactly("POST", "PUT");
          assertThat(once.maxKeyLength()).isEqualTo(64);
          assertThat(once.maxBodyBytes()).isEqualTo(2048);
          assertThat(once.maxResponseBytes()).isEqualTo(3L << 20);
          assertThat(once.failOpen()).isTrue();
          assertThat(once.excludedHeaders()).containsExactlyInAnyOrder("X-Trace", "Set-Cookie");
          assertThat(once.unknownOutcome()).isEqualTo(UnknownOutcome.KEEP);
        });
  }

  @Test
  void onceUnknownOutcomeTakesRetryOrKeepInAnyCaseAndRefusesAnythingElse() {
    runner.withPropertyValues("once.unknown-outcome=RETRY").run(context ->
        assertThat(context.getBean(Once.class).unknownOutcome()).isEqualTo(UnknownOutcome.RETRY));
    runner.withPropertyValues("once.unknown-outcome=Keep").run(context ->
        assertThat(context.getBean(Once.class).unknownOutcome()).isEqualTo(UnknownOutcome.KEEP));
    runner.withPropertyValues("once.unknown-outcome=never").run(context -> {
      assertThat(context).hasFailed();
      assertThat(context.getStartupFailure()).hasStackTraceContaining("once.unknown-outcome")
          .hasStackTraceContaining("never");
    });
  }

  @Test
  void listPropertiesMayBeGivenElementByElement() {
    runner.withPropertyValues("once.methods[0]=POST", "once.methods[1]=DELETE")
        .run(context -> assertThat(context.getBean(Once.class).methods())
            .containsExactly("POST", "DELETE"));
  }

  @Test
  void aValueTheBuilderRefusesStopsTheStartNamingThePropertyTheValueAndTheReason() {
    runner.withPropertyValues("once.ttl=0s").run(context -> {
      InvalidOncePropertyException failure = startupFailure(context);
      assertThat(failure.property()).isEqualTo("once.ttl");
      assertThat(failure.value()).isEqualTo("0s");
      assertThat(failure.reason()).isEqualTo("ttl must be positive, but was PT0S");
      assertThat(failure.getMessage())
          .startsWith("Invalid value '0s' for once.ttl")
          .endsWith(": ttl must be positive, but was PT0S");
    });
  }

  @Test
  void eachBuilderCheckReachesTheStartFailure() {
    Map<String, String> refused = Map.ofEntries(
        Map.entry("once.header=bad header", "header must be a valid header name"),
        Map.entry("once.lease=-1s", "lease must be positive"),
        Map.entry("once.max-wait=-5s", "maxWait must not be negative"),
        Map.entry("once.cacheable-statuses=200,700", "cacheableStatuses must be HTTP statuses"),
        Map.entry("once.methods=POST,GET /x", "methods must be HTTP method names"),
        Map.entry("once.max-key-length=0", "maxKeyLength must be between 1 and 8192"),
        Map.entry("once.max-body=4GB", "maxBodyBytes must be between 0 and"),
        Map.entry("once.excluded-headers=Bad Header", "excludedHeaders must be header names"),
        Map.entry("once.ttl=200000d", "ttl must be at most 36500 days"),
        Map.entry("once.lease=1ms", "lease must be at least 3 milliseconds"),
        Map.entry("once.max-wait=200000d", "maxWait must be at most 36500 days"));
    refused.forEach((property, reason) -> runner.withPropertyValues(property)
        .run(context -> assertThat(startupFailure(context).reason())
            .as(property)
            .contains(reason)));
  }

  @Test
  void aValueThatIsNotEvenOfThePropertysTypeGetsSpringBootsBindFailure() {
    runner.withPropertyValues("once.ttl=soon").run(context -> {
      assertThat(context).hasFailed();
      assertThat(context.getStartupFailure()).hasStackTraceContaining("once.ttl")
          .hasStackTraceContaining("\"soon\" is not a duration (use 500ms, 30s, 5m, 24h, 1h30m"
              + " or ISO-8601 like PT30S)");
    });
  }

  /**
   * Spring Boot's forms first, as before (a bare number is milliseconds, KB is 1024 bytes), then
   * the grammar the proxy's flags and the store URLs take.
   */
  @Test
  void durationsAndSizesTakeSpringsFormsAndOncesGrammar() {
    runner.withPropertyValues("once.ttl=1h30m", "once.lease=90", "once.max-wait=2d",
        "once.max-body=512KiB", "once.max-response=1KB").run(context -> {
          Once once = context.getBean(Once.class);
          assertThat(once.ttl()).isEqualTo(Duration.ofMinutes(90));
          assertThat(once.lease()).isEqualTo(Duration.ofMillis(90));
          assertThat(once.maxWait()).isEqualTo(Duration.ofDays(2));
          assertThat(once.maxBodyBytes()).isEqualTo(512 * 1024);
          assertThat(once.maxResponseBytes()).isEqualTo(1024);
        });
    runner.withPropertyValues("once.max-body=1.5MiB").run(context ->
        assertThat(context.getStartupFailure()).hasStackTraceContaining("once.max-body")
            .hasStackTraceContaining("\"1.5MiB\" is not a size"));
  }

  @Test
  void theFailureAnalysisNamesThePropertyTheValueTheReasonAndWhatToDo() {
    runner.withPropertyValues("once.max-key-length=9000").run(context -> {
      FailureAnalysis analysis = new OnceFailureAnalyzer().analyze(context.getStartupFailure());
      assertThat(analysis.getDescription())
          .contains("Property: once.max-key-length")
          .contains("Value: \"9000\"")
          .contains("Reason: maxKeyLength must be between 1 and 8192, but was 9000");
      assertThat(analysis.getAction()).contains("Update once.max-key-length");
    });
  }

  @Test
  void onceStoreMemoryGivesAMemoryStoreBoundedAsConfigured() {
    runner.withPropertyValues("once.store=memory", "once.memory.maximum-weight=1KB")
        .run(context -> {
          MemoryStore store = context.getBean(MemoryStore.class);
          assertThat(store).isSameAs(context.getBean(Once.class).store());
        });
    runner.withPropertyValues("once.memory.maximum-weight=0B")
        .run(context -> assertThat(startupFailure(context).reason())
            .isEqualTo("maximumWeightBytes must be positive, but was 0"));
  }

  @Test
  void theMemoryStoresRecordBoundAndTheBodyTimeoutAreBound() throws Exception {
    runner.withPropertyValues("once.store=memory", "once.memory.maximum-records=1",
            "once.body-timeout=5s")
        .run(context -> {
          Once once = context.getBean(Once.class);
          assertThat(once.bodyTimeout()).isEqualTo(java.time.Duration.ofSeconds(5));
          MemoryStore store = context.getBean(MemoryStore.class);
          store.claim("first", null, java.time.Duration.ofMinutes(1));
          assertThatThrownBy(() -> store.claim("second", null, java.time.Duration.ofMinutes(1)))
              .isInstanceOf(dev.once.spi.StoreFullException.class);
        });
    runner.withPropertyValues("once.memory.maximum-records=0")
        .run(context -> assertThat(startupFailure(context).reason())
            .isEqualTo("maximumRecords must be positive, but was 0"));
  }

  @Test
  void onceStoreRedisWhenTheRedisAutoConfigurationDidNotRunStopsTheStartSayingSo() {
    // the module is on this class path; its auto-configuration is not in this runner
    runner.withPropertyValues("once.store=redis").run(context -> {
      InvalidOncePropertyException failure = startupFailure(context);
      assertThat(failure.property()).isEqualTo("once.store");
      assertThat(failure.reason()).contains("OnceRedisStoreAutoConfiguration did not run");
    });
  }

  @Test
  void anUnknownStoreStopsTheStartListingTheKnownOnes() {
    runner.withPropertyValues("once.store=dynamo").run(context ->
        assertThat(startupFailure(context).reason())
            .isEqualTo("once.store must be memory, redis or jdbc"));
  }

  @Test
  void aUserStoreBeanAlwaysWinsEvenOverOnceStore() {
    FailingStore userStore = new FailingStore(MemoryStore.create());
    runner.withBean(IdempotencyStore.class, () -> userStore)
        .withPropertyValues("once.store=redis")
        .run(context -> {
          assertThat(context).hasNotFailed().doesNotHaveBean(MemoryStore.class);
          assertThat(context.getBean(Once.class).store()).isSameAs(userStore);
        });
  }

  @Test
  void aUserOnceBeanReplacesTheEngine() {
    Once own = Once.builder(MemoryStore.create()).ttl(Duration.ofSeconds(7)).build();
    runner.withBean(Once.class, () -> own).run(context ->
        assertThat(context.getBean(Once.class)).isSameAs(own));
  }

  @Test
  void customizersRunInOrderAfterThePropertiesAndHaveTheLastWord() {
    runner.withPropertyValues("once.ttl=1h", "once.require-key=false")
        .withUserConfiguration(Customizers.class)
        .run(context -> {
          Once once = context.getBean(Once.class);
          assertThat(once.ttl()).isEqualTo(Duration.ofMinutes(2));
          assertThat(once.requireKey()).isTrue();
        });
  }

  static class Customizers {
    @org.springframework.context.annotation.Bean
    @Order(2)
    OnceCustomizer second() {
      return builder -> builder.ttl(Duration.ofMinutes(2));
    }

    @org.springframework.context.annotation.Bean
    @Order(1)
    OnceCustomizer first() {
      return builder -> builder.ttl(Duration.ofMinutes(1)).requireKey(true);
    }
  }

  @Test
  void everyListenerBeanHearsTheOutcomes() {
    List<Outcome> first = new ArrayList<>();
    List<Outcome> second = new ArrayList<>();
    OnceListener throwing = new OnceListener() {
      @Override
      public void onOutcome(Outcome outcome, String key) {
        throw new IllegalStateException("a broken listener");
      }
    };
    runner.withBean("first", OnceListener.class, () -> new OnceListener() {
          @Override
          public void onOutcome(Outcome outcome, String key) {
            first.add(outcome);
          }
        })
        .withBean("throwing", OnceListener.class, () -> throwing)
        .withBean("second", OnceListener.class, () -> new OnceListener() {
          @Override
          public void onOutcome(Outcome outcome, String key) {
            second.add(outcome);
          }
        })
        .run(context -> {
          Once once = context.getBean(Once.class);
          exchange(once.decide(TestRequest.post("k1").body("{}")))
              .failedBeforeCommit(null).toCompletableFuture().join();
          assertThat(first).containsExactly(Outcome.EXECUTED);
          assertThat(second).containsExactly(Outcome.EXECUTED);
        });
  }

  @Test
  void theKeyScopeIsSpringSecuritysAuthenticatedPrincipalWhenSecurityIsPresent() {
    runner.run(context -> {
      KeyScope scope = context.getBean(KeyScope.class);
      assertThat(scope).isInstanceOf(SecurityContextKeyScope.class);
      assertThat(context.getBean(Once.class).keyScope()).isSameAs(scope);
      TestRequest request = TestRequest.post().principal("servlet-user");

      assertThat(scope.scopeOf(request)).isEqualTo("servlet-user");
      SecurityContextHolder.getContext().setAuthentication(
          UsernamePasswordAuthenticationToken.authenticated("alice", "n/a",
              AuthorityUtils.createAuthorityList("ROLE_USER")));
      assertThat(scope.scopeOf(request)).isEqualTo("alice");
      SecurityContextHolder.getContext().setAuthentication(new AnonymousAuthenticationToken(
          "key", "anonymousUser", AuthorityUtils.createAuthorityList("ROLE_ANONYMOUS")));
      assertThat(scope.scopeOf(TestRequest.post())).isEmpty();
    });
  }

  @Test
  void withoutSpringSecurityTheKeyScopeIsTheServletPrincipal() {
    runner.withClassLoader(new FilteredClassLoader("org.springframework.security"))
        .run(context -> {
          KeyScope scope = context.getBean(KeyScope.class);
          assertThat(scope).isNotInstanceOf(SecurityContextKeyScope.class);
          assertThat(scope.scopeOf(TestRequest.post().principal("bob"))).isEqualTo("bob");
          assertThat(scope.scopeOf(TestRequest.post())).isEmpty();
        });
  }

  @Test
  void onceKeyScopeChoosesGlobalOrAHeaderHashAndRefusesAnythingElse() {
    runner.withPropertyValues("once.key-scope=global").run(context ->
        assertThat(context.getBean(KeyScope.class)
            .scopeOf(TestRequest.post().principal("bob"))).isEmpty());
    runner.withPropertyValues("once.key-scope=header:Authorization").run(context -> {
      KeyScope scope = context.getBean(KeyScope.class);
      String alice = scope.scopeOf(TestRequest.post().header("Authorization", "Bearer a"));
      String bob = scope.scopeOf(TestRequest.post().header("Authorization", "Bearer b"));
      assertThat(alice).startsWith("h:").isNotEqualTo(bob);
    });
    runner.withPropertyValues("once.key-scope=tenant").run(context ->
        assertThat(startupFailure(context).reason()).contains("principal, global or header:"));
  }

  @Test
  void aUserKeyScopeBeanReplacesOnceKeyScope() {
    KeyScope tenant = request -> "tenant-1";
    runner.withBean(KeyScope.class, () -> tenant).withPropertyValues("once.key-scope=global")
        .run(context -> assertThat(context.getBean(Once.class).keyScope()).isSameAs(tenant));
  }

  @Test
  void onceEnabledFalseConfiguresNothing() {
    webRunner.withPropertyValues("once.enabled=false").run(context -> assertThat(context)
        .doesNotHaveBean(Once.class)
        .doesNotHaveBean(IdempotencyStore.class)
        .doesNotHaveBean(FilterRegistrationBean.class));
  }

  @Test
  void aServletApplicationGetsBothFiltersAfterSpringSecurityForRequestDispatchesWithAsync() {
    webRunner.withPropertyValues("once.url-patterns=/payments,/orders/*").run(context -> {
      assertRequestFilter(context.getBean("onceFilterRegistration", FilterRegistrationBean.class),
          -89, UrlPatternFilter.class, "/payments", "/orders/*");
      assertRequestFilter(
          context.getBean("onceIdempotentFilterRegistration", FilterRegistrationBean.class),
          -90, IdempotentHandlerFilter.class, "/*");

      FilterRegistrationBean<?> forms =
          context.getBean("onceFormBodyFilterRegistration", FilterRegistrationBean.class);
      assertThat(forms.getOrder()).as("just before Spring's FormContentFilter").isEqualTo(-9901);
      assertThat(forms.getUrlPatterns()).containsExactly("/*");
    });
  }

  /**
   * Asserts that {@code registration} is a filter of once's, enabled for the {@code REQUEST}
   * dispatch only, with async support, at {@code order}, of the {@code filter} type, mapped to
   * {@code urls}.
   */
  private static void assertRequestFilter(FilterRegistrationBean<?> registration, int order,
      Class<?> filter, String... urls) {
    assertThat(registration.getUrlPatterns()).containsExactly(urls);
    assertThat(registration.isAsyncSupported()).isTrue();
    assertThat(registration.isEnabled()).isTrue();
    assertThat(registration.determineDispatcherTypes()).containsExactly(DispatcherType.REQUEST);
    assertThat(registration.getOrder()).isEqualTo(order);
    assertThat(registration.getFilter()).isInstanceOf(filter);
  }

  @Test
  void theFiltersCoverEveryUrlByDefaultAndTheOrderIsConfigurable() {
    webRunner.withPropertyValues("once.filter-order=10").run(context -> {
      FilterRegistrationBean<?> urls =
          context.getBean("onceFilterRegistration", FilterRegistrationBean.class);
      assertThat(urls.getUrlPatterns()).containsExactly("/*");
      assertThat(urls.getOrder()).isEqualTo(11);
      assertThat(context.getBean("onceIdempotentFilterRegistration", FilterRegistrationBean.class)
          .getOrder()).isEqualTo(10);
    });
  }

  @Test
  void emptyUrlPatternsLeaveOnlyTheAnnotatedEndpointsWithNoRegistrationToDisable() {
    // a disabled registration makes Spring Boot log "Filter onceFilter was not registered
    // (disabled)" at every start
    webRunner.withPropertyValues("once.url-patterns=").run(context -> {
      assertThat(context).hasNotFailed().doesNotHaveBean("onceFilterRegistration");
      assertThat(context.getBean("onceIdempotentFilterRegistration",
          FilterRegistrationBean.class).isEnabled()).isTrue();
    });
  }

  @Test
  void aUrlPatternTheServletSpecificationDoesNotAllowStopsTheStart() {
    for (String pattern : List.of("payments", "/pay*", "/*/x", "*.")) {
      webRunner.withPropertyValues("once.url-patterns=" + pattern).run(context ->
          assertThat(startupFailure(context).reason()).as(pattern)
              .contains("is not a servlet URL pattern"));
    }
  }

  @Test
  void aNonWebApplicationGetsTheEngineButNoFilter() {
    runner.run(context -> assertThat(context).hasSingleBean(Once.class)
        .doesNotHaveBean(FilterRegistrationBean.class)
        .doesNotHaveBean(IdempotentEndpoints.class));
  }

  @Test
  void withoutSpringMvcThereIsNoAnnotationFilterButTheUrlFilterRemains() {
    webRunner.withClassLoader(new FilteredClassLoader("org.springframework.web.servlet"))
        .run(context -> {
          assertThat(context).doesNotHaveBean(IdempotentEndpoints.class);
          assertThat(context).hasBean("onceFilterRegistration");
        });
  }

  @Test
  void withAMeterRegistryTheMetersCountAndTheStoreIsTimed() {
    meteredRunner.run(context -> {
          MeterRegistry registry = context.getBean(MeterRegistry.class);
          Once once = context.getBean(Once.class);
          assertThat(once.store()).isInstanceOf(MeteredStore.class);
          assertThat(context.getBean(IdempotencyStore.class)).isInstanceOf(MemoryStore.class);

          TestRequest request = TestRequest.post("k").body("{}");
          assertThat(exchange(once.decide(request))
              .handlerReturned(Exchange.Response.of(201, List.of(), new byte[0]))
              .toCompletableFuture().join()).isEqualTo(Completion.STORED);
          assertThat(registry.get(OnceMeters.IN_FLIGHT).gauge().value()).isZero();
          once.decide(request);

          assertThat(registry.get(OnceMeters.REQUESTS).tag("outcome", "executed").counter()
              .count()).isEqualTo(1);
          assertThat(registry.get(OnceMeters.REQUESTS).tag("outcome", "replayed").counter()
              .count()).isEqualTo(1);
          assertThat(registry.get(OnceMeters.REQUESTS).tag("outcome", "mismatch").counter()
              .count()).isZero();
          assertThat(registry.get(OnceMeters.EXECUTIONS).tag("completion", "stored").counter()
              .count()).isEqualTo(1);
          assertThat(registry.get(MeteredStore.OPERATIONS).tag("operation", "claim")
              .tag("outcome", "success").tag("store", "MemoryStore").timer().count())
              .isEqualTo(2);
          assertThat(registry.get(MeteredStore.OPERATIONS).tag("operation", "complete")
              .tag("outcome", "success").timer().count()).isEqualTo(1);
        });
  }

  @Test
  void theInFlightGaugeCountsHandlersRunningUnderAKey() {
    meteredRunner.run(context -> {
          MeterRegistry registry = context.getBean(MeterRegistry.class);
          Once once = context.getBean(Once.class);
          Decision first = once.decide(TestRequest.post("a"));
          Decision second = once.decide(TestRequest.post("b"));
          assertThat(registry.get(OnceMeters.IN_FLIGHT).gauge().value()).isEqualTo(2);
          exchange(first).failedBeforeCommit(null).toCompletableFuture().join();
          assertThat(registry.get(OnceMeters.IN_FLIGHT).gauge().value()).isEqualTo(1);
          exchange(second).handlerReturned(Exchange.Response.of(500, List.of(), new byte[0]))
              .toCompletableFuture().join();
          assertThat(registry.get(OnceMeters.IN_FLIGHT).gauge().value()).isZero();
          assertThat(registry.get(OnceMeters.EXECUTIONS).tag("completion",
              Completion.RELEASED_NOT_CACHEABLE.name().toLowerCase()).counter().count())
              .isEqualTo(1);
        });
  }

  @Test
  void leaseRenewalsAndLostOwnershipsAreCountedAndTheRenewalsTimed() {
    FakeClock clock = new FakeClock();
    ManualScheduler scheduler = new ManualScheduler(clock);
    RefusingStore store = new RefusingStore(MemoryStore.create());
    meteredRunner
        .withBean(IdempotencyStore.class, () -> store)
        .withBean(OnceCustomizer.class, () -> builder -> builder.clock(clock)
            .scheduler(scheduler).lease(Duration.ofSeconds(30)))
        .run(context -> {
          MeterRegistry registry = context.getBean(MeterRegistry.class);
          Once once = context.getBean(Once.class);
          assertThat(registry.get(OnceMeters.RENEWALS).counter().count()).isZero();
          assertThat(registry.get(OnceMeters.OWNERSHIP_LOST).tag("operation", "renew").counter()
              .count()).isZero();

          Exchange exchange = exchange(once.decide(TestRequest.post("slow")));
          scheduler.advance(Duration.ofSeconds(10));
          scheduler.advance(Duration.ofSeconds(10));
          store.refuseRenewals = true;
          scheduler.advance(Duration.ofSeconds(10));

          assertThat(registry.get(OnceMeters.RENEWALS).counter().count()).isEqualTo(2);
          assertThat(registry.get(MeteredStore.OPERATIONS).tag("operation", "renew")
              .tag("outcome", "success").timer().count()).isEqualTo(3);
          assertThat(registry.get(OnceMeters.OWNERSHIP_LOST).tag("operation", "renew").counter()
              .count()).isEqualTo(1);
          assertThat(scheduler.pending()).as("renewals stop once ownership is lost").isZero();
          exchange.failedBeforeCommit(null).toCompletableFuture().join();
        });
  }

  /** A store in front of a memory store that can be made to refuse every lease renewal. */
  static final class RefusingStore extends DelegatingStore {
    volatile boolean refuseRenewals;

    RefusingStore(IdempotencyStore delegate) {
      super(delegate);
    }

    @Override
    public boolean renew(String key, dev.once.spi.Token token, Duration lease) {
      return !refuseRenewals && super.renew(key, token, lease);
    }

    @Override
    public java.util.concurrent.CompletionStage<Boolean> renewAsync(String key,
        dev.once.spi.Token token, Duration lease) {
      return refuseRenewals
          ? java.util.concurrent.CompletableFuture.completedFuture(false)
          : super.renewAsync(key, token, lease);
    }
  }

  @Test
  void storeFailuresAreCountedAndTimedAsErrors() {
    FailingStore store = new FailingStore(MemoryStore.create());
    store.failing(true);
    meteredRunner
        .withBean(IdempotencyStore.class, () -> store)
        .run(context -> {
          MeterRegistry registry = context.getBean(MeterRegistry.class);
          Decision decision = context.getBean(Once.class)
              .decide(TestRequest.post("k"));
          assertThat(problem(decision).status()).isEqualTo(503);
          assertThat(registry.get(OnceMeters.REQUESTS).tag("outcome", "store_error").counter()
              .count()).isEqualTo(1);
          assertThat(registry.get(OnceMeters.STORE_ERRORS).tag("operation", "claim").counter()
              .count()).isEqualTo(1);
          assertThat(registry.get(MeteredStore.OPERATIONS).tag("operation", "claim")
              .tag("outcome", "error").tag("store", "FailingStore").timer().count())
              .isEqualTo(1);
        });
  }

  @Test
  void withAnObservationRegistryEachKeyedRequestIsObservedWithItsStoreCallsAndTheMetersStoreTag() {
    List<String> stopped = new CopyOnWriteArrayList<>();
    runner.withConfiguration(AutoConfigurations.of(OnceMetricsAutoConfiguration.class,
            OnceObservationAutoConfiguration.class))
        .withBean(MeterRegistry.class, SimpleMeterRegistry::new)
        .withBean(ObservationRegistry.class, () -> {
          ObservationRegistry registry = ObservationRegistry.create();
          registry.observationConfig().observationHandler(new ObservationHandler<>() {
            @Override
            public void onStop(Observation.Context context) {
              stopped.add(context.getName() + " "
                  + context.getLowCardinalityKeyValues().stream()
                      .map(value -> value.getKey() + "=" + value.getValue())
                      .sorted().collect(Collectors.joining(",")));
            }

            @Override
            public boolean supportsContext(Observation.Context context) {
              return true;
            }
          });
          return registry;
        })
        .run(context -> {
          Once once = context.getBean(Once.class);
          TestRequest request = TestRequest.post("k").body("{}");
          exchange(once.decide(request))
              .handlerReturned(Exchange.Response.of(201, List.of(), new byte[0]))
              .toCompletableFuture().join();
          once.decide(request);

          assertThat(stopped).containsExactly(
              "once.store operation=claim,store=MemoryStore",
              "once.store operation=complete,store=MemoryStore",
              "once.request completion=stored,outcome=executed,replayed=false",
              "once.store operation=claim,store=MemoryStore",
              "once.request outcome=replayed,replayed=true");
          MeterRegistry meters = context.getBean(MeterRegistry.class);
          assertThat(meters.get(MeteredStore.OPERATIONS).tag("operation", "claim")
              .tag("store", "MemoryStore").tag("outcome", "success").timer().count())
              .isEqualTo(2);
        });
  }

  @Test
  void withObservationsTurnedOffNoRequestIsObserved() {
    runner.withConfiguration(AutoConfigurations.of(OnceObservationAutoConfiguration.class))
        .withBean(ObservationRegistry.class, ObservationRegistry::create)
        .withPropertyValues("once.observations.enabled=false")
        .run(context -> {
          assertThat(context).doesNotHaveBean(OnceObservations.class);
          assertThat(context.getBean(Once.class).store()).isInstanceOf(MemoryStore.class);
        });
  }

  @Test
  void withoutAMeterRegistryThereAreNoMetersAndTheStoreIsNotWrapped() {
    runner.withConfiguration(AutoConfigurations.of(OnceMetricsAutoConfiguration.class))
        .run(context -> {
          assertThat(context).doesNotHaveBean(OnceMeters.class);
          assertThat(context.getBean(Once.class).store()).isInstanceOf(MemoryStore.class);
        });
  }

  @Test
  void theHealthContributorReportsTheStoreUpOrDownWithTheError() {
    PingableStore store = new PingableStore();
    runner.withConfiguration(AutoConfigurations.of(OnceHealthAutoConfiguration.class))
        .withBean(IdempotencyStore.class, () -> store)
        .run(context -> {
          HealthIndicator health = context.getBean("onceHealthIndicator", HealthIndicator.class);
          assertThat(health.health().getStatus()).isEqualTo(Status.UP);
          assertThat(health.health().getDetails()).containsEntry("store", "PingableStore");
          store.down = true;
          assertThat(health.health().getStatus()).isEqualTo(Status.DOWN);
          assertThat(health.health().getDetails().get("error").toString())
              .contains("connection refused");
        });
  }

  @Test
  void theHealthContributorReportsTheMemoryStoreAndCanBeTurnedOff() {
    runner.withConfiguration(AutoConfigurations.of(OnceHealthAutoConfiguration.class))
        .run(context -> assertThat(context.getBean("onceHealthIndicator", HealthIndicator.class)
            .health().getDetails()).containsEntry("store", "MemoryStore"));
    runner.withConfiguration(AutoConfigurations.of(OnceHealthAutoConfiguration.class))
        .withPropertyValues("management.health.once.enabled=false")
        .run(context -> assertThat(context).doesNotHaveBean("onceHealthIndicator"));
  }

  /** A store in this JVM whose health check can be made to fail, as a remote one's would. */
  static final class PingableStore implements IdempotencyStore {
    private final MemoryStore delegate = MemoryStore.create();
    volatile boolean down;

    @Override
    public dev.once.spi.Claim claim(String key, dev.once.Fingerprint fingerprint,
        Duration lease) {
      return delegate.claim(key, fingerprint, lease);
    }

    @Override
    public boolean complete(String key, dev.once.spi.Token token,
        dev.once.StoredResponse response, Duration ttl) {
      return delegate.complete(key, token, response, ttl);
    }

    @Override
    public boolean release(String key, dev.once.spi.Token token) {
      return delegate.release(key, token);
    }

    @Override
    public boolean renew(String key, dev.once.spi.Token token, Duration lease) {
      return delegate.renew(key, token, lease);
    }

    @Override
    public void ping() {
      if (down) {
        throw new dev.once.spi.StoreException("connection refused", null, null);
      }
    }
  }

  /**
   * Asserts that {@code runner}, its class loader hiding {@code storeClass}, does not start with
   * {@code once.store=<store>}, naming the property, its value and the module to add.
   */
  static void assertAStoreWithoutItsModuleStopsTheStart(ApplicationContextRunner runner,
      Class<?> storeClass, String store, String module) {
    runner.withClassLoader(new FilteredClassLoader(storeClass))
        .withPropertyValues("once.store=" + store)
        .run(context -> {
          InvalidOncePropertyException failure = startupFailure(context);
          assertThat(failure.property()).isEqualTo("once.store");
          assertThat(failure.value()).isEqualTo(store);
          assertThat(failure.reason()).contains(module);
        });
  }

  static InvalidOncePropertyException startupFailure(
      ApplicationContextAssertProvider<?> context) {
    assertThat(context).hasFailed();
    Throwable failure = context.getStartupFailure();
    while (failure != null && !(failure instanceof InvalidOncePropertyException)) {
      failure = failure.getCause();
    }
    assertThat(failure).as("an InvalidOncePropertyException in %s", context.getStartupFailure())
        .isNotNull();
    return (InvalidOncePropertyException) failure;
  }
}
