package dev.once.proxy;

import dev.once.KeyScope;
import dev.once.MemoryStore;
import dev.once.Once;
import dev.once.UnknownOutcome;
import dev.once.config.ConfigText;
import dev.once.spi.IdempotencyStore;
import dev.once.spi.MalformedStoreUrlException;
import dev.once.spi.StoreUrl;
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
import java.util.Objects;
import java.util.Set;
import java.util.function.BiConsumer;
import java.util.function.BiFunction;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * The proxy's configuration, from command-line flags and {@code ONCE_*} environment variables
 * (flags win). Immutable; {@link #parse} checks every value and reports the first bad one in one
 * line that names the flag or variable it came from.
 *
 * <p>The engine's options are not held here: each engine flag is bound straight onto {@link
 * Once.Builder} through the builder's own method ({@link #engine}), so the defaults are the
 * builder's and so are the checks; {@code parse} applies them to a builder once to refuse, with
 * the builder's own reason, a value the engine would not accept (a ttl beyond the clock's range, a
 * lease too short to renew). Only the proxy's own settings are fields.
 */
final class ProxyOptions {
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
    MEMORY_MAX_BYTES("memory-max-bytes", "SIZE", "64MiB",
        "with --store memory: the bound on the responses kept; past it the responses least"
            + " likely to be replayed are dropped and their records kept (a retry gets 409"
            + " response-not-replayable, never a second run)",
        memory(Raw::size, MemoryStore.Builder::maximumWeightBytes)),
    MEMORY_MAX_RECORDS("memory-max-records", "N", "500000",
        "with --store memory: the bound on the records; when it is reached a new key gets 503"
            + " store-full with Retry-After, and no live record is forgotten",
        memory(Raw::count, MemoryStore.Builder::maximumRecords)),
    TTL("ttl", "DURATION", "24h", "how long a completed response is kept for replay",
        engine(Raw::duration, Once.Builder::ttl)),
    LEASE("lease", "DURATION", "30s",
        "how long a key stays held after its proxy was last heard from; renewed every third of"
            + " it while the request runs, so it only says how soon a crashed proxy's keys are"
            + " free again",
        engine(Raw::duration, Once.Builder::lease)),
    MAX_WAIT("max-wait", "DURATION", "0s",
        "how long a duplicate of an in-flight request waits for its replay before 409; a"
            + " waiting request holds no thread",
        engine(Raw::duration, Once.Builder::maxWait)),
    REQUIRE_KEY("require-key", null, "false",
        "refuse requests of the covered methods that have no key (400)",
        engine(Raw::bool, Once.Builder::requireKey)),
    HEADER("header", "NAME", "Idempotency-Key", "the request header that carries the key",
        engine(Raw::text, Once.Builder::header)),
    METHODS("methods", "LIST", "POST,PATCH", "the methods subject to keys; others pass through",
        engine(Raw::methods, Once.Builder::methods)),
    CACHEABLE("cacheable", "LIST", "200,201,204",
        "statuses whose responses are kept; any other releases the key",
        engine(Raw::statuses, Once.Builder::cacheableStatuses)),
    MAX_BODY("max-body", "SIZE", "1MiB", "the largest keyed request body (413 beyond)",
        engine(Raw::size, Once.Builder::maxBodyBytes)),
    BODY_TIMEOUT("body-timeout", "DURATION", "30s",
        "the longest a keyed request's body may take to arrive; it is read without holding a"
            + " thread, and past this it is answered 408 and no key is taken",
        engine(Raw::duration, Once.Builder::bodyTimeout)),
    MAX_RESPONSE("max-response", "SIZE", "1MiB",
        "the largest response kept for replay; a larger one is still sent in full",
        engine(Raw::size, Once.Builder::maxResponseBytes)),
    FAIL_OPEN("fail-open", null, "false",
        "forward requests without idempotency when the store fails, instead of 503",
        engine(Raw::bool, Once.Builder::failOpen)),
    SCOPE_HEADER("scope-header", "NAME", null,
        "scope keys by a hash of this request header (such as Authorization), so two clients'"
            + " equal keys never meet; without it keys are global",
        engine(Raw::text, (builder, header) -> builder.keyScope(KeyScope.headerHash(header)))),
    UNKNOWN_OUTCOME("unknown-outcome", "MODE", "retry",
        "when the upstream had a request but its outcome is unknown (the connection broke, or"
            + " no answer by --upstream-deadline): retry holds the key until its lease passes,"
            + " then lets a retry run; keep answers every retry 502 for the ttl",
        engine(Raw::unknownOutcome, Once.Builder::unknownOutcome)),
    UPSTREAM_TIMEOUT("upstream-timeout", "DURATION", "30s",
        "the longest the upstream may stay silent while a client waits: before answering (then"
            + " 504, and the proxy goes on listening) or while sending; also the longest a"
            + " SIGTERM waits for requests in flight"),
    UPSTREAM_DEADLINE("upstream-deadline", "DURATION", "5m",
        "how long the proxy goes on listening to the upstream for a keyed request whose client"
            + " is no longer waiting (answered 504, or hung up), to keep its answer for the"
            + " retry; past it the outcome is unknown"),
    ACCESS_LOG("access-log", "FILE", null,
        "write one JSON line per keyed request when it ends (time, method, path without its"
            + " query, scope hash, key, outcome, status, upstream time in ms; never a body or a"
            + " header value) to FILE, appended, or to standard output with -; lines are written"
            + " by a thread of their own, never by a request's"),
    ADMIN_LISTEN("admin-listen", "[HOST:]PORT", null,
        "serve the admin API (GET and DELETE /_once/keys/{key}?scope=) on a second listener;"
            + " the host defaults to 127.0.0.1, and any other than loopback needs --admin-token."
            + " The public listener never serves it"),
    ADMIN_TOKEN("admin-token", "TOKEN", null,
        "with --admin-listen: admin requests must carry Authorization: Bearer TOKEN (else 401)"),
    HELP("help", null, null, "print this help and exit");

