package dev.once.adapter;

import static org.assertj.core.api.Assertions.assertThat;

import dev.once.StoredResponse;
import dev.once.StoredResponse.Header;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ReplayHeadersTest {
  @Test
  void theFirstValueOfEachNameInAnyCaseIsSetTheLaterOnesAddedThenReplayedTrue() {
    List<String> calls = write(List.of(
        new Header("Content-Type", "application/json"),
        new Header("Set-Cookie", "a=1"),
        new Header("set-cookie", "b=2"),
        new Header("Location", "/payments/1"),
        new Header("SET-COOKIE", "c=3"),
        new Header("content-type", "text/plain")));

    assertThat(calls).containsExactly(
        "set Content-Type: application/json",
        "set Set-Cookie: a=1",
        "add set-cookie: b=2",
        "set Location: /payments/1",
        "add SET-COOKIE: c=3",
        "add content-type: text/plain",
        "set Idempotent-Replayed: true");
  }

  @Test
  void manyHeadersAreWrittenTheSameWay() {
    List<Header> headers = new ArrayList<>();
    List<String> expected = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      String name = (i % 2 == 0 ? "X-Name-" : "x-name-") + (i % 15);
      headers.add(new Header(name, "v" + i));
      expected.add((i < 15 ? "set " : "add ") + name + ": v" + i);
    }
    expected.add("set Idempotent-Replayed: true");

    assertThat(write(headers)).containsExactlyElementsOf(expected);
    assertThat(write(headers.subList(0, 16))).containsExactlyElementsOf(
        concat(expected.subList(0, 16), "set Idempotent-Replayed: true"));
    assertThat(write(headers.subList(0, 17))).containsExactlyElementsOf(
        concat(expected.subList(0, 17), "set Idempotent-Replayed: true"));
  }

  @Test
  void aResponseWithoutHeadersGetsOnlyReplayedTrue() {
    assertThat(write(List.of())).containsExactly("set Idempotent-Replayed: true");
  }

  private static List<String> write(List<Header> headers) {
    List<String> calls = new ArrayList<>();
    ReplayHeaders.write(StoredResponse.of(200, headers, new byte[0]),
        (name, value) -> calls.add("set " + name + ": " + value),
        (name, value) -> calls.add("add " + name + ": " + value));
    return calls;
  }

  private static List<String> concat(List<String> first, String last) {
    List<String> all = new ArrayList<>(first);
    all.add(last);
    return all;
  }
}
