package dev.once.redis;

import dev.once.spi.StoreUrl;
import io.lettuce.core.RedisURI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * A Redis store URL, read: {@code redis://[user:password@]host[:port][/db][?params]}, the same with
 * {@code rediss://} for TLS, and {@code redis-cluster://host1:port1,host2:port2[?params]} (or
 * {@code rediss-cluster://}) for a cluster, whose hosts are the seeds the topology is discovered
 * from, and {@code redis-sentinel://[user:password@]host:port[,host:port...][/db]?master=NAME} (or
 * {@code rediss-sentinel://}) for a primary that Sentinel watches, whose hosts are the sentinels
 * and whose {@code master} is the name they know it by. The store's own parameters ({@code
 * keyPrefix}, {@code commandTimeout}, {@code nearCacheBytes}, {@code nearCacheMaxAge}, {@code
 * replicas}, {@code replicaTimeout}, {@code recordFormat}) are bound onto a {@link
 * RedisStore.Builder} with the builder's own checks; Lettuce's ({@code timeout}, {@code
 * database}/{@code db}, {@code clientName}, {@code libraryName}, {@code libraryVersion}, {@code
 * verifyPeer}) are passed on to it. Any other parameter is refused, so a misspelt one is not
 * silently ignored. Messages show the URL only as {@link StoreUrl#redacted()}.
 */
final class RedisUrl {
  /** The schemes, in the order a message lists them. */
  static final List<String> SCHEMES = List.of("redis", "rediss", "redis-cluster",
      "rediss-cluster", "redis-sentinel", "rediss-sentinel");

  private static final Set<String> CLUSTER = Set.of("redis-cluster", "rediss-cluster");
  private static final Set<String> SENTINEL = Set.of("redis-sentinel", "rediss-sentinel");
  private static final List<String> LETTUCE_PARAMETERS = List.of(
      "clientName", "database", "db", "libraryName", "libraryVersion", "timeout", "verifyPeer");
  private static final List<String> OWN_PARAMETERS = List.of("keyPrefix", "commandTimeout",
      "nearCacheBytes", "nearCacheMaxAge", "replicas", "replicaTimeout", "recordFormat", "master");

  final StoreUrl url;
  final boolean cluster;
  final List<RedisURI> nodes;
  /** The store's own parameters, bound onto a builder that has no client yet. */
  final RedisStore.Builder settings;

  private RedisUrl(StoreUrl url, List<RedisURI> nodes, RedisStore.Builder settings) {
    this.url = url;
    this.cluster = CLUSTER.contains(url.scheme());
    this.nodes = List.copyOf(nodes);
    this.settings = settings;
  }

  /**
   * @param text a store URL
   * @return it read, its parameters checked by the store's builder
   * @throws dev.once.spi.MalformedStoreUrlException if it is not a Redis URL or is malformed, with
   *     a message naming what is wrong (and never the password)
   */
  static RedisUrl parse(String text) {
    StoreUrl url = StoreUrl.parse(text);
    if (!SCHEMES.contains(url.scheme())) {
      throw url.malformed("the scheme " + url.scheme() + " is not Redis's ("
          + String.join("://, ", SCHEMES) + "://)");
    }
    String full = url.text();
    if (full.indexOf('?') >= 0 && full.indexOf('?') < full.lastIndexOf('@')) {
      // either a parameter holds an '@' or the password a '?': which is which cannot be told, so
      // nothing after the '?' is quoted, lest it be part of the password
      throw url.malformed("an '@' after the '?' (percent-encode an '@' in a parameter as %40,"
          + " and a '?' in a password as %3F)");
    }
    url.refuseUnknownParameters(OWN_PARAMETERS, LETTUCE_PARAMETERS::contains,
        "Lettuce's " + String.join(", ", LETTUCE_PARAMETERS));
    RedisStore.Builder settings = RedisStore.Builder.withoutClient();
    url.bindString("keyPrefix", settings::keyPrefix);
    url.bindDuration("commandTimeout", settings::commandTimeout);
    Duration[] maxAge = {RedisStore.DEFAULT_NEAR_CACHE_MAX_AGE};
    boolean ageSet = url.bindDuration("nearCacheMaxAge", age -> {
      settings.nearCache(1, age); // the builder's own check; the size is set just below
      maxAge[0] = age;
    });
    long[] size = {RedisStore.DEFAULT_NEAR_CACHE_BYTES};
    boolean sizeSet = url.bindSize("nearCacheBytes", bytes -> {
      size[0] = bytes;
      if (bytes == 0) {
        settings.noNearCache();
      } else {
        settings.nearCache(bytes, maxAge[0]);
      }
    });
    if (ageSet && size[0] == 0) {
      throw url.malformed("nearCacheMaxAge with nearCacheBytes=0 (the near cache is off)");
    }
    if (ageSet && !sizeSet) {
      settings.nearCache(RedisStore.DEFAULT_NEAR_CACHE_BYTES, maxAge[0]);
    }
    Duration[] replicaTimeout = {RedisStore.DEFAULT_REPLICA_TIMEOUT};
    boolean timeoutSet = url.bindDuration("replicaTimeout", timeout -> {
      settings.replicas(1, timeout); // the builder's own check; the count is set just below
      replicaTimeout[0] = timeout;
    });
    boolean durable =
        url.bindInt("replicas", replicas -> settings.replicas(replicas, replicaTimeout[0]));
    if (timeoutSet && !durable) {
      throw url.malformed("replicaTimeout needs replicas");
    }
    url.bindInt("recordFormat", settings::recordFormat);
    boolean sentinel = SENTINEL.contains(url.scheme());
    String[] master = {""};
    url.bindString("master", name -> master[0] = name);
    if (sentinel && master[0].isBlank()) {
      throw url.malformed("a Sentinel URL names the primary the sentinels watch:"
          + " redis-sentinel://host1:port1,host2:port2/0?master=NAME");
    }
    if (!sentinel && url.has("master")) {
      throw url.malformed("master is a Sentinel URL's (redis-sentinel://...?master=NAME)");
    }
    String rest = full.substring(full.indexOf("://") + 3);
    int question = rest.indexOf('?');
    if (question >= 0) {
      rest = rest.substring(0, question);
    }
    String lettuceQuery = url.query(LETTUCE_PARAMETERS::contains);
    lettuceQuery = lettuceQuery.isEmpty() ? "" : "?" + lettuceQuery;
    String nodeScheme = url.scheme().startsWith("rediss") ? "rediss" : "redis";
    List<RedisURI> nodes;
    if (CLUSTER.contains(url.scheme())) {
      nodes = clusterNodes(url, nodeScheme, rest, lettuceQuery);
    } else if (sentinel) {
      nodes = List.of(sentinelUri(url, rest, lettuceQuery, master[0]));
    } else {
      nodes = List.of(redisUri(url, url.scheme() + "://" + rest + lettuceQuery));
    }
    return new RedisUrl(url, nodes, settings);
  }

  /**
   * Lettuce's own Sentinel URL, {@code redis-sentinel://[user:password@]hosts[/db]}, with the
   * master's name set on the result: the credentials and the database are the primary's (Lettuce
   * reaches the sentinels without credentials), and each host without a port is at 26379.
   */
  private static RedisURI sentinelUri(StoreUrl url, String rest, String query, String master) {
    int at = rest.lastIndexOf('@');
    String hosts = rest.substring(at + 1);
    int slash = hosts.indexOf('/');
    for (String host : (slash < 0 ? hosts : hosts.substring(0, slash)).split(",", -1)) {
      if (host.isBlank()) {
        throw url.malformed("an empty host (list the sentinels as"
            + " redis-sentinel://host1:port1,host2:port2/0?master=NAME)");
      }
    }
    // Lettuce refuses a Sentinel URL without the name; it is set again as given, unencoded
    String named = (query.isEmpty() ? "?" : query + "&") + "sentinelMasterId="
        + URLEncoder.encode(master, StandardCharsets.UTF_8);
    RedisURI uri = lettuceUri(url, url.scheme() + "://" + rest + named);
    uri.setSentinelMasterId(master);
    return uri;
  }

  private static List<RedisURI> clusterNodes(StoreUrl url, String scheme, String rest,
      String query) {
    int at = rest.lastIndexOf('@');
    String userInfo = at < 0 ? "" : rest.substring(0, at + 1);
    int slash = rest.indexOf('/', at + 1);
    String hosts = rest.substring(at + 1, slash < 0 ? rest.length() : slash);
    String path = slash < 0 ? "" : rest.substring(slash);
    if (!path.isEmpty() && !path.equals("/") && !path.equals("/0")) {
      throw url.malformed("a Redis Cluster has only database 0, but there is database "
          + path.substring(1));
    }
    List<RedisURI> nodes = new ArrayList<>();
    for (String host : hosts.split(",", -1)) {
      if (host.isBlank()) {
        throw url.malformed("an empty host (list the seed nodes as"
            + " redis-cluster://host1:port1,host2:port2)");
      }
      nodes.add(redisUri(url, scheme + "://" + userInfo + host.trim() + query));
    }
    return nodes;
  }

  private static RedisURI redisUri(StoreUrl url, String lettuceUrl) {
    RedisURI uri = lettuceUri(url, lettuceUrl);
    if (uri.getHost() == null || uri.getHost().isEmpty()) {
      throw url.malformed("no host");
    }
    return uri;
  }

  private static RedisURI lettuceUri(StoreUrl url, String lettuceUrl) {
    try {
      return RedisURI.create(lettuceUrl);
    } catch (RuntimeException e) {
      // without the cause, whose message may quote the password
      throw url.malformed("Lettuce cannot read it: " + (hasPlainUserInfo(url.text())
          ? url.hideSecrets(e.getMessage())
          : "percent-encode the user name and the password"));
    }
  }

  /**
   * @return true if the user information of {@code url}, if any, holds nothing that could end it
   *     early for a URL parser (whose message could then quote a part of the password, which no
   *     redaction would know to hide)
   */
  private static boolean hasPlainUserInfo(String url) {
    int start = url.indexOf("://") + 3;
    int at = url.lastIndexOf('@');
    return at < start || url.substring(start, at).chars()
        .noneMatch(c -> c == '/' || c == '?' || c == '#' || c == '@' || Character.isWhitespace(c));
  }
}
