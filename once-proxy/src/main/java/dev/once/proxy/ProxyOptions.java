package dev.once.proxy;

import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The proxy's configuration, from command-line flags and {@code ONCE_*} environment variables
 * (flags win). Immutable; {@link #parse} checks every value and reports the first bad one in one
 * line that names the flag or variable it came from.
 */
final class ProxyOptions {
  /** The largest body or response limit: what the engine can hold in one array. */
  private static final long MAX_BYTES = Integer.MAX_VALUE - 8;
  private static final int HELP_INDENT = 30;
  private static final int HELP_WIDTH = 100;

  /** Every flag, in the order the help lists them. */
  enum Flag {
    LISTEN("listen", "HOST:PORT", "127.0.0.1:8080",
        "address to listen on; port 0 picks a free port"),
    UPSTREAM("upstream", "URL", null,
        "the service to forward to, http:// or https://, with an optional base path;"
            + " without it a built-in demo upstream answers POST /payments"),
    STORE("store", "URL", "memory",
        "where records live: memory, or a URL of a store module in this build"
            + " (redis://, rediss://, redis-cluster://, jdbc:postgresql://)"),
    TTL("ttl", "DURATION", "24h", "how long a completed response is kept for replay"),
    LEASE("lease", "DURATION", "60s",
        "how long a key is held while its request runs; must be longer than --upstream-timeout"),
    MAX_WAIT("max-wait", "DURATION", "0s",
        "how long a duplicate of an in-flight request waits for its replay before 409"),
    REQUIRE_KEY("require-key", null, "false",
        "refuse requests of the covered methods that have no key (400)"),
    HEADER("header", "NAME", "Idempotency-Key", "the request header that carries the key"),
    METHODS("methods", "LIST", "POST,PATCH", "the methods subject to keys; others pass through"),
    CACHEABLE("cacheable", "LIST", "200,201,204",
        "statuses whose responses are kept; any other releases the key"),
    MAX_BODY("max-body", "SIZE", "1MiB", "the largest keyed request body (413 beyond)"),
    MAX_RESPONSE("max-response", "SIZE", "1MiB",
        "the largest response kept for replay; a larger one is still sent in full"),
    FAIL_OPEN("fail-open", null, "false",
        "forward requests without idempotency when the store fails, instead of 503"),
    SCOPE_HEADER("scope-header", "NAME", null,
        "scope keys by a hash of this request header (such as Authorization), so two clients'"
            + " equal keys never meet; without it keys are global"),
    UPSTREAM_TIMEOUT("upstream-timeout", "DURATION", "30s",
        "the longest the upstream may stay silent, before answering (then 504) or while"
            + " sending; also the longest a SIGTERM waits for requests in flight"),
    HELP("help", null, null, "print this help and exit");

    final String name;
    final String metavar;
    final String defaultValue;
    final String description;

    Flag(String name, String metavar, String defaultValue, String description) {
      this.name = name;
      this.metavar = metavar;
      this.defaultValue = defaultValue;
      this.description = description;
    }

    /** @return {@code --name} */
    String flag() {
      return "--" + name;
    }

    /** @return the environment variable, {@code ONCE_NAME} */
    String env() {
      return "ONCE_" + name.toUpperCase(Locale.ROOT).replace('-', '_');
    }

    boolean isSwitch() {
      return metavar == null;
    }

    static Flag named(String name) {
      for (Flag flag : values()) {
        if (flag.name.equals(name)) {
          return flag;
        }
      }
      return null;
    }
  }

  final String listenHost;
  final int listenPort;
  final URI upstream;
  final String store;
  final Duration ttl;
  final Duration lease;
  final Duration maxWait;
  final boolean requireKey;
  final String header;
  final List<String> methods;
  final List<Integer> cacheable;
  final long maxBody;
  final long maxResponse;
  final boolean failOpen;
  final String scopeHeader;
  final Duration upstreamTimeout;
  final boolean help;

  private ProxyOptions(Raw values) {
    String[] listen = values.listen();
    listenHost = listen[0];
    listenPort = Integer.parseInt(listen[1]);
    upstream = values.upstream();
    store = values.text(Flag.STORE);
    ttl = values.positiveDuration(Flag.TTL);
    lease = values.positiveDuration(Flag.LEASE);
    maxWait = values.duration(Flag.MAX_WAIT);
    requireKey = values.bool(Flag.REQUIRE_KEY);
    header = values.token(Flag.HEADER);
    methods = values.methods();
    cacheable = values.statuses();
    maxBody = values.size(Flag.MAX_BODY);
    maxResponse = values.size(Flag.MAX_RESPONSE);
    failOpen = values.bool(Flag.FAIL_OPEN);
    scopeHeader = values.get(Flag.SCOPE_HEADER) == null ? null : values.token(Flag.SCOPE_HEADER);
    upstreamTimeout = values.positiveDuration(Flag.UPSTREAM_TIMEOUT);
    help = values.bool(Flag.HELP);
    if (lease.compareTo(upstreamTimeout) <= 0) {
      throw new UsageException(values.source(Flag.LEASE) + " " + Values.format(lease)
          + " must be longer than " + values.source(Flag.UPSTREAM_TIMEOUT) + " "
          + Values.format(upstreamTimeout) + ", or a retry could run while the first request is"
          + " still at the upstream");
    }
  }

  /**
   * Reads the configuration.
   *
   * @param args the command line
   * @param env the environment; variables that are not the proxy's, and empty ones, are ignored
   * @return the options
   * @throws UsageException if a flag is unknown, repeated or lacks its value, or a value is bad
   */
  static ProxyOptions parse(String[] args, Map<String, String> env) {
    Map<Flag, String> given = new EnumMap<>(Flag.class);
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      if (arg.equals("-h")) {
        arg = "--help";
      }
      if (!arg.startsWith("--") || arg.length() == 2) {
        throw new UsageException("unexpected argument \"" + arg + "\" (flags start with --;"
            + " see --help)");
      }
      int eq = arg.indexOf('=');
      String name = eq < 0 ? arg.substring(2) : arg.substring(2, eq);
      Flag flag = Flag.named(name);
      if (flag == null) {
        throw new UsageException("unknown flag --" + name + " (see --help)");
      }
      if (given.containsKey(flag)) {
        throw new UsageException(flag.flag() + " was given more than once");
      }
      String value;
      if (eq >= 0) {
        value = arg.substring(eq + 1);
      } else if (flag.isSwitch()) {
        value = "true";
      } else if (i + 1 < args.length) {
        value = args[++i];
      } else {
        throw new UsageException(flag.flag() + " needs a value: " + flag.flag() + " "
            + flag.metavar);
      }
      given.put(flag, value);
    }
    Map<Flag, String> sources = new EnumMap<>(Flag.class);
    for (Flag flag : given.keySet()) {
      sources.put(flag, flag.flag());
    }
    for (Flag flag : Flag.values()) {
      String value = env.get(flag.env());
      if (flag != Flag.HELP && !given.containsKey(flag) && value != null && !value.isBlank()) {
        given.put(flag, value);
        sources.put(flag, flag.env());
      }
    }
    if (given.containsKey(Flag.HELP) && new Raw(given, sources).bool(Flag.HELP)) {
      // asking for help is never an error, whatever else is on the line
      return new ProxyOptions(new Raw(Map.of(Flag.HELP, "true"), Map.of()));
    }
    return new ProxyOptions(new Raw(given, sources));
  }

  /** @return the help text, listing every flag with its default */
  static String help() {
    StringBuilder text = new StringBuilder();
    text.append("Usage: java -jar once-proxy.jar [flags]\n\n")
        .append("An idempotency reverse proxy. A request of a covered method with an Idempotency-Key\n")
        .append("reaches the upstream once; a retry gets the stored response (Idempotent-Replayed:\n")
        .append("true), a duplicate in flight gets 409, the key reused for another request gets 422.\n")
        .append("Other requests are streamed through untouched. GET /_once/health reports the store.\n\n")
        .append("Each flag can also be set by an environment variable: ONCE_ and the flag's name in\n")
        .append("upper case with _ for - (ONCE_UPSTREAM, ONCE_MAX_WAIT); a flag wins over it.\n\n");
    for (Flag flag : Flag.values()) {
      String left = "  " + flag.flag() + (flag.isSwitch() ? "" : " " + flag.metavar);
      String description = flag.description;
      if (flag.defaultValue != null && !flag.isSwitch()) {
        description += " (default " + flag.defaultValue + ")";
      }
      text.append(left);
      if (left.length() >= HELP_INDENT - 1) {
        text.append('\n').append(" ".repeat(HELP_INDENT));
      } else {
        text.append(" ".repeat(HELP_INDENT - left.length()));
      }
      int column = HELP_INDENT;
      for (String word : description.split(" ")) {
        if (column > HELP_INDENT && column + 1 + word.length() > HELP_WIDTH) {
          text.append('\n').append(" ".repeat(HELP_INDENT));
          column = HELP_INDENT;
        } else if (column > HELP_INDENT) {
          text.append(' ');
          column++;
        }
        text.append(word);
        column += word.length();
      }
      text.append('\n');
    }
    text.append("\nDurations: 500ms, 30s, 5m, 24h, 1h30m or ISO-8601 (PT30S).")
        .append(" Sizes: 512KiB, 1MiB or bytes.\n")
        .append("Switches take no value, or =true/=false (--fail-open=false); ONCE_FAIL_OPEN=true.\n");
    return text.toString();
  }

  /** The raw values and where each came from, converted one flag at a time. */
  private static final class Raw {
    private final Map<Flag, String> given;
    private final Map<Flag, String> sources;

    Raw(Map<Flag, String> given, Map<Flag, String> sources) {
      this.given = given;
      this.sources = sources;
    }

    String get(Flag flag) {
      return given.get(flag);
    }

    String text(Flag flag) {
      String value = given.get(flag);
      return value == null ? flag.defaultValue : value.trim();
    }

    String source(Flag flag) {
      return sources.getOrDefault(flag, flag.flag());
    }

    private UsageException bad(Flag flag, String problem) {
      return new UsageException(source(flag) + ": " + problem);
    }

    boolean bool(Flag flag) {
      String value = text(flag);
      if (value == null) {
        return false;
      }
      switch (value.toLowerCase(Locale.ROOT)) {
        case "true":
        case "1":
        case "yes":
          return true;
        case "false":
        case "0":
        case "no":
          return false;
        default:
          throw bad(flag, "\"" + value + "\" is not true or false");
      }
    }

    Duration duration(Flag flag) {
      try {
        return Values.duration(text(flag));
      } catch (IllegalArgumentException e) {
        throw bad(flag, e.getMessage());
      }
    }

    Duration positiveDuration(Flag flag) {
      Duration value = duration(flag);
      if (value.toMillis() < 1) {
        throw bad(flag, "must be at least 1ms, but was \"" + text(flag) + "\"");
      }
      return value;
    }

    long size(Flag flag) {
      long value;
      try {
        value = Values.size(text(flag));
      } catch (IllegalArgumentException e) {
        throw bad(flag, e.getMessage());
      }
      if (value > MAX_BYTES) {
        throw bad(flag, "must be at most " + MAX_BYTES + " bytes, but was \"" + text(flag) + "\"");
      }
      return value;
    }

    String token(Flag flag) {
      String value = text(flag);
      if (!isToken(value)) {
        throw bad(flag, "\"" + value + "\" is not a header name");
      }
      return value;
    }

    List<String> methods() {
      Set<String> methods = new LinkedHashSet<>();
      for (String item : list(Flag.METHODS)) {
        if (!isToken(item)) {
          throw bad(Flag.METHODS, "\"" + item + "\" is not an HTTP method");
        }
        methods.add(item.toUpperCase(Locale.ROOT));
      }
      return List.copyOf(methods);
    }

    List<Integer> statuses() {
      Set<Integer> statuses = new LinkedHashSet<>();
      for (String item : list(Flag.CACHEABLE)) {
        int status;
        try {
          status = Integer.parseInt(item);
        } catch (NumberFormatException e) {
          status = -1;
        }
        if (status < 100 || status > 599) {
          throw bad(Flag.CACHEABLE, "\"" + item + "\" is not an HTTP status (100 to 599)");
        }
        statuses.add(status);
      }
      return List.copyOf(statuses);
    }

    private List<String> list(Flag flag) {
      List<String> items = new ArrayList<>();
      for (String item : text(flag).split(",")) {
        if (!item.isBlank()) {
          items.add(item.trim());
        }
      }
      if (items.isEmpty()) {
        throw bad(flag, "needs at least one value, comma-separated (" + flag.defaultValue + ")");
      }
      return Collections.unmodifiableList(items);
    }

    String[] listen() {
      String value = text(Flag.LISTEN);
      int colon = value.lastIndexOf(':');
      String host = colon < 0 ? "" : value.substring(0, colon);
      String port = colon < 0 ? "" : value.substring(colon + 1);
      if (host.startsWith("[") && host.endsWith("]")) {
        host = host.substring(1, host.length() - 1);
      } else if (host.contains(":")) {
        host = ""; // an IPv6 address must be in brackets, or its port cannot be told apart
      }
      int number = -1;
      try {
        number = Integer.parseInt(port);
      } catch (NumberFormatException e) {
        number = -1;
      }
      if (host.isEmpty() || number < 0 || number > 65535) {
        throw bad(Flag.LISTEN, "\"" + value + "\" is not HOST:PORT (such as 127.0.0.1:8080,"
            + " 0.0.0.0:0 or [::1]:8080; port 0 picks a free port)");
      }
      return new String[] {host, Integer.toString(number)};
    }

    URI upstream() {
      String value = text(Flag.UPSTREAM);
      if (value == null) {
        return null;
      }
      URI uri;
      try {
        uri = new URI(value);
      } catch (URISyntaxException e) {
        throw bad(Flag.UPSTREAM, "\"" + value + "\" is not a URL: " + e.getReason());
      }
      String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
      if (!scheme.equals("http") && !scheme.equals("https")) {
        throw bad(Flag.UPSTREAM, "\"" + value + "\" must be an http:// or https:// URL");
      }
      if (uri.getHost() == null) {
        throw bad(Flag.UPSTREAM, "\"" + value + "\" has no host");
      }
      if (uri.getRawQuery() != null || uri.getRawFragment() != null
          || uri.getRawUserInfo() != null) {
        throw bad(Flag.UPSTREAM, "\"" + value + "\" must have no query, fragment or user info");
      }
      return uri;
    }

    private static boolean isToken(String value) {
      if (value == null || value.isEmpty()) {
        return false;
      }
      for (int i = 0; i < value.length(); i++) {
        char c = value.charAt(i);
        boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
            || "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
        if (!ok) {
          return false;
        }
      }
      return true;
    }
  }
}
