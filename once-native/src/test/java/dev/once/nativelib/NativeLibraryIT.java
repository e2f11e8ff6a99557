package dev.once.nativelib;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import dev.once.nativelib.NativeProcess.Interactive;
import dev.once.nativelib.NativeProcess.Result;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The C tests of libonce.so: each test runs one case of {@code test_once} (src/test/c) in a
 * process of its own, with the environment the case is about, and requires it to pass all its
 * checks. The rest put libonce.so in other surroundings (no jar beside it, jars in libonce.d/, a
 * class path of directories), or drive it through {@code once_cli}.
 */
class NativeLibraryIT {

  @Test
  void everyFunctionReturnsStateErrorBeforeInit() throws Exception {
    passes("before_init");
  }

  @Test
  void seedFunctionsCheckLockStoreAndUnlockAsDocumented() throws Exception {
    passes("seed");
  }

  @Test
  void seedFunctionsRefuseBadArgumentsWithErrArg() throws Exception {
    passes("seed_errors");
  }

  @Test
  void responsesExpireAfterTheirTtlClaimsAfterTheirLeaseAndHeldLocksAreRenewed() throws Exception {
    passes("expiry", "ONCE_LEASE", "1s");
  }

  @Test
  void onceRenewExtendsTheLeaseOfItsOwnerOnlyAndRefusesBadArguments() throws Exception {
    passes("renew");
  }

  @Test
  void anUnknownOutcomeIsItsOwnOutcomeNeverAReplayNorASecondRun() throws Exception {
    passes("outcome_unknown");
  }

  @Test
  void aKeyHeldPastSeveralLeasesStaysInProgressForAnotherThreadThenIsReplayed()
      throws Exception {
    Result result = passes("hold", "ONCE_LEASE", "PT1S");

    assertThat(result.stdout()).contains("held-lock: held").contains("held-claim: held");
  }

  @Test
  void manyThreadsClaimingRenewingAndLockingOneSetOfKeysNeverShareAKey() throws Exception {
    // the older name of the lease, still read
    passes("renew_race", "ONCE_LEASE_SECONDS", "1");
  }

  /** The grammar of ONCE_LEASE is the Java one: the same cases, read by both. */
  @Test
  void theCLibraryReadsDurationsAsTheJavaGrammarDoes() throws Exception {
    Path cases = Path.of("..", "once-core", "src", "test", "resources", "dev", "once", "config",
        "duration-cases.txt");
    Result result = NativeProcess.run(Map.of(),
        List.of(NativeProcess.program("test_duration").toString(), cases.toString()));

    assertThat(result.exitCode()).as(result.describe()).isZero();
    assertThat(result.stdout()).as(result.describe()).containsPattern("[1-9]\\d* passed, 0 failed");
  }

  @Test
  void everyCallAfterDestroyReturnsStateError() throws Exception {
    Result result = passes("destroy");

    assertThat(result.stderr()).contains("libonce: once_init failed: ONCE_ERR_STATE");
  }

  @Test
  void destroyWhileThreadsAreCallingRefusesThemWithStateErrorAndNothingElse() throws Exception {
    passes("destroy_under_load");
  }

  @Test
  void sixteenThreadsRacingOnceLockOnOneKeyGetExactlyOneId() throws Exception {
    passes("race");
  }

  @Test
  void shortLivedThreadsAreAttachedAsDaemonsAndDetachedWhenTheyExit() throws Exception {
    passes("threads");
  }

  @Test
  void extendedApiCarriesFingerprintsHeadersAndBinaryBodies() throws Exception {
    passes("extended");
  }

  @Test
  void extendedApiRefusesBadArgumentsWithErrArg() throws Exception {
    passes("extended_errors");
  }

  @Test
  void aStoreThatFailsGivesErrStoreAndIsFoundByOnceStoreOnTheClassPath() throws Exception {
    passes("store_failure",
        "ONCE_STORE", "failing:",
        "ONCE_CLASSPATH", NativeProcess.testClassPath());
  }

  @Test
  void aFailedOpenSaysWhyAndCanBeTriedAgain() throws Exception {
    passes("open_errors");
  }

  /**
   * Without libjvm, without the bridge on the class path, or with an option the JVM refuses (an
   * error, not an exit), every call returns state error, and once_init and once_open say why.
   */
  @ParameterizedTest(name = "{0}={1}")
  @MethodSource
  void withoutAJvmOnceInitAndOnceOpenSayWhyAndEveryCallReturnsStateError(String variable,
      String value, List<String> why) throws Exception {
    Result result = passes("no_jvm", variable, value);

    assertThat(result.stderr()).contains("libonce: once_init failed: ONCE_ERR_JVM").contains(why);
    assertThat(result.stdout()).contains("once_open: " + why.get(0)).contains(why);
  }

  static Stream<Arguments> withoutAJvmOnceInitAndOnceOpenSayWhyAndEveryCallReturnsStateError() {
    return Stream.of(
        arguments("JAVA_HOME", "/nonexistent-jdk",
            List.of("cannot load /nonexistent-jdk/lib/server/libjvm.so")),
        arguments("ONCE_CLASSPATH", "/nonexistent/libonce.jar",
            List.of("class dev.once.nativelib.NativeBridge not found")),
        arguments("ONCE_JVM_OPTIONS", "-Xnonsense",
            List.of("JNI_CreateJavaVM failed", "-Xnonsense")));
  }

  @Test
  void withoutJavaHomeTheJdkTheLibraryWasBuiltWithIsUsed() throws Exception {
    passes("seed", "JAVA_HOME", null);
  }

