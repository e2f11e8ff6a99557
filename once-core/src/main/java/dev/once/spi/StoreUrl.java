package dev.once.spi;

import dev.once.config.ConfigText;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.IntConsumer;
import java.util.function.LongConsumer;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * A store URL, taken apart the same way for every store: its scheme, its query parameters read
 * with one grammar ({@link ConfigText}: {@code commandTimeout=250ms}, {@code
 * nearCacheBytes=16MiB}), a refusal of parameters nobody knows, and one redacted form for every
 * log line and message.
 *
 * <p>The scheme is the text before the first {@code :}, in lower case ({@code memory}, {@code
 * redis}, {@code rediss-cluster}); for a JDBC URL it is {@code jdbc:} and the sub-protocol ({@code
 * jdbc:postgresql}). The parameters are the {@code name=value} pairs after the first {@code ?},
 * separated by {@code &}; values are percent-decoded when read. What lies between the scheme and
 * the parameters (hosts, user information, a database) is the store's to read, from {@link
 * #text()}.
 *
 * <p>A provider binds each parameter it has straight onto its store's builder, so the builder's
 * checks are the URL's: {@code url.bindDuration("commandTimeout", builder::commandTimeout)}. A
 * parameter the grammar cannot read, or the builder refuses, is a {@link
 * MalformedStoreUrlException} naming the parameter, its value and the redacted URL. Immutable and
 * thread-safe.
 */
public final class StoreUrl {
  private static final Pattern SCHEME = Pattern.compile("[a-z][a-z0-9+.-]*(:[a-z][a-z0-9+.-]*)?");
  /** A password-like parameter, wherever it stands: hiding more than needed, never less. */
  // a value runs to the next '&': every URL we read separates parameters by '&' only, so a ';' is
  // part of a password (found by JdbcStoreUrlFuzzTest: a password of ";;once.createTable" shown)
  private static final Pattern SECRET_PARAMETER =
      Pattern.compile("(?i)((?:password|pass|pwd|secret|token)=)[^&]*");

  private final String text;
  private final String scheme;
  private final String redacted;
  private final List<String[]> parameters;

  private StoreUrl(String text, String scheme, List<String[]> parameters) {
    this.text = text;
    this.scheme = scheme;
    this.redacted = redact(text);
    this.parameters = parameters;
  }

  /**
   * Reads a store URL. Only what every URL has is checked here (a scheme, well-formed parameters);
   * the store that opens it checks the rest.
   *
   * @param url such as {@code memory}, {@code redis://:password@cache:6379/0?commandTimeout=500ms}
   *     or {@code jdbc:postgresql://db/app?user=once}; blanks around it are ignored
   * @return the URL, taken apart
   * @throws MalformedStoreUrlException if it is empty or has no scheme
   * @throws NullPointerException if {@code url} is null
   */
  public static StoreUrl parse(String url) {
    Objects.requireNonNull(url, "url");
    String text = url.trim();
    if (text.isEmpty()) {
      throw new MalformedStoreUrlException("a store URL must not be empty; use \"memory\"");
    }
    int question = text.indexOf('?');
    String base = question < 0 ? text : text.substring(0, question);
    int colon = base.indexOf(':');
    String scheme = (colon < 0 ? base : base.substring(0, colon)).toLowerCase(Locale.ROOT);
    if (scheme.equals("jdbc") && colon >= 0) {
      int next = base.indexOf(':', colon + 1);
      scheme = "jdbc:" + base.substring(colon + 1, next < 0 ? base.length() : next)
          .toLowerCase(Locale.ROOT);
    }
    if (!SCHEME.matcher(scheme).matches()) {
      throw new MalformedStoreUrlException("the store URL " + redact(text) + " has no scheme"
          + " (such as memory, redis://host:6379 or jdbc:postgresql://host/database)");
    }
    List<String[]> parameters = new ArrayList<>();
    if (question >= 0) {
      for (String parameter : text.substring(question + 1).split("&")) {
        if (!parameter.isEmpty()) {
          int equals = parameter.indexOf('=');
          parameters.add(new String[] {
              equals < 0 ? parameter : parameter.substring(0, equals),
              equals < 0 ? "" : parameter.substring(equals + 1),
              parameter});
        }
      }
    }
    return new StoreUrl(text, scheme, List.copyOf(parameters));
  }

  /** @return the scheme in lower case: {@code memory}, {@code redis}, {@code jdbc:postgresql} */
  public String scheme() {
    return scheme;
  }

  /**
   * @return the URL as it was given, without blanks around it: it may hold a password, so it is
   *     for the store's client only, never for a message (see {@link #redacted()})
   */
  public String text() {
    return text;
  }

  /**
   * @return the URL as every message and log line shows it: the user information (all from the
   *     {@code ://} to the last {@code @}) and the values of password-like parameters ({@code
   *     password}, {@code pass}, {@code pwd}, {@code secret}, {@code token}, and any name ending
   *     so, such as {@code sslpassword}) replaced by {@code ***}
   */
  public String redacted() {
    return redacted;
  }

