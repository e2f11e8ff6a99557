package dev.once.examples.kit;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The curl session of a README (an indented block of {@code $ curl ...} commands, each followed
 * by what curl printed), sent again to a running example: each answer must be the one shown,
 * status, headers (but {@code Date}) and body.
 */
public final class CurlSession {
  /** One command and the answer the README shows for it. */
  public record Exchange(String command, String method, String path, Map<String, String> headers,
      String body, boolean withHeaders, int status, Map<String, String> shownHeaders,
      String shownBody) {}

  private final List<Exchange> exchanges;

  private CurlSession(List<Exchange> exchanges) {
    this.exchanges = exchanges;
  }

  /** Reads the first block of {@code readme} whose lines start with {@code "    $ curl"}. */
  public static CurlSession in(Path readme) throws Exception {
    List<String> lines = Files.readAllLines(readme);
    int first = 0;
    while (first < lines.size() && !lines.get(first).startsWith("    $ curl ")) {
      first++;
    }
    if (first == lines.size()) {
      throw new AssertionError(readme + " has no curl session");
    }
    List<String> block = new ArrayList<>();
    for (int i = first; i < lines.size(); i++) {
      String line = lines.get(i);
      if (!line.isEmpty() && !line.startsWith("    ")) {
        break;
      }
      block.add(line.isEmpty() ? "" : line.substring(4));
    }
    List<Exchange> exchanges = new ArrayList<>();
    for (int i = 0; i < block.size(); ) {
      String command = block.get(i++);
      int end = i;
      while (end < block.size() && !block.get(end).startsWith("$ ")) {
        end++;
      }
      exchanges.add(parse(command, block.subList(i, end)));
      i = end;
    }
    return new CurlSession(exchanges);
  }

  public List<Exchange> exchanges() {
    return exchanges;
  }

  private static Exchange parse(String command, List<String> shown) {
    List<String> words = words(command.substring(2));
    String method = null;
    String path = null;
    String body = null;
    boolean withHeaders = false;
    Map<String, String> headers = new LinkedHashMap<>();
    for (int i = 1; i < words.size(); i++) {
      String word = words.get(i);
      switch (word) {
        case "-i" -> withHeaders = true;
        case "-s" -> { }
        case "-X" -> method = words.get(++i);
        case "-H" -> {
          String header = words.get(++i);
          int colon = header.indexOf(':');
          headers.put(header.substring(0, colon).trim(), header.substring(colon + 1).trim());
        }
        case "-d" -> body = words.get(++i);
        default -> {
          if (!word.startsWith("http://")) {
            throw new AssertionError("a curl option the test does not know: " + word);
          }
          URI uri = URI.create(word);
          path = uri.getRawQuery() == null ? uri.getRawPath()
              : uri.getRawPath() + "?" + uri.getRawQuery();
        }
      }
    }
    if (body != null && headers.keySet().stream().noneMatch("Content-Type"::equalsIgnoreCase)) {
      headers.put("Content-Type", "application/x-www-form-urlencoded"); // what curl -d sends
    }
    if (method == null) {
      method = body == null ? "GET" : "POST";
    }
    int line = 0;
    int status = -1;
    Map<String, String> shownHeaders = new LinkedHashMap<>();
    if (withHeaders) {
      status = Integer.parseInt(shown.get(line++).split(" ")[1]);
      for (; !shown.get(line).isEmpty(); line++) {
        String header = shown.get(line);
        int colon = header.indexOf(':');
        shownHeaders.put(header.substring(0, colon).toLowerCase(Locale.ROOT),
            header.substring(colon + 1).trim());
      }
    }
    String shownBody = String.join("\n", shown.subList(line, shown.size())).strip();
    return new Exchange(command, method, path, headers, body, withHeaders, status, shownHeaders,
        shownBody);
  }

  /** Splits a command line as a shell does, for the quoting a README uses: '...' and "...". */
  private static List<String> words(String line) {
    List<String> words = new ArrayList<>();
    StringBuilder word = null;
    char quote = 0;
    for (char c : line.toCharArray()) {
      if (quote != 0) {
        if (c == quote) {
          quote = 0;
        } else {
          word.append(c);
        }
      } else if (c == '\'' || c == '"') {
        quote = c;
        word = word == null ? new StringBuilder() : word;
      } else if (c == ' ') {
        if (word != null) {
          words.add(word.toString());
          word = null;
        }
      } else {
        word = word == null ? new StringBuilder() : word;
        word.append(c);
      }
    }
    if (word != null) {
      words.add(word.toString());
    }
    return words;
  }

  /**
   * Sends every command to {@code base} in order.
   *
   * @return one line per difference between an answer and what the README shows; empty when
   *     the README is true
   */
  public List<String> differencesFrom(URI base) throws Exception {
    HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    List<String> differences = new ArrayList<>();
    for (Exchange exchange : exchanges) {
      HttpRequest.Builder request = HttpRequest.newBuilder(base.resolve(exchange.path()))
          .method(exchange.method(), exchange.body() == null
              ? HttpRequest.BodyPublishers.noBody()
              : HttpRequest.BodyPublishers.ofString(exchange.body()));
      exchange.headers().forEach(request::header);
      HttpResponse<String> response =
          client.send(request.build(), HttpResponse.BodyHandlers.ofString());
      String where = exchange.command() + ": ";
      if (exchange.withHeaders()) {
        if (response.statusCode() != exchange.status()) {
          differences.add(where + "status " + response.statusCode() + ", shown "
              + exchange.status());
        }
        Map<String, String> actual = new LinkedHashMap<>();
        response.headers().map().forEach((name, values) -> {
          if (!name.equalsIgnoreCase("date") && !name.startsWith(":")) {
            actual.put(name.toLowerCase(Locale.ROOT), String.join(", ", values));
          }
        });
        Map<String, String> shown = new LinkedHashMap<>(exchange.shownHeaders());
        shown.remove("date");
        if (!actual.equals(shown)) {
          differences.add(where + "headers " + actual + ", shown " + shown);
        }
      }
      if (!response.body().strip().equals(exchange.shownBody())) {
        differences.add(where + "body " + response.body().strip() + ", shown "
            + exchange.shownBody());
      }
    }
    return differences;
  }
}
