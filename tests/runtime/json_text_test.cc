// tests/runtime/json_text_test.cc - append_json_string: quotes, backslashes, short and \u00XX control
// escapes, UTF-8 and embedded NUL bytes, appending to what is already there.
#include "runtime/json_text.h"

#include <gtest/gtest.h>

#include <string>

namespace ringkv::runtime {
namespace {

std::string quoted(std::string_view text) {
  std::string out;
  append_json_string(out, text);
  return out;
}

TEST(JsonText, PlainTextIsQuoted) {
  EXPECT_EQ(quoted(""), R"("")");
  EXPECT_EQ(quoted("put 16x256"), R"("put 16x256")");
}

TEST(JsonText, QuotesAndBackslashesAreEscaped) {
  EXPECT_EQ(quoted(R"(say "hi" \ bye)"), R"("say \"hi\" \\ bye")");
}

TEST(JsonText, ControlCharactersUseShortFormsOrUnicodeEscapes) {
  EXPECT_EQ(quoted("a\nb\rc\td"), R"("a\nb\rc\td")");
  EXPECT_EQ(quoted("\x01\x1f\x1b"), R"("\u0001\u001f\u001b")");
  EXPECT_EQ(quoted(std::string_view("x\0y", 3)), R"("x\u0000y")");
}

TEST(JsonText, ByteFromSpaceUpIncludingUtf8AreCopied) {
  EXPECT_EQ(quoted("\x7f µs ✓"), "\"\x7f µs ✓\"");
}

TEST(JsonText, AppendsToExistingText) {
  std::string out = "{\"msg\":";
  append_json_string(out, "ok");
  out += '}';
  EXPECT_EQ(out, R"({"msg":"ok"})");
}

}  // namespace
}  // namespace ringkv::runtime