    final String name;
    final @Nullable String metavar;
    final @Nullable String defaultValue;
    final String description;
    /** The builder call the flag stands for, or null for a flag of the proxy's own. */
    private final @Nullable Binding<?> binding;

    Flag(String name, @Nullable String metavar, @Nullable String defaultValue,
        String description) {
      this(name, metavar, defaultValue, description, null);
    }

    Flag(String name, @Nullable String metavar, @Nullable String defaultValue,
        String description, @Nullable Binding<?> binding) {
      this.name = name;
      this.metavar = metavar;
      this.defaultValue = defaultValue;
      this.description = description;
      this.binding = binding;
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

    static @Nullable Flag named(String name) {
      for (Flag flag : values()) {
        if (flag.name.equals(name)) {
          return flag;
        }
      }
      return null;
    }
  }

  /**
   * How a flag stands for a call on a builder: its value is read (and checked) by one of {@link
   * Raw}'s readers, and passed to the builder's own method.
   *
   * @param <B> the builder
   */
  private static final class Binding<B> {
    final Class<B> builder;
    private final BiFunction<Raw, Flag, Consumer<B>> setting;

    <T> Binding(Class<B> builder, BiFunction<Raw, Flag, T> read, BiConsumer<B, T> call) {
      this.builder = builder;
      this.setting = (raw, flag) -> {
        T value = read.apply(raw, flag);
        return target -> call.accept(target, value);
      };
    }
  }

  /** @return a flag's binding to a method of the engine's builder */
  private static <T> Binding<Once.Builder> engine(BiFunction<Raw, Flag, T> read,
      BiConsumer<Once.Builder, T> call) {
    return new Binding<>(Once.Builder.class, read, call);
  }

  /** @return a flag's binding to a method of the memory store's builder */
  private static <T> Binding<MemoryStore.Builder> memory(BiFunction<Raw, Flag, T> read,
      BiConsumer<MemoryStore.Builder, T> call) {
    return new Binding<>(MemoryStore.Builder.class, read, call);
  }

