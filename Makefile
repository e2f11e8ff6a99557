# Shortcuts; the build itself is Maven's (mvn -B -ntp verify builds and tests everything).

# ---- using once: every published module into the local Maven repository (~/.m2), tests skipped;
# MVN_ARGS adds to the command (MVN_ARGS="-pl '!once-native'" leaves out the C library)
MVN_ARGS ?=
.PHONY: install

install:
	mvn -B -ntp install -DskipTests $(MVN_ARGS)

# ---- the C library (once-native): see docs/NATIVE.md ----------------------------------------
.PHONY: c-shared c-test c-bench

# once-native/target/libonce.so, once.h, libonce.jar (the jar the library loads) and libonce.d/
# (the Redis and PostgreSQL store modules with their dependencies, for ONCE_STORE)
c-shared:
	mvn -B -ntp -q -pl once-native -am package -DskipTests

# the C tests (and the module's Java tests)
c-test:
	mvn -B -ntp -pl once-native -am verify

# ns per call of once_check hits and once_lock/once_unlock pairs, from 1 and 4 threads
c-bench: c-shared
	$(MAKE) -C once-native bench

# ---- benchmarks (once-benchmarks; docs/BENCHMARKS.md) ----------------------------------------
# bench:       the JMH suite (ns/op, B/op) then the HTTP load harness
# bench-quick: the JMH suite in about two minutes, for a sanity check (not for publishing)
# bench-jmh:   the JMH suite only;  bench-http: the HTTP harness only (HTTP_ARGS=... to tune it)
# bench-proxy: once-proxy against its upstream, PlainProxy and (when installed; NGINX=install
#              installs it) nginx, pinned: servers on CPU 0, wrk on CPU 1; the table goes to
#              once-proxy/target/bench-proxy.md (RUNS, DURATION, WARMUP as in run-wrk.sh)
# bench-spring: a Spring Boot application (one POST /payments controller on Tomcat) without and
#              with the once starter, a JVM each (-Xmx2g -XX:+UseSerialGC), pinned as above when
#              wrk is installed, no key and unique keys; ratios, p99 and each JVM's collections
#              (SPRING_ARGS=... to tune; --app-java-options "..." for the JVMs)
BENCH_JAR := once-benchmarks/target/benchmarks.jar
BENCH_OUT := once-benchmarks/target
BENCH_JMH_QUICK := -f 1 -wi 2 -w 1s -i 3 -r 1s
HTTP_ARGS ?=
SPRING_ARGS ?= --rounds 3 --duration 20 --warmup 10

.PHONY: bench bench-quick bench-jmh bench-http bench-jar bench-proxy bench-spring

bench: bench-jmh bench-http

bench-jar:
	mvn -B -ntp -q -pl once-benchmarks -am package -DskipTests

bench-jmh: bench-jar
	@uptime
	java -jar $(BENCH_JAR) -prof gc -rf csv -rff $(BENCH_OUT)/jmh-result.csv
	java -cp $(BENCH_JAR) dev.once.benchmarks.BenchTable $(BENCH_OUT)/jmh-result.csv | tee $(BENCH_OUT)/jmh-table.md
	@uptime

bench-quick: bench-jar
	@uptime
	java -jar $(BENCH_JAR) $(BENCH_JMH_QUICK) -prof gc -rf csv -rff $(BENCH_OUT)/jmh-result-quick.csv
	java -cp $(BENCH_JAR) dev.once.benchmarks.BenchTable $(BENCH_OUT)/jmh-result-quick.csv | tee $(BENCH_OUT)/jmh-table-quick.md
	@uptime

bench-http: bench-jar
	@uptime
	java -cp $(BENCH_JAR) dev.once.benchmarks.http.HttpBench $(HTTP_ARGS)
	@uptime

bench-spring: bench-jar
	@uptime
	java -cp $(BENCH_JAR) dev.once.benchmarks.http.HttpBench --server springboot \
	    $(if $(shell command -v wrk),--pin,) --workloads nokey,unique \
	    --out $(BENCH_OUT)/spring-bench.json $(SPRING_ARGS)
	@uptime

bench-proxy:
	mvn -B -ntp -q -pl once-proxy -am package -DskipTests
	PIN=1 OUT=once-proxy/target/bench-proxy.md bash once-proxy/bench/run-wrk.sh

# ---- Redis high availability (docs/REDIS.md) ----------------------------------------------
# ha-test: every Sentinel failover test of once-redis (about two minutes), the long ones the build
#          leaves out (@Tag("ha")) included
.PHONY: ha-test

ha-test:
	mvn -B -ntp -pl once-redis -am verify -Dtest=SentinelFailoverTest \
	  -Dsurefire.failIfNoSpecifiedTests=false -Dha.excluded=none -Dfuzz.skip -Djcstress.skip=true

# ---- concurrency proofs (once-jcstress; docs/BENCHMARKS.md) ------------------------------------
# jcstress:       every stress test in jcstress's default mode (an hour or more on 2 cores)
# jcstress-quick: the same in quick mode (10 to 20 minutes); the build runs the sanity mode
.PHONY: jcstress jcstress-quick

jcstress:
	mvn -B -ntp -pl once-jcstress -am verify -Dsurefire.failIfNoSpecifiedTests=false -Dtest=none -Djcstress.mode=default

jcstress-quick:
	mvn -B -ntp -pl once-jcstress -am verify -Dsurefire.failIfNoSpecifiedTests=false -Dtest=none -Djcstress.mode=quick

# ---- fuzzing (Jazzer; docs/FUZZING.md) ----------------------------------------------------
# fuzz: every fuzz target for FUZZ_SECONDS each (default 600), one after another, each in a build
#       and a JVM of its own, so a finding in one does not stop the others (the run fails at the
#       end, naming them); TARGET="RecordCodecFuzzTest RedisUrlFuzzTest" runs only those. A
#       finding is written beside the target's seeds as crash-<sha1>.
#       Each run draws its own libFuzzer seed (the build fixes one: fuzz.seed).
FUZZ_SECONDS ?= 600
FUZZ_TARGETS := RequestHeadersFuzzTest RequestBodyFuzzTest RecordCodecFuzzTest RedisUrlFuzzTest \
  HeaderCodecFuzzTest JdbcStoreUrlFuzzTest NativeBridgeFuzzTest ProxyFlagsFuzzTest
TARGET ?= $(FUZZ_TARGETS)
FUZZ_MODULES := once-core,once-servlet,once-redis,once-jdbc,once-native,once-proxy
.PHONY: fuzz

fuzz:
	@failed=""; for target in $(TARGET); do \
	  echo "== fuzzing $$target for $(FUZZ_SECONDS) s"; \
	  mvn -B -ntp -pl $(FUZZ_MODULES) -am test -Dtest=$$target \
	    -Dsurefire.failIfNoSpecifiedTests=false -Dfuzz.seconds=$(FUZZ_SECONDS) -Dfuzz.seed=0 \
	    || failed="$$failed $$target"; \
	done; \
	if [ -n "$$failed" ]; then echo "== findings (or failures) in:$$failed"; exit 1; fi