  /** @return {@link #redacted()}: a store URL never prints its password */
  @Override
  public String toString() {
    return redacted;
  }

  /**
   * The one redacted form of a store URL, for text that could not be read as one.
   *
   * @param url a store URL, or anything else
   * @return it with the user information, all from the first {@code ://} to the last {@code @},
   *     and the values of password-like parameters replaced by {@code ***}. A password may hold a
   *     {@code /}, {@code ?}, {@code #} or {@code ://} nobody percent-encoded; an {@code @} in a
   *     path or a parameter hides a little more than it needed to, never less
   */
  public static String redact(String url) {
    String text = url.trim();
    // both rules are read on the text as given and what either hides is hidden: read one after
    // the other, the first changed what the second saw (a password parameter holding an '@' was
    // taken for the end of the user information and its tail shown, and a parameter's value
    // holding the "://" hid the user information from the other rule; JdbcStoreUrlFuzzTest and
    // ProxyFlagsFuzzTest found both)
    List<int[]> hidden = new ArrayList<>();
    int authority = text.indexOf("://");
    if (authority >= 0) {
      int start = authority + 3;
      int at = text.lastIndexOf('@');
      if (at >= start) {
        hidden.add(new int[] {start, at});
      }
    }
    Matcher secret = SECRET_PARAMETER.matcher(text);
    while (secret.find()) {
      hidden.add(new int[] {secret.end(1), secret.end()});
    }
    if (hidden.isEmpty()) {
      return text;
    }
    hidden.sort((a, b) -> Integer.compare(a[0], b[0]));
    StringBuilder shown = new StringBuilder(text.length());
    int shownTo = 0;
    int i = 0;
    while (i < hidden.size()) {
      int from = hidden.get(i)[0];
      int to = hidden.get(i)[1];
      for (i++; i < hidden.size() && hidden.get(i)[0] <= to; i++) {
        to = Math.max(to, hidden.get(i)[1]);
      }
      shown.append(text, shownTo, from).append("***");
      shownTo = to;
    }
    return shown.append(text, shownTo, text.length()).toString();
  }

  /**
   * For a message that may quote this URL or a part of it (a client library's): hides the user
   * information and every password-like parameter of this URL, as written and as decoded,
   * wherever they show, and redacts what looks like a URL. A secret shorter than four characters
   * is hidden only where the URL shows whole: searched for alone, it would hide half the message.
   *
   * @param message a message, or null
   * @return the message without this URL's secrets ({@code "null"} for null)
   */
  public String hideSecrets(@Nullable String message) {
    if (message == null) {
      return "null";
    }
    String shown = message.replace(text, redacted);
    for (String secret : secrets()) {
      shown = shown.replace(secret, "***");
    }
    return redact(shown);
  }

  private Set<String> secrets() {
    Set<String> secrets = new LinkedHashSet<>();
    int start = text.indexOf("://");
    int at = text.lastIndexOf('@');
    if (start >= 0 && at >= start + 3) {
      String userInfo = text.substring(start + 3, at);
      String password = userInfo.substring(userInfo.indexOf(':') + 1);
      secrets.add(userInfo);
      secrets.add(password);
      secrets.add(decodeQuietly(password));
    }
    var secretParameter = SECRET_PARAMETER.matcher(text);
    while (secretParameter.find()) {
      String value = secretParameter.group().substring(secretParameter.group(1).length());
      secrets.add(value);
      secrets.add(decodeQuietly(value));
    }
    secrets.removeIf(secret -> secret.length() < 4);
    return secrets;
  }

  /** @return the names of the parameters, in the order written, each once */
  public Set<String> parameterNames() {
    Set<String> names = new LinkedHashSet<>();
    parameters.forEach(parameter -> names.add(parameter[0]));
    return names;
  }

  /**
   * Refuses a parameter that is neither the store's own nor one it passes on to its client, so
   * that a misspelt one is not silently ignored.
   *
   * @param own the store's own parameters, named in the message
   * @param passedOn which other names the store passes on to its client
   * @param passedOnNames how the message names those, such as {@code Lettuce's timeout,
   *     clientName}; null to name none
   * @throws MalformedStoreUrlException naming the first unknown parameter and the known ones
   */
  public void refuseUnknownParameters(Collection<String> own, Predicate<String> passedOn,
      @Nullable String passedOnNames) {
    for (String[] parameter : parameters) {
      if (!own.contains(parameter[0]) && !passedOn.test(parameter[0])) {
        throw new MalformedStoreUrlException("unknown parameter \"" + parameter[0]
            + "\" in store URL " + redacted + " (known: " + String.join(", ", own)
            + (passedOnNames == null ? "" : ", and " + passedOnNames) + ")");
      }
    }
  }

