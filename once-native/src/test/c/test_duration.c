/*
 * test_duration: the C library's duration grammar (src/main/c/duration.h) against the cases the
 * Java grammar runs too (once-core's duration-cases.txt, given as the argument): each line a
 * text between double quotes, then the milliseconds it reads as, or "error". Prints
 * "N passed, M failed" and exits 0 only if none failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: test_duration duration-cases.txt\n");
    return 2;
  }
  FILE *cases = fopen(argv[1], "r");
  if (cases == NULL) {
    perror(argv[1]);
    return 2;
  }
  char line[512];
  int passed = 0, failed = 0;
  while (fgets(line, sizeof line, cases) != NULL) {
    char *close = strrchr(line, '"');
    if (line[0] != '"' || close == line) {
      continue;
    }
    *close = '\0';
    const char *text = line + 1;
    char *expected = close + 1;
    expected += strspn(expected, " \t");
    expected[strcspn(expected, " \t\r\n")] = '\0';
    long long millis = -1;
    duration_status status = duration_parse(text, &millis);
    int ok = strcmp(expected, "error") == 0
                 ? status != DURATION_OK
                 : status == DURATION_OK && millis == strtoll(expected, NULL, 10);
    if (ok) {
      passed++;
    } else {
      failed++;
      fprintf(stderr, "\"%s\": expected %s, but was %s (%lld ms, status %d)\n", text, expected,
              status == DURATION_OK ? "a duration" : "an error", millis, (int)status);
    }
  }
  fclose(cases);
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 && passed > 0 ? 0 : 1;
}