  final String listenHost;
  final int listenPort;
  final @Nullable URI upstream;
  final StoreUrl store;
  final Duration upstreamTimeout;
  final Duration upstreamDeadline;
  /** Where the access log goes: a file, {@code -} for standard output, or null for none. */
  final @Nullable String accessLog;
  /** The admin listener's host, or null when there is none. */
  final @Nullable String adminHost;
  /** The admin listener's port, or -1 when there is none. */
  final int adminPort;
  /** The bearer token admin requests must carry, or null when they need none. */
  final @Nullable String adminToken;
  final boolean help;
  /** The engine flags that were given, each as the builder call it stands for, in flag order. */
  private final List<Consumer<Once.Builder>> engine;
  /** The memory store's flags that were given, each as the builder call it stands for. */
  private final List<Consumer<MemoryStore.Builder>> memory;

  private ProxyOptions(Raw values) {
    String[] listen = values.listen();
    listenHost = listen[0];
    listenPort = Integer.parseInt(listen[1]);
    upstream = values.upstream();
    store = values.store();
    upstreamTimeout = values.proxyDuration(Flag.UPSTREAM_TIMEOUT);
    upstreamDeadline = values.proxyDuration(Flag.UPSTREAM_DEADLINE);
    accessLog = values.text(Flag.ACCESS_LOG);
    String[] admin = values.adminListen();
    adminHost = admin == null ? null : admin[0];
    adminPort = admin == null ? -1 : Integer.parseInt(admin[1]);
    adminToken = values.adminToken(adminHost);
    help = values.bool(Flag.HELP);
    engine = values.engineSettings();
    memory = values.memorySettings();
  }

  /** @return true if records live in the proxy's memory ({@code --store memory}) */
  boolean isMemoryStore() {
    return store.scheme().equals("memory");
  }

  /**
   * The memory store these options configure: the store's own defaults, then every {@code
   * --memory-*} flag that was given, through its builder's own methods.
   *
   * @return a new memory store
   */
  MemoryStore memoryStore() {
    MemoryStore.Builder builder = MemoryStore.builder();
    for (Consumer<MemoryStore.Builder> setting : memory) {
      setting.accept(builder);
    }
    return builder.build();
  }