  /**
   * @param names which parameters to keep
   * @return those parameters as written, {@code &}-separated in their order, for the store's
   *     client; empty when there are none
   */
  public String query(Predicate<String> names) {
    List<String> kept = new ArrayList<>();
    for (String[] parameter : parameters) {
      if (names.test(parameter[0])) {
        kept.add(parameter[2]);
      }
    }
    return String.join("&", kept);
  }

  /**
   * @param name a parameter
   * @return true if the URL has it
   */
  public boolean has(String name) {
    return raw(name) != null;
  }

  /**
   * Binds a parameter of any type: when the URL has it, reads its decoded value with {@code type}
   * and hands that to {@code setter}; the last of a repeated parameter counts.
   *
   * @param name the parameter
   * @param type reads the value; throws {@link IllegalArgumentException} with a message quoting
   *     it to refuse it
   * @param setter takes the value, such as a builder's method; throws {@link
   *     IllegalArgumentException} to refuse it
   * @param <T> the value's type
   * @return true if the URL has the parameter
   * @throws MalformedStoreUrlException if the value is not percent-encoded correctly, or {@code
   *     type} or {@code setter} refused it: naming the parameter, the reason and the redacted URL
   */
  public <T> boolean bind(String name, Function<String, T> type, Consumer<T> setter) {
    String raw = raw(name);
    if (raw == null) {
      return false;
    }
    String value;
    try {
      value = URLDecoder.decode(raw, StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      throw malformed(name + " is not percent-encoded correctly");
    }
    T typed;
    try {
      typed = type.apply(value);
    } catch (IllegalArgumentException e) {
      throw refusal(name + ": " + e.getMessage() + " in store URL " + redacted);
    }
    try {
      setter.accept(typed);
    } catch (IllegalArgumentException e) {
      throw refusal(name + "=" + raw + " in store URL " + redacted + ": " + e.getMessage());
    }
    return true;
  }

  /**
   * Binds a text parameter, percent-decoded.
   *
   * @see #bind
   */
  public boolean bindString(String name, Consumer<String> setter) {
    return bind(name, Function.identity(), setter);
  }

  /**
   * Binds a duration, read by {@link ConfigText#duration}: {@code 500ms}, {@code 1h30m}, {@code
   * PT30S}.
   *
   * @see #bind
   */
  public boolean bindDuration(String name, Consumer<Duration> setter) {
    return bind(name, ConfigText::duration, setter);
  }

  /**
   * Binds a size in bytes, read by {@link ConfigText#size}: {@code 16MiB}, {@code 64KB}.
   *
   * @see #bind
   */
  public boolean bindSize(String name, LongConsumer setter) {
    return bind(name, ConfigText::size, setter::accept);
  }

  /**
   * Binds a whole number, written in decimal.
   *
   * @see #bind
   */
  public boolean bindInt(String name, IntConsumer setter) {
    return bind(name, StoreUrl::wholeNumber, setter::accept);
  }

  /**
   * Binds a whole number that may be larger than an {@code int}, written in decimal.
   *
   * @see #bind
   */
  public boolean bindLong(String name, LongConsumer setter) {
    return bind(name, StoreUrl::wholeLong, setter::accept);
  }

  /**
   * Binds {@code true} or {@code false}, in any case.
   *
   * @see #bind
   */
  public boolean bindBoolean(String name, Consumer<Boolean> setter) {
    return bind(name, StoreUrl::bool, setter);
  }

  /**
   * @param problem what is wrong, such as {@code no host}; if it quotes a client library's
   *     message, pass that through {@link #hideSecrets} first
   * @return the exception to throw: {@code "<problem> in store URL <redacted URL>"}
   */
  public MalformedStoreUrlException malformed(String problem) {
    return new MalformedStoreUrlException(problem + " in store URL " + redacted);
  }

  private MalformedStoreUrlException refusal(String message) {
    return new MalformedStoreUrlException(hideSecrets(message));
  }

  private @Nullable String raw(String name) {
    String value = null;
    for (String[] parameter : parameters) {
      if (parameter[0].equals(name)) {
        value = parameter[1];
      }
    }
    return value;
  }

  private static int wholeNumber(String value) {
    try {
      return Integer.parseInt(value.trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("\"" + value + "\" is not a whole number");
    }
  }

  private static long wholeLong(String value) {
    try {
      return Long.parseLong(value.trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("\"" + value + "\" is not a whole number");
    }
  }

  private static boolean bool(String value) {
    return switch (value.trim().toLowerCase(Locale.ROOT)) {
      case "true" -> true;
      case "false" -> false;
      default -> throw new IllegalArgumentException("\"" + value + "\" is not true or false");
    };
  }

  private static String decodeQuietly(String text) {
    try {
      return URLDecoder.decode(text, StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      return text;
    }
  }
}
