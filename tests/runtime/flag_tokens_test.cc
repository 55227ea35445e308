// tests/runtime/flag_tokens_test.cc - tokenize_flags: the accepted forms, "--", positionals in order,
// and the two etcd wordings of its errors.
#include "runtime/flag_tokens.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ringkv::runtime {
namespace {

// --name takes a value, --verbose is boolean, nothing else is defined.
flag_arity test_flags(std::string_view name) {
  if (name == "name" || name == "data-dir") return flag_arity::takes_value;
  if (name == "verbose") return flag_arity::boolean;
  return flag_arity::undefined;
}

flag_tokens lex(std::vector<std::string> args, flag_dialect dialect = flag_dialect::pflag) {
  return tokenize_flags(args, test_flags, dialect);
}

// "name=value" for a flag with a value, "name" for a bare boolean, "[text]" for a positional.
std::vector<std::string> shown(const flag_tokens& lexed) {
  std::vector<std::string> out;
  for (const auto& token : lexed.tokens) {
    if (token.positional()) out.push_back("[" + *token.value + "]");
    else out.push_back(token.value ? token.name + "=" + *token.value : token.name);
  }
  return out;
}

using lines = std::vector<std::string>;

TEST(FlagTokens, AcceptsEqualsSpaceOneOrTwoDashesAndBareBooleans) {
  const auto lexed = lex({"--name=a", "-name", "b", "--data-dir", "/tmp/x", "--verbose", "-verbose=false"});
  EXPECT_TRUE(lexed.ok()) << lexed.error;
  EXPECT_EQ(shown(lexed), (lines{"name=a", "name=b", "data-dir=/tmp/x", "verbose", "verbose=false"}));
}

TEST(FlagTokens, AValueFlagTakesTheNextArgumentWhateverItIs) {
  EXPECT_EQ(shown(lex({"--name", "--verbose"})), (lines{"name=--verbose"}));
  EXPECT_EQ(shown(lex({"--name="})), (lines{"name="}));
}

TEST(FlagTokens, PositionalsKeepTheirPlaceAndDoubleDashEndsFlags) {
  const auto lexed = lex({"put", "--verbose", "-", "key", "--", "--name", "x"});
  EXPECT_TRUE(lexed.ok()) << lexed.error;
  EXPECT_EQ(shown(lexed), (lines{"[put]", "verbose", "[-]", "[key]", "[--name]", "[x]"}));
}

TEST(FlagTokens, BooleanFlagsDoNotTakeTheNextArgument) {
  EXPECT_EQ(shown(lex({"--verbose", "false"})), (lines{"verbose", "[false]"}));
}

TEST(FlagTokens, UndefinedFlagIsWordedLikeTheImitatedTool) {
  const auto pflag = lex({"--verbose", "--nope=1", "--name", "x"}, flag_dialect::pflag);
  EXPECT_EQ(pflag.error, "unknown flag: --nope");
  EXPECT_EQ(shown(pflag), (lines{"verbose"}));  // the tokens before the error
  EXPECT_EQ(lex({"-nope"}, flag_dialect::go_flag).error, "flag provided but not defined: -nope");
}

TEST(FlagTokens, MissingValueIsWordedLikeTheImitatedTool) {
  EXPECT_EQ(lex({"--name"}, flag_dialect::pflag).error, "flag needs an argument: --name");
  EXPECT_EQ(lex({"--verbose", "--name"}, flag_dialect::go_flag).error, "flag needs an argument: -name");
}

TEST(FlagTokens, MalformedFlagsAreRefused) {
  EXPECT_EQ(lex({"--=x"}).error, "bad flag syntax: --=x");
  EXPECT_EQ(lex({"---name"}).error, "bad flag syntax: ---name");
}

TEST(FlagTokens, EmptyCommandLineHasNoTokens) {
  const auto lexed = lex({});
  EXPECT_TRUE(lexed.ok());
  EXPECT_TRUE(lexed.tokens.empty());
}

}  // namespace
}  // namespace ringkv::runtime