  @Test
  void aJvmOutOfHeapGivesErrNomemAndTheLibraryGoesOn() throws Exception {
    passes("out_of_memory", "ONCE_JVM_OPTIONS", "-Xmx32m -XX:+UseSerialGC");
  }

  @Test
  void theLibraryJoinsAJvmTheProcessAlreadyRuns() throws Exception {
    passes("join");
  }

  @Test
  void theJvmLeavesTheHostsSignalHandlersAlone() throws Exception {
    passes("signals");
  }

  /** As a job started in the background is: SIGINT and SIGQUIT ignored, which exec keeps. */
  @Test
  void theSignalCaseSetsTheDispositionsItChecksWhateverItInherits() throws Exception {
    String program = NativeProcess.program("test_once").toString();

    Result result = NativeProcess.run(Map.of(),
        List.of("/bin/sh", "-c", "trap '' INT QUIT HUP; exec \"$0\" signals", program));

    assertThat(result.exitCode()).as(result.describe()).isZero();
    assertThat(result.stdout()).as(result.describe())
        .containsPattern("signals: [1-9]\\d* passed, 0 failed");
  }

  @Test
  void withoutLibonceJarBesideTheLibraryOnceOpenSaysWhereItLooked(@TempDir Path dir)
      throws Exception {
    Files.copy(NativeProcess.TARGET.resolve("libonce.so"), dir.resolve("libonce.so"));

    Result result = passes("no_jvm", "LD_LIBRARY_PATH", dir.toString());

    assertThat(result.stdout())
        .contains("cannot read " + dir.toRealPath().resolve("libonce.jar"))
        .contains("libonce.jar must be next to libonce.so");
  }

  @Test
  void jarsInLibonceDBesideTheLibraryAreOnTheClassPath(@TempDir Path dir) throws Exception {
    Files.copy(NativeProcess.TARGET.resolve("libonce.so"), dir.resolve("libonce.so"));
    Files.copy(NativeProcess.TARGET.resolve("libonce.jar"), dir.resolve("libonce.jar"));
    Files.createDirectory(dir.resolve("libonce.d"));
    failingStoreJar(dir.resolve("libonce.d").resolve("failing-store.jar"));

    passes("store_failure", "LD_LIBRARY_PATH", dir.toString(), "ONCE_STORE", "failing:");
  }

  @Test
  void onceClasspathExpandsADirectoryStarToItsJars(@TempDir Path dir) throws Exception {
    Files.copy(NativeProcess.TARGET.resolve("libonce.jar"), dir.resolve("libonce.jar"));
    failingStoreJar(dir.resolve("failing-store.jar"));

    passes("store_failure", "ONCE_CLASSPATH", "/nonexistent.jar:" + dir + "/*",
        "ONCE_STORE", "failing:");
  }

  @Test
  @Timeout(value = 180, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void onceCliInterleavesCallsInOneProcess() throws Exception {
    try (Interactive cli = NativeProcess.start(Map.of(),
        List.of(NativeProcess.program("once_cli").toString()))) {
      assertThat(cli.readLine()).isEqualTo("ready");

      assertThat(cli.send("check order-7")).isEqualTo("0");
      String lock = cli.send("lock order-7");
      assertThat(Integer.parseInt(lock)).isPositive();
      assertThat(cli.send("lock order-7")).isEqualTo("0");
      assertThat(cli.send("store order-7 201 60 {\"status\":\"created\"}")).isEqualTo("0");
      assertThat(cli.send("unlock " + lock)).isEqualTo("0");
      assertThat(cli.send("check order-7")).isEqualTo("201 {\"status\":\"created\"}");
      assertThat(cli.send("lookup order-7")).isEqualTo("3 201 [] {\"status\":\"created\"}");
      assertThat(cli.send("store order-7 500 60 again")).isEqualTo("-6");
      assertThat(cli.send("lookup order-8")).isEqualTo("0");
      assertThat(cli.send("destroy")).isEqualTo("0");
      assertThat(cli.send("check order-7")).isEqualTo("-2");
    }
  }

  /**
   * Runs a case of test_once with the variables given as name, value pairs (a null value unsets
   * one); it must pass.
   */
  private static Result passes(String testCase, String... environment) throws Exception {
    Map<String, String> env = new HashMap<>();
    for (int i = 0; i < environment.length; i += 2) {
      env.put(environment[i], environment[i + 1]);
    }
    Result result = NativeProcess.run(env,
        List.of(NativeProcess.program("test_once").toString(), testCase));
    assertThat(result.exitCode()).as(result.describe()).isZero();
    assertThat(result.stdout()).as(result.describe())
        .containsPattern(testCase + ": [1-9]\\d* passed, 0 failed");
    return result;
  }

  /** A jar of the failing: store provider alone, as a store module would ship. */
  private static void failingStoreJar(Path jar) throws Exception {
    Path classes = Paths.get(FailingStoreProvider.class.getProtectionDomain().getCodeSource()
        .getLocation().toURI());
    try (OutputStream file = Files.newOutputStream(jar);
        JarOutputStream out = new JarOutputStream(file)) {
      try (var stream = Files.list(classes.resolve("dev/once/nativelib"))) {
        for (Path type : stream.filter(p -> p.getFileName().toString()
            .startsWith("FailingStoreProvider")).toList()) {
          out.putNextEntry(new JarEntry("dev/once/nativelib/" + type.getFileName()));
          out.write(Files.readAllBytes(type));
          out.closeEntry();
        }
      }
      out.putNextEntry(new JarEntry("META-INF/services/dev.once.spi.StoreProvider"));
      out.write(FailingStoreProvider.class.getName().getBytes(StandardCharsets.UTF_8));
      out.closeEntry();
    }
  }
}
