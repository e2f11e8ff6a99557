package dev.once.benchmarks;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Warmup;

/**
 * How every benchmark of the seed's is run, which JMH gives each benchmark class that extends
 * this one: the average time of an operation in nanoseconds, in two forks of a pre-touched 2 GB
 * heap, after five warm-up iterations of one second, over five of two seconds. A command line's
 * options ({@code -f}, {@code -wi}, {@code -i}, ...) still override them.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 2, jvmArgsAppend = {"-Xms2g", "-Xmx2g", "-XX:+AlwaysPreTouch"})
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 2)
abstract class SeedSettings {}
