package dev.once.redis;

import io.lettuce.core.api.sync.RedisCommands;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The commands Redis executed, from {@code INFO commandstats}: a snapshot, and what ran between two
 * snapshots. Commands a script runs are counted too (under their own names), so the difference
 * accounts for everything; the test's own INFO calls are left out.
 */
final class CommandStats {
  private final Map<String, Long> calls;

  private CommandStats(Map<String, Long> calls) {
    this.calls = calls;
  }

  /** @return the counts of one server, or the sums over several (a cluster's masters) */
  static CommandStats of(List<RedisCommands<String, String>> servers) {
    Map<String, Long> calls = new TreeMap<>();
    for (RedisCommands<String, String> server : servers) {
      server.info("commandstats").lines()
          .filter(line -> line.startsWith("cmdstat_"))
          .forEach(line -> {
            String name = line.substring("cmdstat_".length(), line.indexOf(':'));
            int start = line.indexOf("calls=") + "calls=".length();
            long count = Long.parseLong(line.substring(start, line.indexOf(',', start)));
            if (!name.equals("info")) {
              calls.merge(name, count, Long::sum);
            }
          });
    }
    return new CommandStats(calls);
  }

  static CommandStats of(RedisCommands<String, String> server) {
    return of(List.of(server));
  }

  /** @return the commands counted in {@code later} and not in this snapshot, by name */
  Map<String, Long> until(CommandStats later) {
    Map<String, Long> delta = new TreeMap<>();
    later.calls.forEach((name, count) -> {
      long difference = count - calls.getOrDefault(name, 0L);
      if (difference != 0) {
        delta.put(name, difference);
      }
    });
    return delta;
  }
}