  /**
   * A builder of the engine these options configure: the proxy's own defaults (keys global unless
   * {@code --scope-header} is given), then every engine flag that was given, through the builder's
   * own methods.
   *
   * @param store where the records live
   * @return a new builder; the caller adds what is not a flag (the listener) and builds
   */
  Once.Builder engine(IdempotencyStore store) {
    Once.Builder builder = Once.builder(store).keyScope(KeyScope.global());
    for (Consumer<Once.Builder> setting : engine) {
      setting.accept(builder);
    }
    return builder;
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
      if (eq >= 0 && !flag.isSwitch() && arg.substring(eq + 1).isBlank()) {
        throw needsValue(flag);
      } else if (eq >= 0) {
        value = arg.substring(eq + 1);
      } else if (flag.isSwitch()) {
        value = "true";
      } else if (i + 1 < args.length) {
        value = args[++i];
      } else {
        throw needsValue(flag);
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

  private static UsageException needsValue(Flag flag) {
    return new UsageException(flag.flag() + " needs a value: " + flag.flag() + " " + flag.metavar);
  }

  /** @return the help text, listing every flag with its default */
  static String help() {
    StringBuilder text = new StringBuilder();
    text.append("Usage: java -jar once-proxy.jar [flags]\n\n")
        .append("An idempotency reverse proxy. A request of a covered method with an ")
        .append("Idempotency-Key\n")
        .append("reaches the upstream once; a retry gets the stored response ")
        .append("(Idempotent-Replayed:\n")
        .append("true), a duplicate in flight gets 409, the key reused for another request ")
        .append("gets 422.\n")
        .append("Other requests are streamed through untouched. GET /_once/health reports ")
        .append("the store,\n")
        .append("GET /_once/metrics the meters as Prometheus text.\n\n")
        .append("Each flag can also be set by an environment variable: ONCE_ and the flag's ")
        .append("name in\n")
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
        .append("Switches take no value, or =true/=false (--fail-open=false); ")
        .append("ONCE_FAIL_OPEN=true.\n");
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

    @Nullable String get(Flag flag) {
      return given.get(flag);
    }

    @Nullable String text(Flag flag) {
      String value = given.get(flag);
      return value == null ? flag.defaultValue : value.trim();
    }

    /** @return the text of a flag that has a default, or that was given */
    String value(Flag flag) {
      return Objects.requireNonNull(text(flag), "a flag with no default is read only if given");
    }

    String source(Flag flag) {
      return sources.getOrDefault(flag, flag.flag());
    }

    private UsageException bad(Flag flag, @Nullable String problem) {
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
        return ConfigText.duration(value(flag));
      } catch (IllegalArgumentException e) {
        throw bad(flag, e.getMessage());
      }
    }

    long size(Flag flag) {
      try {
        return ConfigText.size(value(flag));
      } catch (IllegalArgumentException e) {
        throw bad(flag, e.getMessage());
      }
    }

    /**
     * A duration of the proxy's own, held to the engine's range: at least a millisecond, at most
     * {@link Once.Builder#MAX_DURATION}, so every deadline made from it fits the clock.
     */
    Duration proxyDuration(Flag flag) {
      Duration value = duration(flag);
      // compared, not converted: a duration past a long of milliseconds has no toMillis()
      if (value.compareTo(Duration.ofMillis(1)) < 0) {
        throw refused(flag, flag.name + " must be at least 1 millisecond, but was " + value);
      }
      if (value.compareTo(Once.Builder.MAX_DURATION) > 0) {
        throw refused(flag, flag.name + " must be at most " + Once.Builder.MAX_DURATION.toDays()
            + " days (100 years), but was " + value);
      }
      return value;
    }

    /**
     * @return a refusal of the flag's value by the engine (or by the proxy's own range), saying
     *     the value as given and the reason
     */
    private UsageException refused(Flag flag, @Nullable String reason) {
      String given = sources.containsKey(flag) && sources.get(flag).startsWith("ONCE_")
          ? flag.env() + "=" + text(flag)
          : flag.flag() + " " + text(flag);
      return new UsageException(given + ": " + reason);
    }

    /**
     * Reads each engine flag that was given into the builder call it stands for (see {@link
     * #settings}).
     */
    List<Consumer<Once.Builder>> engineSettings() {
      MemoryStore scratch = MemoryStore.create();
      try {
        return settings(Once.Builder.class, Once.builder(scratch));
      } finally {
        scratch.close();
      }
    }

    /**
     * Reads each {@code --memory-*} flag that was given into the memory store's builder call it
     * stands for (see {@link #settings}). They mean nothing to another store, so with one they are
     * refused.
     */
    List<Consumer<MemoryStore.Builder>> memorySettings() {
      for (Flag flag : Flag.values()) {
        if (binds(flag, MemoryStore.Builder.class) && !store().scheme().equals("memory")) {
          throw bad(flag, "applies only to --store memory, but the store is " + store());
        }
      }
      return settings(MemoryStore.Builder.class, MemoryStore.builder());
    }

    /**
     * Reads each flag that was given and stands for a call on a builder of type {@code B} into
     * that call, in flag order, and makes those calls once on {@code check}, a builder of their
     * own, so that a value the builder refuses stops the proxy here with the builder's own reason
     * and the flag it came from. The flags that were not given keep the builder's defaults.
     */
    private <B> List<Consumer<B>> settings(Class<B> builder, B check) {
      List<Consumer<B>> settings = new ArrayList<>();
      for (Flag flag : Flag.values()) {
        if (!binds(flag, builder)) {
          continue;
        }
        @SuppressWarnings("unchecked") // binds checked the builder type
        Binding<B> binding =
            (Binding<B>) Objects.requireNonNull(flag.binding, "binds checked it is there");
        Consumer<B> setting = binding.setting.apply(this, flag);
        try {
          setting.accept(check);
        } catch (IllegalArgumentException e) {
          throw refused(flag, e.getMessage());
        }
        settings.add(setting);
      }
      return List.copyOf(settings);
    }

    /** @return true if the flag was given and stands for a call on a builder of that type */
    private boolean binds(Flag flag, Class<?> builder) {
      return given.get(flag) != null && flag.binding != null && flag.binding.builder == builder;
    }

    long count(Flag flag) {
      String value = value(flag);
      try {
        return Long.parseLong(value.replace("_", ""));
      } catch (NumberFormatException e) {
        throw bad(flag, "\"" + value + "\" is not a whole number");
      }
    }

    UnknownOutcome unknownOutcome(Flag flag) {
      String value = value(flag);
      switch (value.toLowerCase(Locale.ROOT)) {
        case "retry":
          return UnknownOutcome.RETRY;
        case "keep":
          return UnknownOutcome.KEEP;
        default:
          throw bad(flag, "\"" + value + "\" is not retry or keep");
      }
    }

    List<String> methods(Flag flag) {
      Set<String> methods = new LinkedHashSet<>();
      for (String item : list(flag)) {
        // methods match in any case; shown and logged as they are usually written
        methods.add(item.toUpperCase(Locale.ROOT));
      }
      return List.copyOf(methods);
    }

    List<Integer> statuses(Flag flag) {
      Set<Integer> statuses = new LinkedHashSet<>();
      for (String item : list(flag)) {
        try {
          statuses.add(Integer.parseInt(item));
        } catch (NumberFormatException e) {
          throw bad(flag, "\"" + item + "\" is not an HTTP status (100 to 599)");
        }
      }
      return List.copyOf(statuses);
    }

    private List<String> list(Flag flag) {
      List<String> items = new ArrayList<>();
      for (String item : value(flag).split(",")) {
        if (!item.isBlank()) {
          items.add(item.trim());
        }
      }
      if (items.isEmpty()) {
        throw bad(flag, "needs at least one value, comma-separated (" + flag.defaultValue + ")");
      }
      return Collections.unmodifiableList(items);
    }

    /**
     * @return the store URL, read; the proxy's memory store takes its bounds from its flags, so
     *     its URL has no parameters
     */
    StoreUrl store() {
      StoreUrl url;
      try {
        url = StoreUrl.parse(value(Flag.STORE));
      } catch (MalformedStoreUrlException e) {
        throw bad(Flag.STORE, e.getMessage());
      }
      if (url.scheme().equals("memory") && !url.parameterNames().isEmpty()) {
        throw bad(Flag.STORE, "the memory store's bounds are the flags --memory-max-bytes and"
            + " --memory-max-records, not parameters of its URL");
      }
      return url;
    }

    String[] listen() {
      return hostAndPort(Flag.LISTEN, value(Flag.LISTEN));
    }

    /** @return the admin listener's host and port, or null without {@code --admin-listen} */
    String @Nullable [] adminListen() {
      String value = text(Flag.ADMIN_LISTEN);
      if (value == null) {
        return null;
      }
      // a port alone listens on loopback
      return hostAndPort(Flag.ADMIN_LISTEN,
          value.chars().allMatch(Character::isDigit) ? "127.0.0.1:" + value : value);
    }

    /**
     * @param adminHost the admin listener's host, or null without one
     * @return the admin token, or null when admin requests need none
     */
    @Nullable String adminToken(@Nullable String adminHost) {
      String token = text(Flag.ADMIN_TOKEN);
      if (token != null && adminHost == null) {
        throw bad(Flag.ADMIN_TOKEN, "applies only with --admin-listen");
      }
      if (token != null
          && (token.isEmpty() || !token.chars().allMatch(c -> c > 0x20 && c < 0x7F))) {
        throw bad(Flag.ADMIN_TOKEN, "must be visible ASCII characters (a bearer token), at least"
            + " one");
      }
      if (token == null && adminHost != null && !isLoopback(adminHost)) {
        throw bad(Flag.ADMIN_LISTEN, "listening on " + adminHost + ", beyond loopback, needs"
            + " --admin-token (anyone who reaches the admin API can delete records)");
      }
      return token;
    }

    private static boolean isLoopback(String host) {
      return host.equals("localhost") || host.startsWith("127.") || host.equals("::1")
          || host.equals("0:0:0:0:0:0:0:1");
    }

    private String[] hostAndPort(Flag flag, String value) {
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
        throw bad(flag, "\"" + text(flag) + "\" is not " + flag.metavar + " (such as"
            + " 127.0.0.1:8080, 0.0.0.0:0 or [::1]:8080; port 0 picks a free port)");
      }
      return new String[] {host, Integer.toString(number)};
    }

    @Nullable URI upstream() {
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
  }
}
