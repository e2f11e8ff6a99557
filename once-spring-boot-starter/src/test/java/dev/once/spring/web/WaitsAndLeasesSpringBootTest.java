package dev.once.spring.web;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.spring.AppClient;
import dev.once.spring.OwnStoreApplicationTest;
import dev.once.suite.Http;
import io.micrometer.core.instrument.MeterRegistry;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.DoubleSupplier;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.ApplicationContext;

/**
 * The starter under the stress of issue 11, in a real Spring Boot application on Tomcat: many
 * duplicates waiting ({@code once.max-wait}) on one slow Spring MVC handler hold no thread and all
 * get its replay; a handler slower than several leases ({@code once.lease=300ms}) runs once,
 * because its lease is renewed while it runs. Tomcat has 4 worker threads, so a wait that held one
 * would show at once.
 */
@OwnStoreApplicationTest(classes = TestApplication.class, properties = {
    "once.max-wait=30s",
    "once.lease=300ms",
    "server.tomcat.threads.max=4",
    "server.tomcat.threads.min-spare=1"})
class WaitsAndLeasesSpringBootTest {
  private static final int WAITERS = 40;
  private static final String BODY = "{\"amount\":9,\"currency\":\"EUR\"}";

  @LocalServerPort
  int port;
  @Autowired
  PaymentsController payments;
  @Autowired
  MeterRegistry meters;
  @Autowired
  ApplicationContext context;

  private final AppClient app = new AppClient(() -> port);

  @Test
  void duplicatesWaitingOnASlowHandlerHoldNoThreadAndAllGetItsReplay() throws Exception {
    FilterRegistrationBean<?> registration =
        context.getBean("onceFilterRegistration", FilterRegistrationBean.class);
    assertThat(registration.isAsyncSupported()).as("parking needs async support").isTrue();
    String key = UUID.randomUUID().toString();
    int before = payments.charges.get();
    payments.entered = new CountDownLatch(1);
    payments.release = new CountDownLatch(1);
    CompletableFuture<HttpResponse<String>> first;
    List<CompletableFuture<HttpResponse<String>>> waiters = new ArrayList<>();
    HttpResponse<String> unrelated;
    try {
      double claims = claims();
      first = postAsync(key, null);
      assertThat(payments.entered.await(10, TimeUnit.SECONDS)).as("the first one runs").isTrue();
      for (int i = 0; i < WAITERS; i++) {
        waiters.add(postAsync(key, null));
      }
      // each duplicate claims on a worker thread, then is parked; with 3 threads free, 40 claims
      // are only made if a parked duplicate gives its thread back
      awaitAtLeast("claims of every duplicate", this::claims, claims + 1 + WAITERS);
      long start = System.nanoTime();
      unrelated = post("/payments", UUID.randomUUID().toString(), null);
      assertThat(Duration.ofNanos(System.nanoTime() - start))
          .as("an unrelated request beside %d parked duplicates", WAITERS)
          .isLessThan(Duration.ofSeconds(5));
      assertThat(waiters).as("nobody answered while the first one runs")
          .noneMatch(CompletableFuture::isDone);
    } finally {
      payments.release.countDown();
    }

    HttpResponse<String> answer = first.get(30, TimeUnit.SECONDS);
    assertThat(answer.statusCode()).isEqualTo(201);
    assertThat(unrelated.statusCode()).isEqualTo(201);
    for (CompletableFuture<HttpResponse<String>> waiter : waiters) {
      HttpResponse<String> replay = waiter.get(30, TimeUnit.SECONDS);
      assertThat(replay.statusCode()).isEqualTo(201);
      assertThat(replay.headers().firstValue("Idempotent-Replayed")).hasValue("true");
      assertThat(replay.body()).isEqualTo(answer.body());
    }
    assertThat(payments.charges.get()).as("the slow handler and the unrelated one")
        .isEqualTo(before + 2);
  }

  @Test
  void aHandlerSlowerThanSeveralLeasesRunsOnceForItsLeaseIsRenewed() throws Exception {
    String key = UUID.randomUUID().toString();
    int before = payments.charges.get();
    double lost = lostOwnerships();
    payments.entered = new CountDownLatch(1);
    payments.release = new CountDownLatch(1);
    CompletableFuture<HttpResponse<String>> first;
    HttpResponse<String> duplicate;
    try {
      double renewals = renewals();
      first = postAsync(key, null);
      assertThat(payments.entered.await(10, TimeUnit.SECONDS)).as("the first one runs").isTrue();
      // renewed every third of the lease: nine renewals are three leases gone by
      awaitAtLeast("renewals of the first one's lease", this::renewals, renewals + 9);
      duplicate = post("/payments/slow", key, "wait=0");
    } finally {
      payments.release.countDown();
    }

    HttpResponse<String> answer = first.get(30, TimeUnit.SECONDS);
    HttpResponse<String> retry = post("/payments/slow", key, "wait=0");
    assertThat(duplicate.statusCode()).as("a duplicate after three leases").isEqualTo(409);
    assertThat(answer.statusCode()).isEqualTo(201);
    assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
    assertThat(retry.body()).isEqualTo(answer.body());
    assertThat(payments.charges.get()).isEqualTo(before + 1);
    assertThat(lostOwnerships()).isEqualTo(lost);
  }

  private double claims() {
    return meters.get("once.store.operations").tag("operation", "claim")
        .tag("outcome", "success").timer().count();
  }

  private double renewals() {
    return meters.get("once.lease.renewals").counter().count();
  }

  private double lostOwnerships() {
    return meters.get("once.ownership.lost").counters().stream()
        .mapToDouble(counter -> counter.count()).sum();
  }

  private static void awaitAtLeast(String what, DoubleSupplier value, double target)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (value.getAsDouble() < target) {
      assertThat(System.nanoTime() - deadline).as("%s: %s of %s", what, value.getAsDouble(),
          target).isNegative();
      Thread.sleep(10);
    }
  }

  private CompletableFuture<HttpResponse<String>> postAsync(String key, String prefer) {
    return Http.CLIENT.sendAsync(request("/payments/slow", key, prefer).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> post(String path, String key, String prefer) throws Exception {
    return app.send(request(path, key, prefer));
  }

  private HttpRequest.Builder request(String path, String key, String prefer) {
    HttpRequest.Builder request = app.jsonRequest("POST", path, key, BODY, null);
    if (prefer != null) {
      request.header("Prefer", prefer);
    }
    return request;
  }
}
