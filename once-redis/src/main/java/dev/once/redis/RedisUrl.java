package dev.once.redis;

import io.lettuce.core.RedisURI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A store URL, parsed: {@code redis://[user:password@]host[:port][/db][?params]}, the same with
 * {@code rediss://} for TLS, and {@code redis-cluster://host1:port1,host2:port2[?params]} (or
 * {@code rediss-cluster://}) for a cluster, whose hosts are the seeds the topology is discovered
 * from. The store's own parameters are {@code keyPrefix}, {@code commandTimeout}, {@code
 * nearCacheBytes} and {@code nearCacheMaxAge}; Lettuce's ({@code timeout}, {@code database}/{@code
 * db}, {@code clientName}, {@code libraryName}, {@code libraryVersion}, {@code verifyPeer}) are
 * passed on to it. Any other parameter is refused, so a misspelt one is not silently ignored. Error
 * messages show the URL without its credentials.
 */
final class RedisUrl {
  static final String SCHEMES = "redis://, rediss://, redis-cluster://, rediss-cluster://";

  private static final Set<String> STANDALONE = Set.of("redis", "rediss");
  private static final Set<String> CLUSTER = Set.of("redis-cluster", "rediss-cluster");
  private static final Set<String> LETTUCE_PARAMETERS = Set.of(
      "timeout", "database", "db", "clientName", "libraryName", "libraryVersion", "verifyPeer");
  private static final String OWN_PARAMETERS =
      "keyPrefix, commandTimeout, nearCacheBytes, nearCacheMaxAge";
  private static final Pattern DURATION = Pattern.compile("(\\d+)(ms|s|m|h)");
  private static final Pattern SIZE = Pattern.compile("(\\d+)(KiB|MiB|GiB)?");

  final boolean cluster;
  final List<RedisURI> nodes;
  final String keyPrefix;
  final Duration commandTimeout;
  final long nearCacheBytes;
  final Duration nearCacheMaxAge;

  private RedisUrl(boolean cluster, List<RedisURI> nodes, String keyPrefix,
      Duration commandTimeout, long nearCacheBytes, Duration nearCacheMaxAge) {
    this.cluster = cluster;
    this.nodes = List.copyOf(nodes);
    this.keyPrefix = keyPrefix;
    this.commandTimeout = commandTimeout;
    this.nearCacheBytes = nearCacheBytes;
    this.nearCacheMaxAge = nearCacheMaxAge;
  }

  /** @return true if {@code url} has one of the schemes this store opens */
  static boolean accepts(String url) {
    String scheme = scheme(url);
    return scheme != null && (STANDALONE.contains(scheme) || CLUSTER.contains(scheme));
  }

