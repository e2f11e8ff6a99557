# ---- benchmarks (once-benchmarks; docs/BENCHMARKS.md) ----------------------------------------
# bench:       the JMH suite (ns/op, B/op) then the HTTP load harness
# bench-quick: the JMH suite in about two minutes, for a sanity check (not for publishing)
# bench-jmh:   the JMH suite only;  bench-http: the HTTP harness only (HTTP_ARGS=... to tune it)
BENCH_JAR := once-benchmarks/target/benchmarks.jar
BENCH_OUT := once-benchmarks/target
BENCH_JMH_QUICK := -f 1 -wi 2 -w 1s -i 3 -r 1s
HTTP_ARGS ?=

.PHONY: bench bench-quick bench-jmh bench-http bench-jar

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
