package dev.once.benchmarks;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Turns a JMH result file ({@code -rf csv}, run with {@code -prof gc}) into the Markdown table of
 * {@code docs/BENCHMARKS.md}: each of our benchmarks beside the seed's published figure and the
 * issue's goal.
 *
 * <p>For benchmarks run on several threads, JMH's score is each thread's average time per
 * operation; the seed's {@code RunParallel} figures are wall time over all operations, so the
 * {@code ns/op} column divides by the thread count there (and says so).
 *
 * <p>Run: {@code java -cp once-benchmarks/target/benchmarks.jar dev.once.benchmarks.BenchTable
 * once-benchmarks/target/jmh-result.csv}
 */
public final class BenchTable {
  /** The seed's README: ns/op, B/op and allocs/op on an Intel Core i7-1355U. */
  static final Map<String, long[]> SEED = new LinkedHashMap<>();
  /** The goals: most ns/op, and most B/op (or -1 for none). */
  static final Map<String, long[]> GOALS = Map.of(
      "MemoryStore_Get", new long[] {50, -1},
      "MemoryStore_Lock", new long[] {200, -1},
      "Middleware_CacheHit", new long[] {1500, 2047});

  static {
    SEED.put("MemoryStore_Get", new long[] {50, 0, 0});
    SEED.put("MemoryStore_Get_Parallel", new long[] {89, 0, 0});
    SEED.put("MemoryStore_Set", new long[] {116, 32, 1});
    SEED.put("MemoryStore_Lock", new long[] {420, 132, 4});
    SEED.put("Middleware_CacheHit", new long[] {2834, 5747, 16});
    SEED.put("Middleware_CacheHit_Parallel", new long[] {3427, 5750, 16});
    SEED.put("Middleware_CacheMiss", new long[] {4429, 6307, 26});
    SEED.put("Middleware_NoKey", new long[] {2716, 5395, 15});
    SEED.put("Middleware_WithBodyHash", new long[] {4632, 7048, 33});
    SEED.put("ThunderingHerd", new long[] {618231, 617004, 1990});
    SEED.put("MixedWorkload", new long[] {483, 35, 2});
  }

  private BenchTable() {}

  /**
   * Prints the table.
   *
   * @param args the JMH CSV result file
   */
  public static void main(String[] args) throws IOException {
    if (args.length != 1) {
      System.err.println("usage: BenchTable <jmh-result.csv>");
      System.exit(2);
    }
    System.out.print(table(Files.readAllLines(Path.of(args[0]), StandardCharsets.UTF_8)));
  }

  /** One benchmark's primary score and allocation, for one set of parameters. */
  static final class Row {
    final String name;
    final String params;
    int threads;
    double nanos = Double.NaN;
    double error = Double.NaN;
    double bytes = Double.NaN;

    Row(String name, String params) {
      this.name = name;
      this.params = params;
    }

    /** @return wall time per operation over all threads, as the seed's figures are */
    double wallNanos() {
      return nanos / Math.max(1, threads);
    }
  }

  /**
   * @param csv the lines of a JMH CSV result file
   * @return the Markdown table
   * @throws IllegalArgumentException if the file is not a JMH CSV result in ns/op
   */
  static String table(List<String> csv) {
    if (csv.isEmpty() || !csv.get(0).startsWith("\"Benchmark\"")) {
      throw new IllegalArgumentException("not a JMH CSV result file (run JMH with -rf csv)");
    }
    List<String> header = split(csv.get(0));
    Map<String, Row> rows = new LinkedHashMap<>();
    for (String line : csv.subList(1, csv.size())) {
      if (line.isBlank()) {
        continue;
      }
      List<String> cells = split(line);
      String benchmark = cells.get(0);
      String metric = "";
      int colon = benchmark.indexOf(':');
      if (colon >= 0) {
        metric = benchmark.substring(colon + 1);
        benchmark = benchmark.substring(0, colon);
      }
      String name = benchmark.substring(benchmark.lastIndexOf('.') + 1);
      StringBuilder params = new StringBuilder();
      for (int i = 7; i < cells.size() && i < header.size(); i++) {
        if (!cells.get(i).isEmpty()) {
          params.append(params.length() == 0 ? "" : ", ")
              .append(header.get(i).replace("Param: ", "")).append('=').append(cells.get(i));
        }
      }
      Row row = rows.computeIfAbsent(name + "|" + params, k -> new Row(name, params.toString()));
      String unit = cells.get(6);
      double score = Double.parseDouble(cells.get(4));
      if (metric.isEmpty()) {
        if (!unit.equals("ns/op")) {
          throw new IllegalArgumentException(name + " is in " + unit + "; the table needs ns/op");
        }
        row.threads = Integer.parseInt(cells.get(2));
        row.nanos = score;
        row.error = Double.parseDouble(cells.get(5));
      } else if (metric.equals("gc.alloc.rate.norm")) {
        row.bytes = score;
      }
    }
    List<Row> ordered = new ArrayList<>();
    for (String name : SEED.keySet()) {
      for (Row row : rows.values()) {
        if (row.name.equals(name)) {
          ordered.add(row);
        }
      }
    }
    for (Row row : rows.values()) {
      if (!SEED.containsKey(row.name)) {
        ordered.add(row);
      }
    }
    StringBuilder out = new StringBuilder(
        "| benchmark | parameters | threads | ns/op | ± (99.9%) | B/op | seed ns/op | seed B/op |"
            + " goal |\n|---|---|---:|---:|---:|---:|---:|---:|---|\n");
    for (Row row : ordered) {
      long[] seed = SEED.get(row.name);
      out.append(String.format(Locale.ROOT, "| %s | %s | %d | %s%s | %s | %s | %s | %s | %s |%n",
          row.name, row.params.isEmpty() ? "" : row.params, row.threads, number(row.wallNanos()),
          row.threads > 1 ? " (" + number(row.nanos) + " per thread)" : "",
          number(row.error / Math.max(1, row.threads)), number(row.bytes),
          seed == null ? "" : number(seed[0]), seed == null ? "" : number(seed[1]), goal(row)));
    }
    return out.toString();
  }

  private static String goal(Row row) {
    long[] goal = GOALS.get(row.name);
    if (goal == null) {
      return "";
    }
    boolean timeMet = row.wallNanos() <= goal[0];
    boolean bytesMet = goal[1] < 0 || row.bytes <= goal[1];
    String text = "≤ " + number(goal[0]) + " ns" + (goal[1] < 0 ? "" : ", < 2 KiB");
    return text + ": " + (timeMet && bytesMet ? "met" : "missed");
  }

  private static String number(double value) {
    if (Double.isNaN(value)) {
      return "n/a";
    }
    if (Math.abs(value) >= 100 || value == Math.rint(value)) {
      return String.format(Locale.ROOT, "%,.0f", value);
    }
    return String.format(Locale.ROOT, "%.1f", value);
  }

  /** Splits a CSV line as JMH writes it: fields quoted or not, no quotes inside fields. */
  static List<String> split(String line) {
    List<String> cells = new ArrayList<>();
    StringBuilder cell = new StringBuilder();
    boolean quoted = false;
    for (int i = 0; i < line.length(); i++) {
      char c = line.charAt(i);
      if (c == '"') {
        quoted = !quoted;
      } else if (c == ',' && !quoted) {
        cells.add(cell.toString());
        cell.setLength(0);
      } else {
        cell.append(c);
      }
    }
    cells.add(cell.toString());
    return cells;
  }
}