  /**
   * @param url a store URL
   * @return it parsed
   * @throws IllegalArgumentException if it is malformed, with a message naming what is wrong
   */
  static RedisUrl parse(String url) {
    String scheme = scheme(url);
    if (scheme == null || !(STANDALONE.contains(scheme) || CLUSTER.contains(scheme))) {
      throw new IllegalArgumentException(
          "a Redis store URL starts with one of " + SCHEMES + ", but was " + redactUrl(url));
    }
    if (url.indexOf('?') >= 0 && url.indexOf('?') < url.lastIndexOf('@')) {
      // either a parameter holds an '@' or the password a '?': which is which cannot be told, so
      // nothing after the '?' is quoted, lest it be part of the password
      throw new IllegalArgumentException("the store URL " + redactUrl(url) + " has an '@' after its"
          + " '?': percent-encode an '@' in a parameter (%40), and a '?' in a password (%3F)");
    }
    String rest = url.substring(url.indexOf("://") + 3);
    String query = "";
    int question = rest.indexOf('?');
    if (question >= 0) {
      query = rest.substring(question + 1);
      rest = rest.substring(0, question);
    }
    String keyPrefix = null;
    Duration commandTimeout = null;
    long nearCacheBytes = 0;
    Duration nearCacheMaxAge = null;
    List<String> passedOn = new ArrayList<>();
    for (String parameter : query.split("&")) {
      if (parameter.isEmpty()) {
        continue;
      }
      int equals = parameter.indexOf('=');
      String name = equals < 0 ? parameter : parameter.substring(0, equals);
      String value = equals < 0 ? "" : decode(url, name, parameter.substring(equals + 1));
      switch (name) {
        case "keyPrefix" -> keyPrefix = value;
        case "commandTimeout" -> commandTimeout = duration(url, name, value);
        case "nearCacheBytes" -> nearCacheBytes = size(url, name, value);
        case "nearCacheMaxAge" -> nearCacheMaxAge = duration(url, name, value);
        default -> {
          if (!LETTUCE_PARAMETERS.contains(name)) {
            throw new IllegalArgumentException("unknown parameter \"" + name + "\" in store URL "
                + redactUrl(url) + " (known: " + OWN_PARAMETERS + ", and Lettuce's "
                + String.join(", ", LETTUCE_PARAMETERS.stream().sorted().toList()) + ")");
          }
          passedOn.add(parameter);
        }
      }
    }
    if (nearCacheMaxAge != null && nearCacheBytes == 0) {
      throw new IllegalArgumentException(
          "nearCacheMaxAge needs nearCacheBytes in store URL " + redactUrl(url));
    }
    String lettuceQuery = passedOn.isEmpty() ? "" : "?" + String.join("&", passedOn);
    String nodeScheme = scheme.startsWith("rediss") ? "rediss" : "redis";
    List<RedisURI> nodes = CLUSTER.contains(scheme)
        ? clusterNodes(url, nodeScheme, rest, lettuceQuery)
        : List.of(redisUri(url, scheme + "://" + rest + lettuceQuery));
    return new RedisUrl(CLUSTER.contains(scheme), nodes, keyPrefix, commandTimeout,
        nearCacheBytes, nearCacheMaxAge);
  }

  private static List<RedisURI> clusterNodes(String url, String scheme, String rest, String query) {
    int at = rest.lastIndexOf('@');
    String userInfo = at < 0 ? "" : rest.substring(0, at + 1);
    int slash = rest.indexOf('/', at + 1);
    String hosts = rest.substring(at + 1, slash < 0 ? rest.length() : slash);
    String path = slash < 0 ? "" : rest.substring(slash);
    if (!path.isEmpty() && !path.equals("/") && !path.equals("/0")) {
      throw new IllegalArgumentException(
          "a Redis Cluster has only database 0, but the store URL " + redactUrl(url) + " names "
              + path.substring(1));
    }
    List<RedisURI> nodes = new ArrayList<>();
    for (String host : hosts.split(",", -1)) {
      if (host.isBlank()) {
        throw new IllegalArgumentException("an empty host in store URL " + redactUrl(url)
            + "; list the seed nodes as redis-cluster://host1:port1,host2:port2");
      }
      nodes.add(redisUri(url, scheme + "://" + userInfo + host.trim() + query));
    }
    return nodes;
  }

  private static RedisURI redisUri(String url, String lettuceUrl) {
    RedisURI uri;
    try {
      uri = RedisURI.create(lettuceUrl);
    } catch (RuntimeException e) {
      // without the cause, whose message may quote the password
      throw new IllegalArgumentException("malformed store URL " + redactUrl(url) + ": "
          + (hasPlainUserInfo(url)
              ? withoutUserInfo(url, String.valueOf(e.getMessage()))
              : "percent-encode the user name and the password"));
    }
    if (uri.getHost() == null || uri.getHost().isEmpty()) {
      throw new IllegalArgumentException("no host in store URL " + redactUrl(url));
    }
    return uri;
  }

  private static String scheme(String url) {
    int separator = url == null ? -1 : url.indexOf("://");
    return separator <= 0 ? null : url.substring(0, separator).toLowerCase(Locale.ROOT);
  }

  private static String decode(String url, String name, String value) {
    try {
      return URLDecoder.decode(value, StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          name + " is not URL-encoded correctly in store URL " + redactUrl(url), e);
    }
  }

