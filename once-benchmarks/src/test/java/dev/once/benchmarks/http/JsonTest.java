package dev.once.benchmarks.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JsonTest {

  @Test
  void writesNestedObjectsWithEscapedStringsAndPlainNumbers() {
    Map<String, Object> row = new LinkedHashMap<>();
    row.put("mode", "me\"m\\o\n");
    row.put("rps", 12345.0);
    row.put("ratio", 0.957);
    row.put("errors", 0L);
    row.put("ok", true);
    row.put("none", null);
    row.put("list", List.of(1, "a"));
    row.put("empty", List.of());
    assertThat(Json.write(row)).isEqualTo("{\n"
        + "  \"mode\": \"me\\\"m\\\\o\\n\",\n"
        + "  \"rps\": 12345,\n"
        + "  \"ratio\": 0.957,\n"
        + "  \"errors\": 0,\n"
        + "  \"ok\": true,\n"
        + "  \"none\": null,\n"
        + "  \"list\": [\n"
        + "    1,\n"
        + "    \"a\"\n"
        + "  ],\n"
        + "  \"empty\": []\n"
        + "}\n");
  }

  @Test
  void refusesWhatJsonCannotHold() {
    assertThatThrownBy(() -> Json.write(Double.NaN))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Json.write(Arrays.asList(new Object())))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("java.lang.Object");
  }
}