  private static Duration duration(String url, String name, String value) {
    Duration duration = null;
    Matcher matcher = DURATION.matcher(value);
    if (matcher.matches()) {
      try {
        long amount = Long.parseLong(matcher.group(1));
        duration = switch (matcher.group(2)) {
          case "ms" -> Duration.ofMillis(amount);
          case "s" -> Duration.ofSeconds(amount);
          case "m" -> Duration.ofMinutes(amount);
          default -> Duration.ofHours(amount);
        };
      } catch (ArithmeticException | NumberFormatException e) {
        throw new IllegalArgumentException(name + " is too long a duration: \"" + value
            + "\" in store URL " + redactUrl(url));
      }
    } else {
      try {
        duration = Duration.parse(value);
      } catch (DateTimeParseException e) {
        // reported below
      }
    }
    if (duration == null || duration.isNegative() || duration.isZero()) {
      throw new IllegalArgumentException(name + " must be a positive duration such as 500ms, 2s,"
          + " 1m or PT2S, but was \"" + value + "\" in store URL " + redactUrl(url));
    }
    return duration;
  }

  private static long size(String url, String name, String value) {
    Matcher matcher = SIZE.matcher(value);
    if (matcher.matches()) {
      try {
        long amount = Long.parseLong(matcher.group(1));
        int shift = matcher.group(2) == null ? 0 : switch (matcher.group(2)) {
          case "KiB" -> 10;
          case "MiB" -> 20;
          default -> 30;
        };
        if (amount > 0 && amount <= (Long.MAX_VALUE >> shift)) {
          return amount << shift;
        }
      } catch (NumberFormatException e) {
        // reported below
      }
    }
    throw new IllegalArgumentException(name + " must be a positive number of bytes such as"
        + " 16777216 or 16MiB, but was \"" + value + "\" in store URL " + redactUrl(url));
  }

  /**
   * @param url a store URL
   * @return it with its user information replaced by {@code ***}: all from its {@code ://} to its
   *     last {@code @}, whatever is between (a password that holds a {@code /}, a {@code ?} or a
   *     {@code ://} is still a password)
   */
  static String redactUrl(String url) {
    if (url == null) {
      return "null";
    }
    int start = url.indexOf("://");
    int at = url.lastIndexOf('@');
    if (start < 0 || at < start + 3) {
      return url;
    }
    return url.substring(0, start + 3) + "***" + url.substring(at);
  }

  /**
   * @param text a message that may hold URLs
   * @return it with the user information of every URL in it replaced by {@code ***}: from its
   *     {@code ://} to the last {@code @} before the next {@code ://}
   */
  static String redact(String text) {
    if (text == null) {
      return "null";
    }
    StringBuilder redacted = new StringBuilder(text.length());
    int from = 0;
    while (true) {
      int start = text.indexOf("://", from);
      if (start < 0) {
        return redacted.append(text, from, text.length()).toString();
      }
      start += 3;
      int next = text.indexOf("://", start);
      int end = next < 0 ? text.length() : next;
      int at = text.lastIndexOf('@', end - 1);
      redacted.append(text, from, start);
      if (at >= start) {
        redacted.append("***");
        from = at;
      } else {
        from = start;
      }
    }
  }

  /**
   * @return true if the user information of {@code url}, if any, holds nothing that could end it
   *     early for a URL parser (whose message could then quote a part of the password)
   */
  private static boolean hasPlainUserInfo(String url) {
    int start = url.indexOf("://") + 3;
    int at = url.lastIndexOf('@');
    return at < start || url.substring(start, at).chars()
        .noneMatch(c -> c == '/' || c == '?' || c == '#' || c == '@' || Character.isWhitespace(c));
  }

  /**
   * @return {@code text} redacted, and without the user information of {@code url} or its
   *     password, as written or decoded, wherever they show (a parser's message may quote them)
   */
  private static String withoutUserInfo(String url, String text) {
    String scrubbed = redact(text);
    int start = url.indexOf("://") + 3;
    int at = url.lastIndexOf('@');
    if (at < start) {
      return scrubbed;
    }
    String userInfo = url.substring(start, at);
    String password = userInfo.substring(userInfo.indexOf(':') + 1);
    String decoded;
    try {
      decoded = URLDecoder.decode(password, StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      decoded = password;
    }
    for (String secret : List.of(userInfo, password, decoded)) {
      if (!secret.isEmpty()) {
        scrubbed = scrubbed.replace(secret, "***");
      }
    }
    return scrubbed;
  }
}
